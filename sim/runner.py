"""One run, from a validated config to a complete run folder.

A run folder is complete or absent, and a complete one can be checked:

- every output is written under a temporary name, flushed and ``fsync``-ed,
  renamed into place, and the folder ``fsync``-ed; ``summary.json`` is written
  last the same way, so after a crash of the node its presence still means the
  outputs it lists are on disk. It lists every output with its size and SHA-256
  (``files``): :func:`verify_run` tells a complete run from a corrupt one.
- while a run is computed its folder holds a *lease* (``lease.<n>.json``: host,
  pid, Slurm job and array ids, start time; its modification time is a heartbeat
  refreshed by a thread). A second process that wants the same run (an
  overlapping resume, a second sweep on the same folder) finds the lease and
  leaves the run alone; a lease whose heartbeat is older than
  ``SIM_LEASE_TIMEOUT`` seconds (default 600), or whose process is gone on this
  host, is stale and is taken over. Who holds a run is decided by an exclusive
  create (``O_CREAT | O_EXCL``) of the next lease number, so two processes never
  compute one run at once.

Contents (the contract sweeps, analysis and users rely on; see README "Outputs"):
``spells.parquet``, ``timeseries.parquet``, ``summary.json`` and, with
``output.ties=true``, ``ties.parquet``. The Parquet files depend only on the
config and seed; time, host and process go to ``summary.json`` and the lease.

Test hooks (environment variables read by :func:`run_simulation`, for the tests
of crashes and races; not for normal use):

- ``SIM_TEST_HOOK=<point>:<action>[@<text>][,...]``: at ``<point>``
  (``before-outputs``: after the model ran, before its outputs are written;
  ``before-summary``: after the outputs, before ``summary.json``), do ``<action>``:
  ``kill`` (SIGKILL the process), ``sleep=<seconds>``, ``wait=<file>`` (until the
  file exists, at most 15 minutes) or ``raise`` (a RuntimeError, as a crash of the
  model would); with ``@<text>`` only in run folders whose name
  contains ``<text>``. Items are separated by ``;`` if there is one, else by ``,``.
- ``SIM_TEST_LOG=<file>``: append one line ``<event> <folder> <pid> <slurm job>``
  (``-`` outside Slurm) per run computed (``compute``) or left alone (``busy``,
  ``complete``).
"""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from sim.config import SimConfig, to_dict

SUMMARY = "summary.json"
LEASE_PREFIX = "lease."
LEASE_SUFFIX = ".json"
LEASE_TIMEOUT_ENV = "SIM_LEASE_TIMEOUT"
LEASE_TIMEOUT_DEFAULT = 600.0  # seconds without a heartbeat after which a lease is stale
PACKAGES = ("sim", "mesa", "numpy", "pandas", "pyarrow", "numba", "hydra-core", "omegaconf")
CHUNK = 1 << 20


class RunExists(RuntimeError):
    """The run folder already holds a complete run."""


class RunCorrupt(RuntimeError):
    """The run folder holds a summary whose outputs do not match it."""


class RunBusy(RuntimeError):
    """Another live process holds the run's lease (it is computing the run)."""

    def __init__(self, lease: LeaseInfo):
        super().__init__(f"{lease.folder}: being computed by {lease.describe()}")
        self.lease = lease


class LeaseLost(RuntimeError):
    """This process's lease was taken over (it was judged stale): it must not write."""


@functools.cache
def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = None
    return out


@functools.cache
def git_commit() -> dict | None:
    """Commit of the source tree this package runs from, if it is a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=here, capture_output=True, text=True, timeout=5,
                               check=True).stdout.strip() != ""
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty}


def is_complete(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds a summary (a complete run, unless :func:`verify_run` says
    it is corrupt)."""
    return (Path(folder) / SUMMARY).is_file()


# ----------------------------------------------------------------------- durable writes


def fsync_dir(folder: str | os.PathLike) -> None:
    """``fsync`` a folder, so that the names created or renamed in it survive a crash."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as e:  # some file systems cannot fsync a directory
        if e.errno not in (errno.EINVAL, errno.EBADF, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def _sync_and_digest(fd: int) -> dict:
    """Read an open file from the start (SHA-256, size), then ``fsync`` it."""
    h, size = hashlib.sha256(), 0
    os.lseek(fd, 0, os.SEEK_SET)
    while chunk := os.read(fd, CHUNK):
        h.update(chunk)
        size += len(chunk)
    os.fsync(fd)
    return {"bytes": size, "sha256": h.hexdigest()}


def file_digest(path: str | os.PathLike) -> dict:
    """``{"bytes": size, "sha256": hex}`` of a file."""
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return {"bytes": size, "sha256": h.hexdigest()}


def write_atomic(path: Path, write: Callable[[str], object]) -> dict:
    """Write a file so that it is whole or absent, also after a crash of the machine.

    ``write(tmp_path)`` writes a temporary file beside ``path``; it is then read
    back once (SHA-256), ``fsync``-ed, renamed onto ``path``, and the folder is
    ``fsync``-ed.

    Args:
        path: the file to write.
        write: writes the content to the path it is given.

    Returns:
        ``{"bytes": size, "sha256": hex}`` of the file written.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            digest = _sync_and_digest(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return digest


def write_text_atomic(path: Path, text: str) -> dict:
    """:func:`write_atomic` for a text file."""
    return write_atomic(path, lambda p: Path(p).write_text(text))


# ----------------------------------------------------------------------- verification


def read_summary(folder: str | os.PathLike) -> dict:
    """The run's ``summary.json`` (raises OSError or ValueError if unreadable)."""
    summary = json.loads((Path(folder) / SUMMARY).read_text())
    if not isinstance(summary, dict):
        raise ValueError("summary.json is not a JSON object")
    return summary


def verify_outputs(folder: str | os.PathLike, summary: dict, *, content: bool = True,
                   data: dict[str, bytes] | None = None) -> str | None:
    """Check the outputs a summary lists against the files in the run folder.

    Args:
        folder: run folder.
        summary: its ``summary.json`` contents.
        content: also compare SHA-256 (else sizes only).
        data: bytes of outputs already read by the caller (hashed instead of the file).

    Returns:
        None if every output matches, else a one-line reason (the run is corrupt).
        Summaries written before sizes and hashes were recorded (``files`` a list of
        names) are checked for the presence of their files only.
    """
    folder = Path(folder)
    files = summary.get("files")
    if isinstance(files, list):  # older summaries: names only
        missing = [f for f in files if not (folder / f).is_file()]
        return f"{missing[0]} missing" if missing else None
    if not isinstance(files, dict) or not files:
        return "summary.json lists no outputs"
    for name, want in files.items():
        path = folder / name
        if data and name in data:
            got = len(data[name])
        else:
            try:
                got = path.stat().st_size
            except FileNotFoundError:
                return f"{name} missing"
        if got != want.get("bytes"):
            return f"{name} has {got} bytes, summary.json says {want.get('bytes')}"
        if content:
            if data and name in data:
                digest = hashlib.sha256(data[name]).hexdigest()
            else:
                digest = file_digest(path)["sha256"]
            if digest != want.get("sha256"):
                return f"{name} does not match its SHA-256 in summary.json"
    return None


def verify_run(folder: str | os.PathLike, *, content: bool = True) -> str | None:
    """None if ``folder`` holds a complete run whose outputs match its summary, else the
    reason it is corrupt (``FileNotFoundError`` if it has no summary)."""
    try:
        summary = read_summary(folder)
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as e:
        return f"summary.json unreadable: {e}"
    return verify_outputs(folder, summary, content=content)


# ----------------------------------------------------------------------------- leases


def lease_timeout() -> float:
    """Seconds without a heartbeat after which a lease is stale: ``SIM_LEASE_TIMEOUT``
    (default 600). Raises ValueError naming the variable if it is not a positive number."""
    raw = os.environ.get(LEASE_TIMEOUT_ENV)
    if raw is None or raw == "":
        return LEASE_TIMEOUT_DEFAULT
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{LEASE_TIMEOUT_ENV}={raw}: must be a number of seconds > 0")
    return value


def _hostname() -> str:
    return socket.gethostname()


def _pid_start(pid: int) -> int | None:
    """Start time of a process (clock ticks since boot; Linux), to tell a reused pid."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _pid_alive(pid: int, start: int | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if start is not None:
        now = _pid_start(pid)
        if now is not None and now != start:
            return False  # the pid was reused by another process
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is gone
    except (OSError, IndexError):
        return True


def _slurm_ids() -> dict:
    keys = {"job_id": "SLURM_JOB_ID", "array_job_id": "SLURM_ARRAY_JOB_ID",
            "array_task_id": "SLURM_ARRAY_TASK_ID"}
    return {k: os.environ[v] for k, v in keys.items() if os.environ.get(v)}


@dataclass
class LeaseInfo:
    """A lease file found in a run folder."""

    folder: Path
    number: int
    path: Path
    data: dict = field(default_factory=dict)
    heartbeat: float = 0.0  # modification time of the lease file (epoch seconds)
    live: bool = True
    why_stale: str | None = None

    @property
    def host(self) -> str:
        return str(self.data.get("host", "?"))

    @property
    def pid(self) -> int | None:
        return self.data.get("pid")

    def age(self, now: float | None = None) -> float:
        """Seconds since the run started under this lease."""
        return max(0.0, (now or time.time()) - float(self.data.get("started", self.heartbeat)))

    def describe(self, now: float | None = None) -> str:
        now = now or time.time()
        slurm = self.data.get("slurm") or {}
        job = ""
        if slurm.get("array_job_id"):
            job = f", Slurm job {slurm['array_job_id']}_{slurm.get('array_task_id', '?')}"
        elif slurm.get("job_id"):
            job = f", Slurm job {slurm['job_id']}"
        text = (f"host {self.host} pid {self.pid}{job}, started {_ago(self.age(now))} ago, "
                f"heartbeat {_ago(now - self.heartbeat)} ago")
        return text if self.live else f"{text}: {self.why_stale}"


def _ago(seconds: float) -> str:
    s = max(0, int(seconds))
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def _lease_numbers(folder: Path) -> list[int]:
    out = []
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return out
    for name in names:
        if name.startswith(LEASE_PREFIX) and name.endswith(LEASE_SUFFIX):
            mid = name[len(LEASE_PREFIX):-len(LEASE_SUFFIX)]
            if mid.isdigit():
                out.append(int(mid))
    return sorted(out)


def _lease_path(folder: Path, number: int) -> Path:
    return folder / f"{LEASE_PREFIX}{number}{LEASE_SUFFIX}"


def _read_lease(folder: Path, number: int, timeout: float, now: float) -> LeaseInfo | None:
    path = _lease_path(folder, number)
    try:
        heartbeat = path.stat().st_mtime
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        data = {}  # being written (the create and the write are two steps): judged by age
    info = LeaseInfo(folder, number, path, data if isinstance(data, dict) else {}, heartbeat)
    if now - heartbeat > timeout:
        info.live, info.why_stale = False, f"no heartbeat for {_ago(now - heartbeat)}"
    elif data.get("host") == _hostname() and isinstance(data.get("pid"), int) and \
            not _pid_alive(data["pid"], data.get("pid_start")):
        info.live, info.why_stale = False, f"process {data['pid']} is gone"
    return info


def current_lease(folder: str | os.PathLike, timeout: float | None = None) -> LeaseInfo | None:
    """The lease that decides who computes the run (the highest number), or None."""
    folder = Path(folder)
    timeout = lease_timeout() if timeout is None else timeout
    for _ in range(10):
        numbers = _lease_numbers(folder)
        if not numbers:
            return None
        info = _read_lease(folder, numbers[-1], timeout, time.time())
        if info is not None:
            return info
    return None


class Lease:
    """A lease held by this process on a run folder; see :func:`acquire_lease`."""

    def __init__(self, folder: Path, number: int, timeout: float):
        self.folder, self.number, self.timeout = folder, number, timeout
        self.path = _lease_path(folder, number)
        self.inode = self.path.stat().st_ino
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost = False

    def start_heartbeat(self, interval: float | None = None) -> None:
        """Refresh the heartbeat (the file's modification time) from a daemon thread."""
        interval = interval or min(60.0, max(0.2, self.timeout / 10))
        self._thread = threading.Thread(target=self._beat, args=(interval,), daemon=True,
                                        name=f"lease-heartbeat-{self.folder.name}")
        self._thread.start()

    def _beat(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                os.utime(self.path)
            except FileNotFoundError:
                self.lost = True
                return
            except OSError:
                continue  # a transient error of the file system: try again next beat

    def check(self) -> None:
        """Raise :class:`LeaseLost` if another process took the run over."""
        try:
            same = self.path.stat().st_ino == self.inode
        except FileNotFoundError:
            same = False
        numbers = _lease_numbers(self.folder)
        if self.lost or not same or (numbers and numbers[-1] != self.number):
            self.lost = True
            raise LeaseLost(f"{self.folder}: the lease was taken over by another process "
                            "(this one was judged stale); its outputs are not written")

    def release(self) -> None:
        """Stop the heartbeat and remove the lease file (if it is still ours)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            if self.path.stat().st_ino == self.inode:
                self.path.unlink()
                fsync_dir(self.folder)
        except FileNotFoundError:
            pass

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def acquire_lease(folder: str | os.PathLike, timeout: float | None = None) -> Lease:
    """Take the lease of a run folder: the right to compute the run.

    The lease file ``lease.<n>.json`` is created with ``O_CREAT | O_EXCL``: of several
    processes that try at once exactly one succeeds. A live lease (fresh heartbeat,
    process alive when on this host) is left alone; a stale one is taken over by
    creating the next number, and the older lease files are then removed.

    Args:
        folder: run folder (created if missing).
        timeout: seconds without a heartbeat after which a lease is stale
            (default :func:`lease_timeout`).

    Returns:
        The :class:`Lease` (heartbeat not started yet).

    Raises:
        RunBusy: a live process holds the lease.
    """
    folder = Path(folder)
    timeout = lease_timeout() if timeout is None else timeout
    folder.mkdir(parents=True, exist_ok=True)
    for _ in range(50):
        numbers = _lease_numbers(folder)
        number = 0
        if numbers:
            info = _read_lease(folder, numbers[-1], timeout, time.time())
            if info is None:
                continue  # removed meanwhile: look again
            if info.live:
                raise RunBusy(info)
            number = numbers[-1] + 1
        path = _lease_path(folder, number)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            continue  # another process took this number first: look again
        pid = os.getpid()
        data = {"host": _hostname(), "pid": pid, "pid_start": _pid_start(pid),
                "slurm": _slurm_ids(), "started": time.time(),
                "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                "argv": sys.argv}
        try:
            os.write(fd, (json.dumps(data, indent=1) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(folder)
        lease = Lease(folder, number, timeout)
        newer = [n for n in _lease_numbers(folder) if n > number]
        if newer:  # a process that did not see ours took a higher number: it decides
            lease.release()
            continue
        for old in numbers:  # the stale leases we replaced
            _lease_path(folder, old).unlink(missing_ok=True)
        return lease
    raise RuntimeError(f"{folder}: could not take the run's lease (too much contention)")


def tidy(folder: str | os.PathLike, timeout: float | None = None) -> list[str]:
    """Remove what dead processes left in a complete run folder: stale leases and,
    unless a live process holds a lease, ``.partial`` files. Nothing complete is touched.

    Returns:
        The names removed.
    """
    folder = Path(folder)
    timeout = lease_timeout() if timeout is None else timeout
    removed, live = [], False
    now = time.time()
    for n in _lease_numbers(folder):
        info = _read_lease(folder, n, timeout, now)
        if info is None:
            continue
        if info.live:
            live = True
        else:
            info.path.unlink(missing_ok=True)
            removed.append(info.path.name)
    if not live:
        for p in folder.glob(".*.partial"):
            p.unlink(missing_ok=True)
            removed.append(p.name)
    return removed


# ---------------------------------------------------------------------------- test hooks


def _test_hook(point: str, folder: Path) -> None:
    spec = os.environ.get("SIM_TEST_HOOK")
    if not spec:
        return
    for item in spec.split(";" if ";" in spec else ","):
        where, _, action = item.partition(":")
        action, _, only = action.strip().partition("@")
        if where.strip() != point or (only and only not in folder.name):
            continue
        if action == "raise":
            raise RuntimeError(f"test hook SIM_TEST_HOOK={item.strip()}")
        if action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif action.startswith("sleep="):
            time.sleep(float(action.split("=", 1)[1]))
        elif action.startswith("wait="):
            deadline = time.time() + 900
            while not Path(action.split("=", 1)[1]).exists() and time.time() < deadline:
                time.sleep(0.2)


def hook_log(event: str, folder: str | os.PathLike) -> None:
    """Append ``<event> <folder> <pid> <slurm job>`` to ``$SIM_TEST_LOG`` if set (a test
    hook; see the module docstring)."""
    path = os.environ.get("SIM_TEST_LOG")
    if path:
        job = os.environ.get("SLURM_ARRAY_JOB_ID") or os.environ.get("SLURM_JOB_ID") or "-"
        with open(path, "a") as fh:
            fh.write(f"{event} {Path(folder).resolve()} {os.getpid()} {job}\n")


# ------------------------------------------------------------------------------- a run


def _remove_outputs(folder: Path) -> None:
    """Remove a corrupt run's summary (first: the folder is then no longer complete)
    and the outputs it lists."""
    try:
        files = read_summary(folder).get("files") or []
    except (OSError, ValueError):
        files = []
    (folder / SUMMARY).unlink(missing_ok=True)
    fsync_dir(folder)
    for name in files:
        if "/" not in name and name != SUMMARY:
            (folder / name).unlink(missing_ok=True)


def run_simulation(cfg: SimConfig, folder: str | os.PathLike, *, progress: bool = False,
                   extra: dict | None = None, redo_corrupt: bool = False,
                   clean: tuple[str, ...] = ()) -> dict:
    """Run the model for ``cfg`` and write a complete run folder.

    The run is computed under the folder's lease (see :func:`acquire_lease`): a
    process that finds another live process computing it raises :class:`RunBusy`.

    Args:
        cfg: validated configuration.
        folder: run folder (created if missing). Refused if it already holds a
            complete run: nothing complete is overwritten.
        progress: show a progress bar.
        extra: additional provenance stored in the summary (e.g. Hydra overrides).
        redo_corrupt: a run whose outputs do not match its summary is removed and
            computed again (else :class:`RunCorrupt` is raised).
        clean: names of other files removed once the lease is held (e.g. an old
            ``error.json``); ``.partial`` files left by a dead process always are.

    Returns:
        The summary dict (also written to ``summary.json``).

    Raises:
        RunExists: the folder holds a complete run.
        RunCorrupt: it holds a corrupt one and ``redo_corrupt`` is false.
        RunBusy: another live process is computing the run.
        LeaseLost: this process was judged stale and the run was taken over.
    """
    from sim.metrics import headline
    from sim.model import LabourMarket

    folder = Path(folder)
    if is_complete(folder) and verify_run(folder) is None:
        raise RunExists(f"{folder} already holds a complete run; it is not overwritten")
    folder.mkdir(parents=True, exist_ok=True)
    lease = acquire_lease(folder)
    try:
        if is_complete(folder):  # checked again under the lease (another process may have
            problem = verify_run(folder)  # finished it meanwhile)
            if problem is None:
                raise RunExists(f"{folder} already holds a complete run; it is not overwritten")
            if not redo_corrupt:
                raise RunCorrupt(f"{folder} holds a corrupt run ({problem}); move or delete "
                                 "it to run it again")
            _remove_outputs(folder)
        for p in [*folder.glob(".*.partial"), *(folder / name for name in clean)]:
            p.unlink(missing_ok=True)
        lease.start_heartbeat()
        hook_log("compute", folder)
        started = datetime.now(UTC)
        model = LabourMarket(cfg).run(progress=progress)
        spells = model.spells_frame()
        outputs = {"spells.parquet": spells, "timeseries.parquet": model.timeseries_frame()}
        if cfg.output.ties:
            outputs["ties.parquet"] = model.ties_frame()
        _test_hook("before-outputs", folder)
        files = {}
        for name, df in outputs.items():
            lease.check()
            files[name] = write_atomic(folder / name, lambda p, df=df: df.to_parquet(p, index=False))
        _test_hook("before-summary", folder)
        ts = outputs["timeseries.parquet"]
        summary = {
            "complete": True,
            "seed": cfg.seed,
            "strategy": cfg.strategy.name,
            "strategies": model.strategy_names,
            "metrics": headline(spells, model.strategy_names),
            "market": {
                "mean_unemployment_rate": float(ts["unemployment_rate"].mean()),
                "mean_vacancy_rate": float(ts["vacancy_rate"].mean()),
                "final_mean_degree": float(ts["mean_degree"].iloc[-1]),
            },
            "wall_time_s": round(model.wall_time, 3),
            "started_utc": started.isoformat(timespec="seconds"),
            "host": platform.node(),
            "pid": os.getpid(),
            "slurm": _slurm_ids() or None,
            "versions": dict(package_versions()),
            "git": git_commit(),  # computed once per process (the code does not change under it)
            "argv": sys.argv,
            "config": to_dict(cfg),
            "files": {name: files[name] for name in sorted(files)},
            **(extra or {}),
        }

        def write_summary(p):
            with open(p, "w") as fh:
                json.dump(summary, fh, indent=2, allow_nan=False)
                fh.write("\n")

        lease.check()
        write_atomic(folder / SUMMARY, write_summary)
        return summary
    finally:
        lease.release()

"""Leases: which process computes a run folder.

While a run is computed its folder holds a *lease* (``lease.<n>.json``: host,
pid, Slurm job and array ids, start time; its modification time is a heartbeat
refreshed by a thread). A second process that wants the same run (an
overlapping resume, a second sweep on the same folder) finds the lease and
leaves the run alone; a lease whose heartbeat is older than
``SIM_LEASE_TIMEOUT`` seconds (default 600), or whose process is gone on this
host, is stale and is taken over. Who holds a run is decided by an exclusive
create (``O_CREAT | O_EXCL``) of the next lease number, so two processes never
compute one run at once.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sim.errors import ConfigError, SimError
from sim.results.contract import LEASE_PREFIX, LEASE_SUFFIX
from sim.results.files import fsync_dir

LEASE_TIMEOUT_ENV = "SIM_LEASE_TIMEOUT"
LEASE_TIMEOUT_DEFAULT = 600.0  # seconds without a heartbeat after which a lease is stale


class RunBusy(SimError, RuntimeError):
    """Another live process holds the run's lease (it is computing the run)."""

    def __init__(self, lease: LeaseInfo):
        super().__init__(f"{lease.folder}: being computed by {lease.describe()}")
        self.lease = lease


class LeaseLost(SimError, RuntimeError):
    """This process's lease was taken over (it was judged stale): it must not write."""


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
        raise ConfigError(f"{LEASE_TIMEOUT_ENV}={raw}: must be a number of seconds > 0")
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


def slurm_ids() -> dict:
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
                "slurm": slurm_ids(), "started": time.time(),
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



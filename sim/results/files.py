"""The run folder on disk: durable writes and the checks of a complete run.

Every output is written under a temporary name, flushed and ``fsync``-ed,
renamed into place, and the folder ``fsync``-ed; ``summary.json`` is written
last the same way and lists every output with its size and SHA-256 (``files``),
so its presence means the outputs it lists are on disk, and :func:`verify_run`
tells a complete run from a corrupt one. No model code: sweeps, ``analysis``
and the studies read run folders through this module.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from sim.errors import SimError
from sim.results.contract import SUMMARY

CHUNK = 1 << 20


class RunCorrupt(SimError, RuntimeError):
    """The run folder holds a summary whose outputs do not match it."""


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



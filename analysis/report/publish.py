"""Publishing a report folder safely.

Every file of a report is first written to a staging folder inside the report
folder, then renamed into place (:func:`publish`). A manifest
(:data:`MANIFEST`) holds the SHA-256 of every file the report wrote; a later
report replaces only files whose content is still what the report wrote: if a
file was edited by hand (or not made by the report), nothing is moved and
:class:`ReportError` names the file (``force`` replaces it anyway). Files the
previous report made that the new one does not are removed if unedited. The
manifest itself is written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sim.errors import SimError
from sim.results.files import write_text_atomic

MANIFEST = ".report-files.json"


class ReportError(SimError):
    """The report cannot be made (bad path, a file it must not replace); the message is
    one line. ``python -m sim`` prints it as ``error: ...`` and exits 2."""


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest(out: Path) -> dict[str, str]:
    try:
        return json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


def publish(staging: Path, out: Path, force: bool = False) -> list[Path]:
    """Move the staged files into ``out``, never replacing a file the report did not
    write (or that was edited since) unless ``force``.

    Args:
        staging: the staged files (relative paths as they are to be in ``out``).
        out: the report folder.
        force: replace files even if edited by hand or not made by the report.

    Raises:
        ReportError: a file would be replaced that is not the report's own; nothing
            is moved.

    Returns:
        The paths written.
    """
    old = _manifest(out)
    files = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
    if not force:
        for rel in files:
            dest = out / rel
            if dest.exists() and (rel not in old or _sha(dest) != old[rel]):
                why = "edited since the report wrote it" if rel in old else "not written by the report"
                raise ReportError(f"{dest}: {why}; not overwritten (use --out DIR, or --force "
                                  "to replace it)")
    new = {rel: _sha(staging / rel) for rel in files}
    written = []
    for rel in files:
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / rel, dest)
        written.append(dest)
    for rel, digest in old.items():  # files of the previous report that this one did not make
        dest = out / rel
        if rel not in new and dest.is_file() and _sha(dest) == digest:
            dest.unlink()
    write_text_atomic(out / MANIFEST, json.dumps(new, indent=1, sort_keys=True) + "\n")
    return written


@contextmanager
def staging_folder(out: Path) -> Iterator[Path]:
    """A fresh staging folder inside ``out`` (made if missing; same file system, so
    :func:`publish` renames), removed with whatever is left in it on exit.

    Args:
        out: the report folder.

    Yields:
        The staging folder (``out/.staging-*``).
    """
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)

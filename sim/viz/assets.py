"""The page's web assets: the npm packages its front end loads besides the Python ones.

Solara fetches them from a CDN on first use and keeps them in its cache folder;
where that CDN cannot be reached (these machines reach only package registries),
:func:`ensure_assets` fills the cache from the npm registry instead. The versions
are those solara 1.64 asks for (``tests/test_viz.py`` checks them against the
installed solara).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import ipyvue
from solara.server import settings

NPM_TIMEOUT = 300  # seconds for one `npm pack` (a slow registry mirror)


def web_assets() -> tuple[str, ...]:
    """``name@version`` of each npm package the page loads from the CDN (solara's
    Vue 3 app with ipyvue 3, its Vue 2 app otherwise)."""
    # solara.server.server's own test; importing that module here, before the server
    # has its app name, would leave the server without an app
    vue3 = ipyvue.__version__.startswith("3")
    app = "@widgetti/solara-vuetify3-app@5.2.0" if vue3 else "@widgetti/solara-vuetify-app@10.1.1"
    return app, "font-awesome@4.5.0", "requirejs@2.3.6"


def assets_dir() -> Path:
    """Solara's cache of CDN files (served to the page under ``/_solara/cdn``)."""
    return Path(settings.assets.proxy_cache_dir)


def ensure_assets(cache: Path | None = None) -> list[str]:
    """Put each of :func:`web_assets` missing from ``cache`` there, with ``npm pack``.

    Args:
        cache: the folder (default: :func:`assets_dir`).

    Returns:
        One line per asset that could not be fetched (empty when all are there).
    """
    cache = cache or assets_dir()
    missing = [spec for spec in web_assets() if not (cache / spec / "package.json").is_file()]
    if not missing:
        return []
    npm = shutil.which("npm")
    if npm is None:
        return [f"{spec}: npm not found" for spec in missing]
    print(f"fetching the page's web assets into {cache} (once): {', '.join(missing)}", flush=True)
    problems = []
    for spec in missing:
        try:
            _npm_fetch(npm, spec, cache)
        except (OSError, subprocess.SubprocessError, tarfile.TarError, ValueError) as e:
            problems.append(f"{spec}: {e}")
    return problems


def _npm_fetch(npm: str, spec: str, cache: Path) -> None:
    """``npm pack`` one package and unpack it as ``cache/<name>@<version>/``."""
    with tempfile.TemporaryDirectory() as tmp:
        res = subprocess.run([npm, "pack", "--silent", spec], cwd=tmp, capture_output=True,
                             text=True, timeout=NPM_TIMEOUT)
        tgz = sorted(Path(tmp).glob("*.tgz"))
        if res.returncode or not tgz:
            why = (res.stderr.strip().splitlines() or ["no tarball"])[-1]
            raise ValueError(f"npm pack failed ({why})")
        with tarfile.open(tgz[0]) as tar:
            tar.extractall(tmp, filter="data")
        # npm tarballs hold one folder, "package/" (or the package's name)
        (top,) = [p for p in Path(tmp).iterdir() if p.is_dir()]
        target = cache / spec
        target.parent.mkdir(parents=True, exist_ok=True)
        # staged beside the target and renamed: a server starting at the same time never
        # sees half a folder (whichever rename comes second fails, harmlessly)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".fetch-"))
        try:
            shutil.move(str(top), staging / "package")
            os.rename(staging / "package", target)
        except OSError:
            if not (target / "package.json").is_file():
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

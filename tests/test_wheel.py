"""The package installs as a wheel that carries ``configs/`` (issue 12, point 5).

A wheel is built from a copy of the sources (``pip wheel --no-deps
--no-build-isolation --no-index``: the setuptools of the running environment builds
it, nothing is downloaded), installed into a fresh virtual environment in a
temporary folder, and ``python -m sim run +strategy=lions`` runs from an empty
temporary folder, far from any source checkout.

The fresh environment gets the wheel alone (``--no-deps``); the dependencies come
from the environment running the tests, made visible by a ``.pth`` file listing its
``site-packages`` folder. Installing every dependency into the fresh environment
instead needs the network and takes over a minute (measured: 62 s with a warm pip
cache, against 2 s for the wheel alone). A ``.pth`` line that only names a folder
adds it to ``sys.path`` without running the ``.pth`` files inside it, so the
editable install of the running environment (its finder for ``sim``) stays
inactive; the tests check that ``sim``, its configs and the Hydra launchers are
imported from the wheel's copy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
#: what the build reads: the packages, the configs, the build files and the README (its long description)
SOURCES = ("sim", "configs", "analysis", "experiments", "hydra_plugins", "pyproject.toml", "setup.py",
           "README.md")
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc", "*.egg-info", "build", "dist")


def _run(args: list, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a command with no PYTHONPATH (nothing of the checkout leaks in) and capture its output."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The project's wheel, built from a copy of its sources."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=JUNK)
        else:
            shutil.copy2(ROOT / name, src / name)
    out = tmp / "dist"
    p = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
              "-q", "-w", out, src], cwd=tmp)
    assert p.returncode == 0, f"building the wheel failed (is setuptools>=77 installed?):\n{p.stderr}"
    (whl,) = out.glob("sim-*.whl")
    return whl


@pytest.fixture(scope="module")
def venv(tmp_path_factory, wheel) -> Path:
    """A fresh virtual environment holding the wheel; returns its Python."""
    home = tmp_path_factory.mktemp("venv") / "env"
    p = _run([sys.executable, "-m", "venv", "--without-pip", home], cwd=home.parent)
    assert p.returncode == 0, p.stderr
    python = home / "bin" / "python"
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=home).stdout.strip())
    deps = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site / "_test_deps.pth").write_text("".join(f"{d}\n" for d in deps))
    p = _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q",
              wheel], cwd=home)
    assert p.returncode == 0, p.stderr
    return python


def test_wheel_carries_configs_and_launchers(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    configs = {f"sim/configs/{p.relative_to(ROOT / 'configs').as_posix()}"
               for p in (ROOT / "configs").rglob("*.yaml")}
    assert "sim/configs/config.yaml" in configs
    assert configs <= names, f"configs missing from the wheel: {sorted(configs - names)}"
    launchers = {p.relative_to(ROOT).as_posix() for p in (ROOT / "hydra_plugins").rglob("*.py")}
    assert "hydra_plugins/sim_launcher/grouped.py" in launchers
    assert launchers <= names, f"launchers missing from the wheel: {sorted(launchers - names)}"
    assert not any(n.startswith("configs/") for n in names), "configs/ would be a top-level package"


def test_installed_package_uses_its_own_configs(venv, tmp_path):
    code = ("import json, sim, sim.workflow.compose as c\n"
            "from hydra.core.plugins import Plugins\n"
            "from hydra.plugins.launcher import Launcher\n"
            "launchers = {p.__name__: sys.modules[p.__module__].__file__\n"
            "             for p in Plugins.instance().discover(Launcher)}\n"
            "print(json.dumps({'sim': sim.__file__, 'configs': str(c.CONFIG_DIR), 'launchers': launchers}))")
    p = _run([venv, "-c", "import sys\n" + code], cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    site = venv.parent.parent  # the fresh environment
    assert Path(got["sim"]).is_relative_to(site), f"sim imported from {got['sim']}, not the wheel"
    configs = Path(got["configs"])
    assert configs.is_relative_to(site) and (configs / "config.yaml").is_file()
    assert (configs / "strategy" / "lions.yaml").is_file()
    for name in ("GroupedSlurmLauncher", "GroupedLocalLauncher"):  # found by Hydra's plugin discovery
        assert Path(got["launchers"][name]).is_relative_to(site), got["launchers"]


def test_run_from_an_empty_folder(venv, tmp_path):
    p = _run([venv, "-m", "sim", "run", "+strategy=lions", "n_workers=500", "weeks=10"], cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    (run,) = (tmp_path / "outputs" / "runs").glob("*/*lions_seed0")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["complete"] is True and summary["strategy"] == "lions"
    assert summary["config"]["n_workers"] == 500 and summary["config"]["weeks"] == 10
    assert summary["metrics"]["lions"], "no headline metrics for lions"
    assert summary["git"] is None  # an installed package is no checkout: no commit is claimed
    assert (run / "spells.parquet").is_file()

"""Which packages the wheel holds (everything else is in pyproject.toml).

The top-level ``configs/`` folder is shipped inside the package as ``sim.configs``
(its YAML files are package data, see pyproject.toml), so an installed ``sim``
finds its configuration with :mod:`importlib.resources`, never in a source
checkout (``sim.workflow.compose.CONFIG_DIR``). pyproject.toml alone cannot both
discover the packages and map a folder to a subpackage, hence this file.
"""

from setuptools import find_namespace_packages, setup

CODE = ["sim", "analysis", "experiments", "hydra_plugins"]  # hydra_plugins: our Hydra launchers

setup(
    packages=[
        *find_namespace_packages(include=[p for c in CODE for p in (c, f"{c}.*")],
                                 exclude=["*.__pycache__"]),
        "sim.configs",
        *(f"sim.configs.{p}" for p in find_namespace_packages(where="configs",
                                                             exclude=["__pycache__", "*.__pycache__"])),
    ],
    package_dir={"sim.configs": "configs"},
)

"""Networking strategies, discovered by module name.

Every module here (other than ``base``) that defines ``STRATEGY`` is a strategy
named after the module; see :mod:`sim.core.strategies.base` for the interface.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from sim.core.strategies.base import Context, Plan, Strategy


@cache
def available() -> tuple[str, ...]:
    """Names of the available strategies, sorted."""
    names = []
    for mod in pkgutil.iter_modules(__path__):
        if mod.name != "base" and hasattr(importlib.import_module(f"{__name__}.{mod.name}"),
                                          "STRATEGY"):
            names.append(mod.name)
    return tuple(sorted(names))


def get_strategy(name: str) -> type[Strategy]:
    """The class of strategy ``name``."""
    if name not in available():
        raise KeyError(f"unknown strategy '{name}'; available: {', '.join(available())}")
    return importlib.import_module(f"{__name__}.{name}").STRATEGY


__all__ = ["Context", "Plan", "Strategy", "available", "get_strategy"]

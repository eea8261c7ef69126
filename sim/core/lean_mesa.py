"""Mesa's ``Model`` and ``Agent`` without the rest of Mesa: ``from sim.core.lean_mesa import mesa``.

``import mesa`` runs Mesa's ``__init__``, which imports every Mesa module: grids
and networks (scipy.spatial, networkx), the batch runner, and through
``mesa.experimental``'s ``__init__`` continuous space (scipy.spatial again): about
half a second that a run does not use. Here ``mesa`` and ``mesa.experimental`` are
registered as bare packages first, so ``import mesa.model`` loads ``Model`` and the
modules it imports itself; a package's own ``__init__`` runs on the first use of
any other name in it, so code that uses the rest of Mesa later in the same process
works unchanged. If importing only part of Mesa fails (a Mesa whose modules need
its ``__init__``), every half-imported Mesa module is cleared and Mesa is imported
whole, with a warning.

Import this module near the top of the stack (the command line imports the model
before Hydra's job runner): Mesa's module logger calls ``inspect.stack()``, whose
cost grows with the stack's depth.
"""

from __future__ import annotations

import importlib.util
import logging
import sys

log = logging.getLogger("sim")


def _bare_package(name: str) -> bool:
    """Register package ``name`` without running its ``__init__`` (which runs, once, on
    the first lookup of a name the package does not have yet). False if not found."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return False
    package = importlib.util.module_from_spec(spec)

    def rest_of_package(attr: str):
        if attr.startswith("__") and attr != "__version__":  # importlib's lookups: not a use
            raise AttributeError(attr)
        del package.__dict__["__getattr__"]
        spec.loader.exec_module(package)  # the package's own __init__, in place
        return getattr(package, attr)

    package.__getattr__ = rest_of_package
    sys.modules[name] = package
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, package)
    return True


def _import_lean() -> None:
    if "mesa" in sys.modules:
        return
    for name in ("mesa", "mesa.experimental"):
        _bare_package(name)
    try:
        import mesa.agent
        import mesa.model

        mesa.Model, mesa.Agent = mesa.model.Model, mesa.agent.Agent
    except Exception as e:  # a Mesa whose modules need its __init__ while importing
        for name in [m for m in sys.modules if m == "mesa" or m.startswith("mesa.")]:
            sys.modules.pop(name)  # the bare packages and any half-imported module
        log.warning("importing only part of Mesa failed (%s: %s); importing all of it",
                    type(e).__name__, e)


_import_lean()
import mesa  # noqa: E402  (after the lean import above: the bare package, or all of Mesa)

__all__ = ["mesa"]

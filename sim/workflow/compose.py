"""Composing run configurations with Hydra, and checking them before anything runs.

The configs live in ``configs/`` (:data:`CONFIG_DIR`). :func:`compose` gives one
run's validated :class:`~sim.core.config.SimConfig`; :func:`sweep_configs` and
:func:`check_sweep` compose and check every run of a sweep up front. Every
problem is a :class:`~sim.errors.ConfigError` with a one-line message naming the
offending key and value; the command line prints it and exits with code 2.
"""

from __future__ import annotations

import copy
import difflib
import logging
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from omegaconf import OmegaConf

from sim.core.config import build_config, check_memory
from sim.core.strategies import available
from sim.errors import ConfigError

# configs/ ships inside the package as sim.configs (setup.py): the checkout's configs/ when
# installed editable, the wheel's copy otherwise. Either way a real folder, as Hydra needs:
# pip unpacks wheels, and numba's on-disk cache rules out importing the package from a zip.
CONFIG_DIR = Path(str(resources.files("sim.configs")))


def _flat_keys(d, prefix=""):
    for k, v in d.items():
        yield prefix + str(k)
        if isinstance(v, dict):
            yield from _flat_keys(v, f"{prefix}{k}.")


def _one_line(exc: Exception, cfg_keys: list[str], overrides: list[str]) -> str:
    """A one-line message for a Hydra composition error."""

    chain, e = [], exc
    while e is not None:
        chain.append(str(e))
        e = e.__cause__ or e.__context__
    text = "\n".join(chain)
    m = re.search(r"Could not (?:override|append to|delete from) '([^']+)'", text)
    if m and ("not in struct" in text or "Could not delete" in text):
        key = m.group(1)
        close = difflib.get_close_matches(key, cfg_keys, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        given = _given(key, overrides)
        return f"{key}={given}: unknown key{hint}" if given is not None else \
            f"{key}: unknown key{hint}"
    m = re.search(r"Error parsing override '([^']*)'\n(.+)", text)
    if m:  # e.g. seed=range(a)
        return f"{m.group(1)}: cannot parse it: {m.group(2).strip()}"
    m = re.search(r"Sweeping over Hydra's configuration is not supported : '([^']*)'", text)
    if m:
        return (f"{m.group(1)}: a sweep cannot vary Hydra's own settings (launcher, folders); "
                "run one sweep per setting")
    m = re.search(r"Ambiguous value for argument '([^']*)'", text)
    if m:  # a comma list without -m
        return (f"{m.group(1)}: several values run a sweep: add -m (for one list value write "
                "key=[a,b], for a string quote it)")
    m = re.search(r"does not support sweep type : (\w+)", text)
    if m:  # interval(...): for optimising sweepers only
        given = next((o for o in overrides if "interval(" in o), m.group(1))
        return f"{given}: a sweep takes lists (a,b) or range(start,stop[,step]), not an interval"
    m = re.search(r"Could not override '([^']+)'\. No match in the defaults list", text)
    if m:  # `strategy=lions`: a group not in the defaults list is chosen with a `+`
        key = m.group(1)
        given = _given(key, overrides) or "NAME"
        return (f"{key}={given}: no {key} is chosen by default, so there is none to override; "
                f"write +{key}={given} to choose one")
    m = re.search(r"Could not find '([^']+)/([^'/]+)'", text)
    if m:
        group, name = m.groups()  # the group may be nested: hydra/launcher/nope
        listed = re.search(rf"Available options in '{re.escape(group)}':\n((?:\t.*\n?)+)", text)
        options = listed.group(1).split() if listed else _options(group)
        return f"{group}={name}: unknown {group}; available: {', '.join(options)}"
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(exc).__name__)
    return first


def _given(key: str, overrides: list[str]) -> str | None:
    """The value given to ``key`` among ``overrides`` (``+key=v``, ``key=v``), or None."""
    return next((o.split("=", 1)[1] for o in overrides
                 if "=" in o and o.split("=", 1)[0].lstrip("+~") == key), None)


def compose(overrides: list[str]):
    """Compose and validate a run's config from ``configs/`` and Hydra overrides.

    Returns the :class:`~sim.core.config.SimConfig`. Raises :class:`~sim.errors.ConfigError` with a
    one-line message naming the offending key and value. Used by ``run`` before Hydra makes a
    folder, and by the commands that run models in-process (validate, calibrate,
    sensitivity).
    """


    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3", job_name="sim"):
        base = OmegaConf.to_container(hydra_compose("config"), resolve=False)
        try:
            cfg = hydra_compose("config", overrides=overrides)
        except Exception as e:  # Hydra's composition errors (unknown key, group option)
            raise ConfigError(_one_line(e, list(_flat_keys(base)), overrides)) from None
    data = OmegaConf.to_container(cfg, resolve=True)
    data.pop("hydra", None)
    return check_config(data)


class _SweepCompositionError(Exception):
    """Hydra could not compose a sweep (or one of its runs); ``run`` names the run."""

    def __init__(self, error: Exception, run: list[str]):
        super().__init__(str(error))
        self.error, self.run = error, run


def sweep_configs(overrides: list[str]) -> Iterator[tuple[list[str], dict, str, dict]]:
    """The runs of a sweep (``run -m``) and each run's composed configuration, cheaply.

    The runs are the ones Hydra's basic sweeper launches: the experiment's
    ``hydra.sweeper.params`` and the command line's overrides, comma lists and
    ranges expanded into every combination, in Hydra's order. Hydra composes one
    run per combination of the swept config groups (``+strategy=a,b``), which checks
    every key and group option; the other values (``seed=range(0,1000)``) are then
    set in a copy of that composed configuration, as Hydra sets them, which costs
    well under a millisecond per run instead of Hydra's 50-75 ms.

    Args:
        overrides: the command line's overrides (no flags such as ``-m``).

    Yields:
        ``(run, data, launcher, swept)``: the run's overrides, its configuration as a
        plain dict (without ``hydra``), the launcher's config, and the run's swept
        overrides (those that differ between runs) by their key.

    Raises:
        _SweepCompositionError: Hydra cannot compose the sweep or one of its runs.
    """


    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3", job_name="sim"):
        loader = GlobalHydra.instance().config_loader()
        try:  # the sweep's own config: Hydra's keys, the launcher, unswept keys and groups
            master = loader.load_configuration("config", overrides, run_mode=RunMode.MULTIRUN)
            sweeper = master.hydra.sweeper
            if not str(sweeper.get("_target_", "")).endswith("BasicSweeper"):
                return  # another sweeper plans its runs itself
            hydra_overrides = list(master.hydra.overrides.hydra)
            params = [f"{k}={v}" for k, v in (sweeper.get("params") or {}).items()]
            parser = OverridesParser.create(config_loader=loader)
            (runs,) = BasicSweeper.split_arguments(
                parser.parse_overrides([*params, *master.hydra.overrides.task]), None)
            launcher = OmegaConf.to_container(master.hydra.launcher, resolve=False)
        except Exception as e:
            raise _SweepCompositionError(e, []) from e
        if not runs:
            return
        parsed: dict[str, Any] = {}

        def parse(text: str):
            if text not in parsed:
                parsed[text] = parser.parse_override(text)
            return parsed[text]

        groups = {i for i, text in enumerate(runs[0])
                  if loader.repository.group_exists(parse(text).key_or_group)}
        swept = [i for i in range(len(runs[0])) if len({run[i] for run in runs}) > 1]
        composed: dict[tuple, dict] = {}
        for run in runs:  # first Hydra's checks of every group option, then the values
            choice = tuple(run[i] for i in sorted(groups))
            if choice not in composed:  # one full composition per combination of groups
                try:
                    cfg = hydra_compose("config", overrides=[*hydra_overrides, *run])
                except Exception as e:
                    raise _SweepCompositionError(e, run) from e
                composed[choice] = OmegaConf.to_container(cfg, resolve=True)
                composed[choice].pop("hydra", None)
        for run in runs:
            data = copy.deepcopy(composed[tuple(run[i] for i in sorted(groups))])
            for i, text in enumerate(run):
                if i not in groups:
                    _set_override(data, parse(text))
            yield run, data, launcher, {parse(run[i]).key_or_group: run[i] for i in swept}


def check_sweep(overrides: list[str]) -> int:
    """Compose and validate every run of a sweep (``run -m``) before anything is written.

    Each run's configuration (:func:`sweep_configs`) passes the same checks, with the
    same one-line errors, as a single run's, including the memory check (against the
    job's ``mem_gb`` on a Slurm launcher). 1,000 runs take about 2 s.

    Args:
        overrides: the command line's overrides (no flags such as ``-m``).

    Returns:
        The number of runs. Exits with a one-line error (code 2) naming the first
        offending key and value (and the run, when the error is about another key
        than the swept ones).
    """


    n = 0
    runs = sweep_configs(overrides)
    # the checks build every run's config: its warnings (e.g. one market below
    # market.market_size) are said when that run runs, not once per run here
    sim_log = logging.getLogger("sim")
    level = sim_log.level
    sim_log.setLevel(logging.ERROR)
    try:
        for _run, data, launcher, swept in runs:
            n += 1
            if n == 1:
                _check_launcher(launcher)
            mem_gb = launcher.get("mem_gb") if "slurm" in str(launcher.get("_target_")).lower() \
                else None  # a Slurm job gets the memory it asks for, not this login node's
            try:
                check_config(data, *((mem_gb * 2**30, f"per Slurm job (hydra.launcher.mem_gb={mem_gb})")
                                 if mem_gb else ()))
            except ConfigError as e:
                # a swept key's own bad value is named by the message; a combination of
                # values (e.g. shares that do not sum to 1) is named by the run's values
                key = str(e).split(":", 1)[0].split("=", 1)[0]
                related = [text for k, text in swept.items()
                           if f"{k}.".startswith(f"{key}.") or f"{key}.".startswith(f"{k}.")]
                raise ConfigError(f"{e} (in the sweep's run {' '.join(related)})"
                                  if related and key not in swept else str(e)) from None
    except _SweepCompositionError as e:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3",
                                   job_name="sim"):
            base = OmegaConf.to_container(hydra_compose("config"), resolve=False)
        raise ConfigError(_one_line(e.error, list(_flat_keys(base)), [*overrides, *e.run])) from None
    finally:
        runs.close()  # leaves Hydra's global state (initialize_config_dir) also on an error
        sim_log.setLevel(level)
    return n


def _check_launcher(launcher: dict) -> None:
    """One-line errors (exit 2) for the grouped launchers' own settings."""
    for key, lowest in (("runs_per_task", 1), ("max_array_size", 1)):
        value = launcher.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
            raise ConfigError(f"hydra.launcher.{key}={value}: must be a whole number >= {lowest}")


def _skip_hydras_second_check() -> None:
    # Hydra's basic sweeper composes every run once more before it launches any (50-120 ms
    # a run here: one to two minutes for 1,000 runs, in which nothing runs). check_sweep
    # has just checked the same runs, so that second pass is turned off in this process;
    # the launcher still composes each run as it starts it (and a failure is recorded).

    BasicSweeper.validate_batch_is_legal = lambda self, batch: None


def _set_override(data: dict, override) -> None:
    """Apply a parsed Hydra value override (``k=v``, ``+k=v``, ``++k=v``, ``~k``) to a
    plain config dict, as Hydra applies it to the composed config (a mapping merges
    into a mapping; anything else replaces)."""

    def merge(into: dict, key: str, value) -> None:
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            for k, v in value.items():
                merge(into[key], k, v)
        else:
            into[key] = value

    *path, last = override.key_or_group.split(".")
    node = data
    for p in path:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{override.input_line}: {p} is not a group of keys")
    if override.is_delete():
        node.pop(last, None)
    else:
        merge(node, last, override.value())


def check_config(data: dict, memory: float | None = None, where: str = "on this machine"):
    """Build the run's :class:`~sim.core.config.SimConfig` from a composed config, and check
    that the run fits in ``memory`` bytes (default: what this machine has available;
    ``where`` says where that memory is)."""

    if "strategy" not in data:

        raise ConfigError(
            "no strategy chosen: add +strategy=NAME, one of: "
            + ", ".join(sorted({*available(), *_options("strategy")})))
    cfg = build_config(data)
    check_memory(cfg, memory, where)
    return cfg


def _options(group: str) -> list[str]:
    """The options of a config group (``configs/<group>/*.yaml``), sorted."""
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))

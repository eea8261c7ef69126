"""The page's inputs (its controls) and their translation into a run's config.

The controls are built from what the package declares, not written out here:

- one share slider per registered strategy (:func:`sim.core.strategies.available`),
  starting from the shares of ``configs/strategy/mixed.yaml``; the strategy whose
  share is null there takes the rest, as in a run with ``+strategy=mixed``, so it
  has no slider of its own;
- one control per parameter of each strategy's ``Params`` dataclass (declared with
  :func:`sim.core.params.param`): a slider for a number with a range (labelled
  with the parameter's name), a check box for a switch, a choice list for
  choices, a text box for a number without an upper bound (these labelled with
  the parameter's help line);
- the market size, vacancy rate, networking hours, tie decay and seed.

The page's population is often smaller than the default local labour market
(``market.market_size``): then, as in any run, ``build_config`` makes it one market of
all its workers (with a warning on the ``sim`` logger), and the page's status line says so.

A new strategy module therefore shows in the page without any change to it. An
input is named after the config key it sets: ``lions`` (the share of lions),
``lions.focus_k`` (``strategy.params.lions.focus_k``), ``n_workers`` ...

:func:`page_config` turns the inputs into a plain config dict and passes it
through :func:`sim.core.config.build_config`, like any run, so bad input raises
the same one-line :class:`~sim.errors.ConfigError`.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Mapping
from typing import Any

import yaml

from sim.core import strategies
from sim.core.config import SimConfig, build_config
from sim.errors import ConfigError
from sim.results.contract import TIE_KINDS
from sim.workflow.compose import CONFIG_DIR

DEFAULT_N_WORKERS = 2000  # Step feels instant, Reset (with the burn-in) takes a second or two
MAX_N_WORKERS = 20_000  # the burn-in of a larger market blocks the page for many seconds
ENV_N_WORKERS = "SIM_VIZ_N_WORKERS"  # --n-workers, passed to the page's server
MIX = "mixed"  # the strategy file (configs/strategy/) whose shares the page starts from
FLOAT_STEPS = 20  # a float slider over [lo, hi] moves in steps of (hi - lo) / 20


# --------------------------------------------------------------------------- strategies


def mixed_strategy() -> dict:
    """The mix as ``configs/strategy/mixed.yaml`` defines it (shares, one null = the rest)."""
    return yaml.safe_load((CONFIG_DIR / "strategy" / f"{MIX}.yaml").read_text())


def strategy_shares() -> dict[str, float | None]:
    """The starting share of every registered strategy.

    Returns:
        ``{name: share}``: the shares of ``mixed.yaml`` in its order (``None`` for the
        one that takes the rest), then each registered strategy it does not list, at 0.
    """
    listed = dict(mixed_strategy()["shares"])
    return listed | {name: 0.0 for name in strategies.available() if name not in listed}


def rest_strategy() -> str | None:
    """The strategy that takes the share the others leave (null in ``mixed.yaml``), if any."""
    return next((name for name, share in strategy_shares().items() if share is None), None)


def _param_control(strategy: str, f: dataclasses.Field, tp: Any, default: Any) -> dict | None:
    """The control of one strategy parameter, or None for a kind the page cannot show
    (a mapping, a nested group, an optional value: ``python -m sim run`` sets those)."""
    meta = f.metadata
    label = f"{strategy}: {meta.get('help') or f.name}"
    # a slider shares its row with its label: the parameter's name, not its help line
    short = f"{strategy}: {f.name.replace('_', ' ')}"
    if tp is bool:
        return {"type": "Checkbox", "label": label, "value": bool(default)}
    if meta.get("choices"):
        return {"type": "Select", "label": label, "value": default, "values": list(meta["choices"])}
    if tp not in (int, float):
        return None
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is None or hi is None:  # no slider without both ends: a text box, checked on Reset
        return {"type": "InputText", "label": label, "value": str(default)}
    if tp is int:
        return {"type": "SliderInt", "label": short, "value": int(default), "min": int(lo),
                "max": int(hi), "step": 1}
    return {"type": "SliderFloat", "label": short, "value": float(default), "min": float(lo),
            "max": float(hi), "step": (hi - lo) / FLOAT_STEPS}


def strategy_controls() -> dict[str, dict]:
    """The strategy controls: shares, then each strategy's parameters.

    Returns:
        SolaraViz input specs by input name: ``<strategy>`` (its share) for every
        registered strategy but the one taking the rest, and ``<strategy>.<param>``
        for every parameter the page can show, starting at ``mixed.yaml``'s value
        (``strategy.params``) or else the ``Params`` default.
    """
    shares = strategy_shares()
    rest = next((name for name, share in shares.items() if share is None), None)
    overrides = mixed_strategy().get("params") or {}
    controls: dict[str, dict] = {}
    for name, share in shares.items():
        if share is None:
            continue
        label = f"share {name}" + (f" ({rest}: the rest)" if rest and not controls else "")
        controls[name] = {"type": "SliderFloat", "label": label, "value": float(share),
                          "min": 0.0, "max": 1.0, "step": 0.05}
    for name in shares:
        params = strategies.get_strategy(name).Params
        hints = typing.get_type_hints(params)
        for f in dataclasses.fields(params):
            default = (overrides.get(name) or {}).get(f.name, f.default)
            control = _param_control(name, f, hints[f.name], default)
            if control is not None:
                controls[f"{name}.{f.name}"] = control
    return controls


# --------------------------------------------------------------------------- inputs


def model_params(n_workers: int | None = None) -> dict:
    """SolaraViz's inputs: ``{input name: control spec}``, in the page's order.

    Args:
        n_workers: workers of the first market (default: the server's ``--n-workers``,
            passed in the environment, else :data:`DEFAULT_N_WORKERS`).

    Returns:
        The controls, the strategy ones built by :func:`strategy_controls`.
    """
    d = SimConfig()
    n = n_workers or int(os.environ.get(ENV_N_WORKERS, DEFAULT_N_WORKERS))
    fixed = {
        "n_workers": {"type": "InputText", "label": f"workers (2 to {MAX_N_WORKERS})",
                      "value": str(n)},
        "vacancy_rate": {"type": "SliderFloat", "label": "vacancy rate",
                         "value": d.market.vacancy_rate, "min": 0.0, "max": 0.2, "step": 0.005},
        "time_budget": {"type": "SliderFloat", "label": "networking hours per week",
                        "value": d.networking.time_budget, "min": 0.0, "max": 20.0, "step": 0.5},
        "tie_decay": {"type": "SliderFloat", "label": "tie decay (x default, per kind)",
                      "value": 1.0, "min": 0.0, "max": 4.0, "step": 0.1},
        "seed": {"type": "InputText", "label": "seed", "value": str(d.seed)},
    }
    controls = strategy_controls()
    clash = sorted(set(controls) & set(fixed))
    if clash:  # a strategy named like a page input: its share would replace the input
        raise ConfigError(f"strategy {clash[0]}: named like an input of the page; rename it")
    return {"n_workers": fixed.pop("n_workers"), **controls, **fixed}


def initial_values(params: Mapping) -> dict:
    """The inputs' starting values, as keyword arguments of :func:`page_config`."""
    return {k: v["value"] for k, v in params.items()}


def _number(text: Any, kind: type = int) -> Any:
    """A number from a text box ("10,000" and "10_000" too, for an int); unparsable
    text is returned as is, so that ``build_config`` names the key and the bad value."""
    if isinstance(text, str):
        try:
            return kind(text.strip().replace(",", "").replace("_", "") if kind is int else text)
        except ValueError:
            return text
    return text


def page_config(**inputs: Any) -> SimConfig:
    """The validated config of the page's inputs.

    Args:
        **inputs: values by input name (:func:`model_params`); SolaraViz passes them
            all, an input left out keeps its starting value. ``n_workers``, ``seed``
            and parameters without a slider are the text of their boxes. The shares
            given are those of their strategies (the rest strategy takes what they
            leave); ``vacancy_rate`` sets ``market.vacancy_rate``, ``time_budget``
            ``networking.time_budget`` (hours per week while unemployed), and
            ``tie_decay`` multiplies every tie kind's default ``ties.decay``. With fewer
            workers than the default ``market.market_size``, they form one market
            (``build_config``).

    Returns:
        The run's :class:`~sim.core.config.SimConfig`.

    Raises:
        ConfigError: one line naming the key and the bad value (or the unknown input).
    """
    params = model_params(DEFAULT_N_WORKERS)
    values = initial_values(params)
    for key in inputs:
        if key not in values:
            raise ConfigError(f"{key}={inputs[key]!r}: not an input of the page; inputs: "
                              f"{', '.join(values)}")
    values |= inputs
    n = _number(values["n_workers"])
    if isinstance(n, int) and n > MAX_N_WORKERS:
        raise ConfigError(f"n_workers={n}: the page allows at most {MAX_N_WORKERS} workers "
                          "(use python -m sim run for larger markets)")
    strategy = mixed_strategy()
    shares = strategy_shares()
    strategy["shares"] = {name: None if share is None else values[name]
                          for name, share in shares.items()}
    text_boxes = {k for k, v in params.items() if v["type"] == "InputText"}
    # mixed.yaml's own parameters stay (those without a control too), the inputs' on top
    strategy["params"] = {k: dict(v) for k, v in (strategy.get("params") or {}).items()}
    for key, value in values.items():
        name, dot, field = key.partition(".")
        if dot:
            kind = typing.get_type_hints(strategies.get_strategy(name).Params)[field]
            strategy["params"].setdefault(name, {})[field] = (
                _number(value, kind) if key in text_boxes else value)
    decay = SimConfig().ties.decay
    tie_decay = values["tie_decay"]
    if isinstance(tie_decay, bool) or not isinstance(tie_decay, (int, float)) or tie_decay < 0:
        raise ConfigError(f"tie_decay={tie_decay!r}: must be a number >= 0 (a multiplier of "
                          "ties.decay)")
    return build_config({
        "seed": _number(values["seed"]), "n_workers": n,
        "market": {"vacancy_rate": values["vacancy_rate"]},
        "networking": {"time_budget": values["time_budget"]},
        "ties": {"decay": {k: round(getattr(decay, k) * tie_decay, 6) for k in TIE_KINDS}},
        "strategy": strategy,
        "output": {"progress": "off"},
    })

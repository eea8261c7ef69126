"""Declaring and checking parameters: the machinery of the config dataclasses.

A parameter is a dataclass field declared with :func:`param` (default, one-line
help, valid range or choices). :func:`build_params` builds such a dataclass from a
plain mapping and raises :class:`~sim.errors.ConfigError` with one line naming
the first offending key and value. The model's config (:mod:`sim.core.config`)
and every strategy's ``Params`` (:mod:`sim.core.strategies`) are declared with it.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, get_origin, get_type_hints

import numpy as np

from sim.errors import ConfigError
from sim.results.contract import TIE_KINDS


def param(default: Any, help: str, lo: float | None = None, hi: float | None = None,
       choices: tuple | None = None, lo_open: bool = False) -> Any:
    """Declare a config field with its help line and valid range."""
    meta = {"help": help, "lo": lo, "hi": hi, "choices": choices, "lo_open": lo_open}
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    if dataclasses.is_dataclass(default):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return field(default=default, metadata=meta)


PROB = {"lo": 0.0, "hi": 1.0}


@dataclass
class PerKind:
    """One number per tie kind."""

    colleague: float = 0.0
    supervisor: float = 0.0
    acquaintance: float = 0.0
    online: float = 0.0

    def as_array(self):
        return np.array([getattr(self, k) for k in TIE_KINDS], dtype=np.float64)


def _fmt(v: Any) -> str:
    return repr(v) if isinstance(v, str) else str(v)


def _check_scalar(key: str, tp: Any, value: Any, meta: Mapping) -> Any:
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}={_fmt(value)}: must be true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ConfigError(f"{key}={_fmt(value)}: must be an integer")
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}={_fmt(value)}: must be a number")
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"{key}={_fmt(value)}: must be a finite number")
    elif tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}={_fmt(value)}: must be a string")
    lo, hi, choices = meta.get("lo"), meta.get("hi"), meta.get("choices")
    if choices is not None and value not in choices:
        raise ConfigError(f"{key}={_fmt(value)}: must be one of {', '.join(choices)}")
    if lo is not None and (value < lo or (meta.get("lo_open") and value == lo)):
        what = f"in [{lo}, {hi}]" if hi is not None else (
            f"> {lo}" if meta.get("lo_open") else f">= {lo}")
        raise ConfigError(f"{key}={_fmt(value)}: must be {what}")
    if hi is not None and value > hi:
        raise ConfigError(f"{key}={_fmt(value)}: must be in [{lo}, {hi}]")
    return value


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    # evaluated once per class: evaluating the string annotations is most of the cost
    # of build_config, which a sweep's up-front check calls once per run
    return get_type_hints(cls)


def _build(cls: type, data: Any, prefix: str, meta: Mapping | None = None) -> Any:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}={_fmt(data)}: must be a mapping of keys")
    hints = _type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f" (did you mean '{prefix}{close[0]}'?)" if close else ""
            raise ConfigError(f"{prefix}{key}={_fmt(data[key])}: unknown key{hint}")
    kwargs = {}
    for name, f in fields.items():
        if name not in data:
            continue
        tp, value, key = hints[name], data[name], prefix + name
        fmeta = dict(f.metadata)
        if dataclasses.is_dataclass(tp):
            sub = _build(tp, value, key + ".")
            if tp is PerKind:  # the parent's range applies to each kind
                for kind in TIE_KINDS:
                    _check_scalar(f"{key}.{kind}", float, getattr(sub, kind), fmeta)
            kwargs[name] = sub
        elif get_origin(tp) in (types.UnionType, typing.Union):  # X | None: null allowed
            tp = next(a for a in tp.__args__ if a is not type(None))
            kwargs[name] = None if value is None else _check_scalar(key, tp, value, fmeta)
        elif tp is dict or get_origin(tp) is dict:
            if not isinstance(value, Mapping):
                raise ConfigError(f"{key}={_fmt(value)}: must be a mapping")
            kwargs[name] = dict(value)
        else:
            kwargs[name] = _check_scalar(key, tp, value, fmeta)
    return cls(**kwargs)


def build_params(cls: type, data: Mapping | None, prefix: str) -> Any:
    """Build a strategy's parameter dataclass with the same checks as the model config."""
    return _build(cls, dict(data or {}), prefix)


def field_help(cls: type) -> dict[str, str]:
    """Help line of each field of a config dataclass."""
    return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}

"""Shared fixtures: small, fast configurations of the model."""

from __future__ import annotations

import copy

import pytest

from sim.core.config import build_config

SMALL = {"n_workers": 1500, "weeks": 40, "burn_in": 20, "output": {"progress": "off"}}


def small(**over) -> dict:
    """A small config dict; keyword overrides use ``__`` for nesting (market__vacancy_rate)."""
    d = copy.deepcopy(SMALL)
    for key, value in over.items():
        node = d
        *path, last = key.split("__")
        for p in path:
            node = node.setdefault(p, {})
        node[last] = value
    return d


def mix(**shares) -> dict:
    return {"name": "mix", "shares": shares}


@pytest.fixture
def small_cfg():
    return build_config(small(strategy=mix(lions=0.25, everyone=0.25, passive=0.25,
                                           broadcast=0.25)))

"""The burn-in cache (sim/core/burn_in.py, issue 17 point 3): a run that starts from a
stored burned-in state writes the same outputs, bit for bit, as one that simulates its
burn-in; the key leaves out only what acts after week 0."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.core import burn_in
from sim.core.config import build_config
from sim.core.model import LabourMarket
from tests.conftest import mix, small

BASE = dict(n_workers=600, burn_in=30, seed=3, strategy=mix(lions=0.5, everyone=0.5),
            market__firm_shock_rate=0.005)


def outputs(cfg) -> tuple[LabourMarket, dict[str, pd.DataFrame]]:
    m = LabourMarket(cfg).run()
    return m, {"spells": m.spells_frame(), "series": m.timeseries_frame(),
               "ties": m.ties_frame()}


def assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(burn_in.ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.parametrize("extra", [{}, {"recall__enabled": True, "leads__aware_width": 0.1,
                                       "leads__told_weeks": 4}])
def test_cached_burn_in_gives_the_same_outputs_bit_for_bit(cache_dir, monkeypatch, extra):
    cfg = build_config(small(weeks=25, **BASE, **extra))
    monkeypatch.delenv(burn_in.ENV)
    _, plain = outputs(cfg)  # no cache
    monkeypatch.setenv(burn_in.ENV, str(cache_dir))
    first, miss = outputs(cfg)  # simulates the burn-in and stores it
    assert [p.name for p in cache_dir.iterdir()] == [f"{burn_in.key(cfg)}.pkl"]
    hit_model = LabourMarket(cfg)
    assert hit_model.burn_in() and hit_model.week == 0  # loaded, not simulated
    _, hit = outputs(cfg)
    assert_same(plain, miss)
    assert_same(plain, hit)
    assert hit["spells"]["left_truncated"].any()  # spells running at week 0 came through


def test_a_longer_horizon_reuses_the_burn_in_of_a_shorter_one(cache_dir):
    short, long_ = build_config(small(weeks=10, **BASE)), build_config(small(weeks=40, **BASE))
    assert burn_in.key(short) == burn_in.key(long_)
    outputs(short)  # stores the state
    m = LabourMarket(long_)
    assert m.burn_in()
    m.run()
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(burn_in.ENV)
        _, plain = outputs(long_)
    assert_same(plain, {"spells": m.spells_frame(), "series": m.timeseries_frame(),
                        "ties": m.ties_frame()})


@pytest.mark.parametrize("change", [{"seed": 4}, {"burn_in": 31}, {"ties__decay__online": 0.06},
                                    {"strategy": mix(lions=0.4, everyone=0.6)}])
def test_the_key_changes_with_what_acts_in_the_burn_in(change):
    assert burn_in.key(build_config(small(weeks=10, **{**BASE, **change}))) != burn_in.key(
        build_config(small(weeks=10, **BASE)))


def test_a_damaged_file_is_a_miss_and_is_written_again(cache_dir):
    cfg = build_config(small(weeks=5, **BASE))
    cache_dir.mkdir()
    path = cache_dir / f"{burn_in.key(cfg)}.pkl"
    path.write_bytes(b"truncated")
    m = LabourMarket(cfg)
    assert not m.burn_in() and m.week == 0
    assert LabourMarket(cfg).burn_in()  # the file was rewritten whole
    assert not [p for p in cache_dir.iterdir() if p.name.endswith(".partial")]


def test_without_the_variable_nothing_is_cached(tmp_path, monkeypatch):
    monkeypatch.delenv(burn_in.ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    m = LabourMarket(build_config(small(weeks=5, **BASE)))
    assert not m.burn_in() and m.week == -30  # left to run(): nothing simulated, nothing stored
    assert list(tmp_path.iterdir()) == []

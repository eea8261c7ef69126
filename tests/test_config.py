"""Configuration building and validation (sim/core/config.py), and the YAML files under configs/."""

from __future__ import annotations

import difflib
import logging
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from sim.core.config import ConfigError, MarketConfig, SimConfig, build_config, n_markets, to_dict
from sim.core.params import param
from sim.core.strategies import available, get_strategy
from sim.core.strategies.passive import Passive
from sim.workflow import configs_yaml
from sim.workflow.configs_yaml import generated_files, stale_files, strategy_params_conflicts

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def error_of(data) -> str:
    with pytest.raises(ConfigError) as exc:
        build_config(data)
    msg = str(exc.value)
    assert msg and "\n" not in msg, f"not one line: {msg!r}"
    return msg


# (config, substrings the one-line message must contain: the key, and the value)
INVALID = {
    "negative_size": ({"n_workers": -1}, ["n_workers=-1"]),
    "too_few_workers": ({"n_workers": 1}, ["n_workers=1"]),
    "zero_weeks": ({"weeks": 0}, ["weeks=0"]),
    "prune_above_degree_min": ({"ties": {"prune_below": 0.3}},
                               ["ties.prune_below=0.3", "ties.degree_min_strength=0.2"]),
    "negative_seed": ({"seed": -3}, ["seed=-3"]),
    "prob_above_1": ({"market": {"separation_rate": 1.5}}, ["market.separation_rate=1.5"]),
    "prob_below_0": ({"leads": {"hear_prob": -0.1}}, ["leads.hear_prob=-0.1"]),
    "open_lower_bound": ({"networking": {"saturation_hours": 0.0}},
                         ["networking.saturation_hours=0.0"]),
    "range_hi": ({"market": {"firm_size_sigma": 6}}, ["market.firm_size_sigma=6"]),
    "nan": ({"hiring": {"formal_noise": math.nan}}, ["hiring.formal_noise=nan"]),
    "inf": ({"hiring": {"formal_noise": math.inf}}, ["hiring.formal_noise=inf"]),
    "string_for_int": ({"n_workers": "100"}, ["n_workers='100'"]),
    "float_for_int": ({"n_workers": 100.5}, ["n_workers=100.5"]),
    "float_for_nested_int": ({"ties": {"prune_every": 2.5}}, ["ties.prune_every=2.5"]),
    "bool_for_int": ({"seed": True}, ["seed=True"]),
    "bool_for_float": ({"market": {"vacancy_rate": True}}, ["market.vacancy_rate=True"]),
    "string_for_float": ({"market": {"vacancy_rate": "0.1"}}, ["market.vacancy_rate='0.1'"]),
    "int_for_bool": ({"ties": {"evolve": 1}}, ["ties.evolve=1"]),
    "string_for_bool": ({"output": {"ties": "yes"}}, ["output.ties='yes'"]),
    "int_for_string": ({"market": {"jobs": 3}}, ["market.jobs=3"]),
    "choice": ({"output": {"progress": "maybe"}}, ["output.progress='maybe'"]),
    "choice_nested": ({"market": {"jobs": "both"}}, ["market.jobs='both'"]),
    "choice_assign": ({"strategy": {"assign": "sorted"}}, ["strategy.assign='sorted'"]),
    "per_kind_range": ({"ties": {"decay": {"online": 2}}}, ["ties.decay.online=2"]),
    "per_kind_negative": ({"ties": {"strength": {"colleague": -0.5}}},
                          ["ties.strength.colleague=-0.5"]),
    "per_kind_type": ({"ties": {"knows_work": {"supervisor": "high"}}},
                      ["ties.knows_work.supervisor='high'"]),
    "shares_sum": ({"strategy": {"shares": {"lions": 0.5, "everyone": 0.3}}},
                   ["strategy.shares", "lions=0.5", "everyone=0.3", "sum to 0.8"]),
    "shares_sum_above_1": ({"strategy": {"shares": {"lions": 0.7, "passive": 0.7}}},
                           ["strategy.shares", "lions=0.7", "passive=0.7", "1.4"]),
    "share_out_of_range": ({"strategy": {"shares": {"lions": 1.5, "everyone": None}}},
                           ["strategy.shares.lions=1.5"]),
    "share_not_number": ({"strategy": {"shares": {"lions": "all"}}},
                         ["strategy.shares.lions='all'"]),
    "two_null_shares": ({"strategy": {"shares": {"lions": None, "everyone": None}}},
                        ["strategy.shares", "lions", "everyone"]),
    "null_share_nothing_left": ({"strategy": {"shares": {"lions": 0.6, "passive": 0.6,
                                                         "everyone": None}}},
                                ["strategy.shares", "1.2", "everyone"]),
    "no_shares": ({"strategy": {"shares": {}}}, ["strategy.shares={}"]),
    "shares_not_mapping": ({"strategy": {"shares": "lions"}}, ["strategy.shares='lions'"]),
    "unknown_strategy_share": ({"strategy": {"shares": {"lion": 1.0}}},
                               ["strategy.shares.lion", "'lion'", "lions"]),
    "unknown_strategy_params": ({"strategy": {"params": {"wolves": {"focus_k": 2}}}},
                                ["strategy.params.wolves", "'wolves'"]),
    "bad_strategy_param": ({"strategy": {"params": {"lions": {"focus_k": 0}}}},
                           ["strategy.params.lions.focus_k=0"]),
    "bad_strategy_param_type": ({"strategy": {"params": {"lions": {"ask": "no"}}}},
                                ["strategy.params.lions.ask='no'"]),
    "bad_strategy_param_range": ({"strategy": {"params": {"everyone": {"new_tie_share": 1.2}}}},
                                 ["strategy.params.everyone.new_tie_share=1.2"]),
    # the unknown key is the offence; the message names it with its value and suggests the fix
    "unknown_key": ({"n_worker": 5}, ["n_worker=5: unknown key", "did you mean 'n_workers'"]),
    "unknown_nested_key": ({"market": {"separation_rat": 0.1}},
                           ["market.separation_rat=0.1", "did you mean 'market.separation_rate'"]),
    "unknown_per_kind": ({"ties": {"decay": {"onlin": 0.1}}},
                         ["ties.decay.onlin=0.1", "did you mean 'ties.decay.online'"]),
    "market_size_zero": ({"market": {"market_size": 0}}, ["market.market_size=0", ">= 1"]),
    "market_size_float": ({"market": {"market_size": 500.5}}, ["market.market_size=500.5"]),
    "market_size_string": ({"market": {"market_size": "big"}}, ["market.market_size='big'"]),
    "market_size_below_a_firm": ({"market": {"market_size": 19}},
                                 ["market.market_size=19", "market.mean_firm_size=20"]),
    "n_sectors_contradicts_market_size": (
        {"n_workers": 10000, "market": {"market_size": 1000, "n_sectors": 7}},
        ["market.n_sectors=7", "market.market_size=1000", "= 10)"]),
    "cross_market_share_above_1": ({"market": {"cross_market_applications": 1.5}},
                                   ["market.cross_market_applications=1.5"]),
    "unknown_strategy_param": ({"strategy": {"params": {"lions": {"focus": 3}}}},
                               ["strategy.params.lions.focus=3",
                                "did you mean 'strategy.params.lions.focus_k'"]),
}


@pytest.mark.parametrize("case", INVALID)
def test_invalid_config_gives_one_line_error_naming_key_and_value(case):
    data, expected = INVALID[case]
    msg = error_of(data)
    for part in expected:
        assert part in msg, f"{part!r} not in {msg!r}"


@pytest.mark.parametrize("data,expected", [
    ({"market": 3}, "market=3:"),
    ({"ties": {"decay": 0.1}}, "ties.decay=0.1:"),
], ids=["market", "per_kind"])
def test_section_that_is_not_a_mapping(data, expected):
    assert expected in error_of(data)


@pytest.mark.parametrize("value", [3, "x"])
def test_strategy_params_that_are_not_a_mapping(value):
    msg = error_of({"strategy": {"params": {"lions": value}}})
    assert f"strategy.params.lions={value!r}" in msg


def test_strategy_params_section_not_a_mapping():
    assert "strategy.params=3" in error_of({"strategy": {"params": 3}})


def test_unknown_key_without_close_match_has_no_suggestion():
    msg = error_of({"zzzzzz": 1})
    assert "zzzzzz=1: unknown key" in msg and "did you mean" not in msg


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


# ------------------------------------------------------------------ valid configs


def resolved_defaults() -> dict:
    """The dataclass defaults as build_config resolves them: with ``market.market_size`` set,
    ``market.n_sectors`` is the number of markets of that size among ``n_workers``."""
    expected = to_dict(SimConfig())
    if expected["market"]["market_size"] is not None:
        expected["market"]["n_sectors"] = n_markets(expected["n_workers"],
                                                    expected["market"]["market_size"])
    return expected


def test_defaults_build():
    cfg = build_config({})
    assert to_dict(cfg) == resolved_defaults()
    assert to_dict(build_config(None)) == resolved_defaults()
    assert to_dict(build_config(to_dict(cfg))) == to_dict(cfg)  # the resolved config rebuilds
    assert cfg.strategy.shares == SimConfig().strategy.shares
    assert cfg.n_workers == SimConfig().n_workers
    assert cfg.market.separation_rate == MarketConfig().separation_rate


def test_null_share_takes_the_rest():
    data = {"strategy": {"shares": {"lions": 0.3, "everyone": None}}}
    cfg = build_config(data)
    assert list(cfg.strategy.shares) == ["lions", "everyone"]
    assert cfg.strategy.shares == {"lions": pytest.approx(0.3), "everyone": pytest.approx(0.7)}
    assert data["strategy"]["shares"]["everyone"] is None  # the input is not modified
    cfg = build_config({"strategy": {"shares": {"lions": 1.0, "everyone": None}}})
    assert cfg.strategy.shares == {"lions": 1.0, "everyone": 0.0}


def test_int_accepted_for_float_fields():
    cfg = build_config({"market": {"mean_firm_size": 20, "vacancy_rate": 0},
                        "ties": {"decay": {"online": 1}},
                        "strategy": {"shares": {"lions": 1}}})
    for v in (cfg.market.mean_firm_size, cfg.market.vacancy_rate, cfg.ties.decay.online):
        assert type(v) is float
    assert cfg.market.mean_firm_size == 20.0 and cfg.ties.decay.online == 1.0


def test_integral_float_accepted_for_int_fields():
    # e.g. n_workers=1e5 on the command line arrives as a float
    cfg = build_config({"n_workers": 1e5, "weeks": 52.0})
    assert type(cfg.n_workers) is int and cfg.n_workers == 100_000
    assert type(cfg.weeks) is int and cfg.weeks == 52


def test_bounds_are_inclusive():
    cfg = build_config({"market": {"separation_rate": 1.0, "layoff_fraction": 0.0,
                                   "market_size": None},
                        "n_workers": 2, "weeks": 1})
    assert cfg.market.separation_rate == 1.0 and cfg.n_workers == 2
    # market_size: from one firm of mean size to every worker, both ends included
    cfg = build_config({"n_workers": 20, "market": {"market_size": 20, "mean_firm_size": 20.0}})
    assert cfg.market.market_size == 20 and cfg.market.n_sectors == 1


@pytest.mark.parametrize("n_workers,market_size,n_markets", [
    (10_000, 1_000, 10), (100_000, 1_000, 100), (2_500, 1_000, 3), (2_499, 1_000, 2),
    (1_400, 1_000, 1), (1_000, 1_000, 1), (50, 20, 3), (45, 20, 2)])
def test_market_size_decides_the_number_of_sectors(n_workers, market_size, n_markets):
    # n_workers / market_size, rounded to the nearest integer, halves up, at least 1
    cfg = build_config({"n_workers": n_workers, "market": {"market_size": market_size}})
    assert cfg.market.n_sectors == n_markets and cfg.market.market_size == market_size
    # an n_sectors equal to the derived number agrees; the resolved config rebuilds to itself
    same = build_config({"n_workers": n_workers,
                         "market": {"market_size": market_size, "n_sectors": n_markets}})
    assert to_dict(same) == to_dict(cfg) == to_dict(build_config(to_dict(cfg)))


def test_fewer_workers_than_the_market_size_are_one_market(caplog):
    """n_workers below market.market_size: one market of them all, said on the sim logger
    and recorded (the resolved config holds the size simulated and rebuilds to itself)."""
    with caplog.at_level(logging.WARNING, logger="sim"):
        cfg = build_config({"n_workers": 5000, "market": {"market_size": 5001}})
    assert (cfg.market.market_size, cfg.market.n_sectors) == (5000, 1)
    assert "n_workers=5000 is below market.market_size=5001" in caplog.text
    assert to_dict(build_config(to_dict(cfg))) == to_dict(cfg)


def test_market_size_null_keeps_n_sectors():
    default = MarketConfig().n_sectors
    assert build_config({"market": {"market_size": None}}).market.n_sectors == default
    cfg = build_config({"n_workers": 100_000, "market": {"n_sectors": 37, "market_size": None}})
    assert cfg.market.n_sectors == 37 and cfg.market.market_size is None
    assert build_config({"market": {"market_size": 1e3}}).market.market_size == 1000


def test_strategy_params_and_partial_per_kind():
    cfg = build_config({"strategy": {"shares": {"lions": 0.5, "passive": 0.5},
                                     "params": {"lions": {"focus_k": 3}}},
                        "ties": {"decay": {"online": 0.2}}})
    assert cfg.strategy.params == {"lions": {"focus_k": 3}}
    assert cfg.ties.decay.online == 0.2
    assert cfg.ties.decay.colleague == 0.0  # PerKind's own default, not the tie default


def test_configs_do_not_share_mutable_defaults():
    a, b = build_config({}), build_config({})
    before = a.ties.decay.online
    try:
        a.ties.decay.online = 0.5
        a.strategy.shares["passive"] = 0.0
        assert b.ties.decay.online == before
        assert SimConfig().ties.decay.online == before
        assert "passive" not in SimConfig().strategy.shares
    finally:  # undo, in case the objects are shared, so other tests see the real defaults
        a.ties.decay.online = before
        a.strategy.shares.pop("passive", None)


# ------------------------------------------------------------------ the YAML files


def load(path: Path) -> dict:
    with open(path) as f:
        return yaml.safe_load(f)


def test_config_yaml_matches_dataclass_defaults():
    data = load(CONFIGS / "config.yaml")
    assert "defaults" in data and "hydra" in data
    data = {k: v for k, v in data.items() if k not in ("defaults", "hydra")}
    expected = to_dict(SimConfig())
    del expected["strategy"]  # chosen with +strategy=NAME
    assert data == expected
    # the same types too (no 20 for 20.0, no 1 for true): the YAML builds to the defaults
    def types(d):
        return {k: types(v) if isinstance(v, dict) else type(v) for k, v in d.items()}
    assert types(data) == types(expected)
    assert to_dict(build_config(data)) == resolved_defaults()


STRATEGY_FILES = sorted((CONFIGS / "strategy").glob("*.yaml"))


def test_every_strategy_has_a_config_file():
    assert set(available()) <= {p.stem for p in STRATEGY_FILES}


@pytest.mark.parametrize("path", STRATEGY_FILES, ids=lambda p: p.stem)
def test_strategy_yaml_builds(path):
    data = load(path)
    assert "shares" in data
    cfg = build_config({"strategy": data})
    assert sum(cfg.strategy.shares.values()) == pytest.approx(1.0)
    assert set(cfg.strategy.shares) <= set(available())
    assert cfg.strategy.name == data["name"]
    # overrides given in the file are the values used
    for name, params in (data.get("params") or {}).items():
        assert cfg.strategy.params[name] == params


def test_preset_yaml_builds():
    for path in sorted((CONFIGS / "preset").glob("*.yaml")):
        data = load(path)  # '# @package _global_': keys at the top level
        build_config(data)


def test_memory_check_refuses_what_cannot_fit():
    from sim.core.config import check_memory, expected_ties, memory_estimate

    cfg = build_config({"n_workers": 1_000_000, "strategy": {"shares": {"lions": 1.0}}})
    assert expected_ties(cfg) == 8_000_000  # (4 + 6 + 6) / 2 per worker
    # README, Performance: 1.23 GB peak at 1M lions (1.41 GB over 520 weeks)
    assert 1.23e9 <= memory_estimate(cfg) <= 1.41e9
    check_memory(cfg, available=2e9)
    with pytest.raises(ConfigError) as exc:
        check_memory(cfg, available=1e9)
    msg = str(exc.value)
    assert msg.startswith("n_workers=1000000: does not fit in memory: needs at least 1.3 GB")
    assert "1.0 GB available on this machine" in msg and "\n" not in msg


@pytest.mark.slow
def test_memory_estimate_does_not_overstate_the_measured_peak(tmp_path):
    """The memory check must never refuse a run that fits: the peak RSS of a 200,000-worker
    lions run in its own process is at least 90% of the estimate (measured: 0.43-0.45 GB at
    78 weeks against 0.46 GB estimated; under a loaded CI run more, so the upper side, how
    much a run may exceed this lower bound, is reported by ``benchmarks/model_speed.py
    --full``, not asserted here)."""
    import json
    import subprocess
    import sys

    from sim.core.config import memory_estimate

    code = ("import resource, json; from sim.core.model import LabourMarket; "
            "LabourMarket({'n_workers': 200000, 'weeks': 26, 'burn_in': 52, 'seed': 1, "
            "'strategy': {'shares': {'lions': 1.0}}}).run(); "
            "print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    peak = json.loads(r.stdout.strip().splitlines()[-1])
    est = memory_estimate(build_config({"n_workers": 200000,
                                        "strategy": {"shares": {"lions": 1.0}}}))
    assert peak >= 0.9 * est, (peak, est)


# ------------------------------------------------------------------ one source of truth
# The model keys of config.yaml and each strategy file's params are generated from the
# dataclasses (sim/workflow/configs_yaml.py, `make configs`).

REGENERATE = "run `make configs` (python -m sim.workflow.configs_yaml --write) and commit"


def test_checked_in_yaml_equals_the_generators_output():
    files = generated_files(CONFIGS)
    assert CONFIGS / "config.yaml" in files
    assert {p.stem for p in files if p.parent.name == "strategy"} == set(available())
    for path, expected in files.items():
        actual = path.read_text()
        diff = "".join(difflib.unified_diff(actual.splitlines(True), expected.splitlines(True),
                                            str(path), "generated", n=1))
        assert actual == expected, f"{path} differs from the dataclasses: {REGENERATE}\n{diff}"


def test_generation_is_deterministic_and_keeps_the_hand_written_parts():
    first = generated_files(CONFIGS)
    assert generated_files(CONFIGS) == first
    text = first[CONFIGS / "config.yaml"]
    before, generated = text.split(configs_yaml.BEGIN)
    generated, after = generated.split(configs_yaml.END)
    # the header and the hydra section are outside the generated part
    assert before.startswith("# Default configuration of one run") and "defaults:" in before
    assert "\nhydra:\n" in after and "  help:\n" in after and "hydra" not in generated
    lions = first[CONFIGS / "strategy" / "lions.yaml"]
    assert lions.index("name: lions") < lions.index(configs_yaml.BEGIN) < lions.index("params:")
    # no parameters: the file is left as written
    assert first[CONFIGS / "strategy" / "passive.yaml"] == (
        CONFIGS / "strategy" / "passive.yaml").read_text()


@pytest.mark.parametrize("path", STRATEGY_FILES, ids=lambda p: p.stem)
def test_strategy_params_are_declared_once(path):
    """A strategy file may repeat a parameter only with its Params default (and type)."""
    assert strategy_params_conflicts(path) == []
    data = load(path)
    if data["name"] in available():  # a strategy's own file states every parameter
        cls = get_strategy(data["name"])
        assert (data.get("params") or {}).get(data["name"], {}) == to_dict(cls.Params())


def copy_configs(tmp_path: Path) -> Path:
    shutil.copytree(CONFIGS, tmp_path / "configs")
    return tmp_path / "configs"


@pytest.mark.parametrize("old,new,expected", [
    ("focus_k: 5 ", "focus_k: 3 ", "lions.yaml: params.lions.focus_k=3: Lions.Params "
                                    "(sim/core/strategies/lions.py) declares 5"),
    ("focus_k: 5 ", "focus_k: 5.0 ", "params.lions.focus_k=5.0: Lions.Params"),
    ("ask: true", "ask: false", "params.lions.ask=False"),
    ("ask: true", "ask: true\n    asks: true", "params.lions.asks: not a parameter of Lions"),
])
def test_a_second_declaration_with_another_value_is_caught(tmp_path, old, new, expected):
    path = copy_configs(tmp_path) / "strategy" / "lions.yaml"
    text = path.read_text()
    assert strategy_params_conflicts(path) == []
    assert text.count(old) == 1
    path.write_text(text.replace(old, new))
    (conflict,) = strategy_params_conflicts(path)
    assert expected in conflict
    # and the checked-in copy no longer equals the generator's output
    assert stale_files(path.parents[1]) == [path]


def test_mixed_file_may_not_redeclare_a_strategys_parameters(tmp_path):
    # a mixed run and a +strategy=lions run must not use different lions parameters
    path = copy_configs(tmp_path) / "strategy" / "mixed.yaml"
    text = path.read_text()
    assert "params: {}" in text and strategy_params_conflicts(path) == []
    path.write_text(text.replace("params: {}", "params:\n  lions:\n    focus_k: 3\n"
                                               "  wolves:\n    k: 1"))
    assert strategy_params_conflicts(path) == [
        "mixed.yaml: params.lions.focus_k=3: Lions.Params (sim/core/strategies/lions.py) "
        "declares 5", "mixed.yaml: params.wolves: unknown strategy"]
    path.write_text(text.replace("params: {}", "params:\n  lions: 5"))
    assert strategy_params_conflicts(path) == [
        "mixed.yaml: params.lions=5: must be a mapping of parameters"]
    path.write_text(text.replace("params: {}", "params:\n  lions:\n    focus_k: 5"))
    assert strategy_params_conflicts(path) == []  # the same value is no conflict
    assert stale_files(path.parents[1]) == []  # mixed.yaml is hand-written


def test_check_and_write_commands(tmp_path, capsys):
    configs = copy_configs(tmp_path)
    assert configs_yaml.main(["--dir", str(configs)]) == 0
    cfg, lions = configs / "config.yaml", configs / "strategy" / "lions.yaml"
    cfg.write_text(cfg.read_text().replace("n_workers: 20000", "n_workers: 500"))
    lions.write_text(lions.read_text().replace("focus_k: 5 ", "focus_k: 3 "))
    capsys.readouterr()
    assert configs_yaml.main(["--check", "--dir", str(configs)]) == 1
    out = capsys.readouterr()
    assert out.out.splitlines() == [f"stale: {cfg}", f"stale: {lions}"]
    assert "make configs" in out.err
    assert configs_yaml.main(["--write", "--dir", str(configs)]) == 0
    assert stale_files(configs) == [] and strategy_params_conflicts(lions) == []
    for path in (cfg, lions):
        assert path.read_text() == (CONFIGS / path.relative_to(configs)).read_text()


def test_a_strategy_with_new_parameters_gets_its_block_appended(tmp_path, monkeypatch):
    @dataclass
    class Params:
        patience: int = param(3, "weeks before giving up", 1)

    monkeypatch.setattr(Passive, "Params", Params)
    path = copy_configs(tmp_path) / "strategy" / "passive.yaml"
    assert stale_files(path.parents[1]) == [path]
    text = generated_files(path.parents[1])[path]
    assert text.startswith(path.read_text())
    assert text.endswith("params:\n  passive:\n    patience: 3  # weeks before giving up\n"
                         "# <<< generated (the params above)\n")
    assert yaml.safe_load(text)["params"] == {"passive": {"patience": 3}}


@pytest.mark.parametrize("broken", ["no_end", "two_begins", "reversed"])
def test_broken_markers_are_one_line_errors(tmp_path, broken):
    configs = copy_configs(tmp_path)
    path = configs / "config.yaml"
    text = path.read_text()
    begin = text.index(configs_yaml.BEGIN)
    end = text.index(configs_yaml.END)
    text = {"no_end": text[:end] + "#" + text[end:],
            "two_begins": text[:end] + configs_yaml.BEGIN + "\n" + text[end:],
            "reversed": text[:begin] + "# <<< generated\n" + text[begin:end] + "# >>> generated"
                        + text[end + len(configs_yaml.END):]}[broken]
    path.write_text(text)
    with pytest.raises(ConfigError) as exc:
        generated_files(configs)
    assert "\n" not in str(exc.value) and "configs/config.yaml" in str(exc.value)
    assert configs_yaml.main(["--dir", str(configs)]) == 2


@pytest.mark.parametrize("value", [None, True, False, 0, -3, 10_000, 0.0, 0.0045, -1.6, 1e-05,
                                   2.5e20, "vacancies", "auto", "", "true", "null", "10",
                                   "a: b", "x # y", " padded", "it's", "[x]",
                                   [], [1, 0.5, "a, b", None]])
def test_yaml_scalar_loads_back_to_the_same_value_and_type(value):
    text = configs_yaml.yaml_scalar(value)
    for loaded in (yaml.safe_load(f"k: {text}  # help")["k"],
                   OmegaConf.to_container(OmegaConf.create(f"k: {text}  # help"))["k"]):
        assert loaded == value and type(loaded) is type(value), (text, loaded)

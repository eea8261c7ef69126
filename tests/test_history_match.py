"""History matching (``python -m sim history-match``): the facts' ranges against the
posterior's distance, the emulators' implausibility and leave-one-out checks against brute
force, and whole studies on a synthetic simulator with a known consistent region (fast) and
on a tiny market through the command (slow)."""

from __future__ import annotations

import functools
import json
import math

import numpy as np
import pandas as pd
import pytest

from sim.studies import calibrate, history_match, posterior
from sim.studies.history_match import FACTS, Emulator, fact_range, implausibility
from sim.studies.validate import FACT_BY_ID
from tests.conftest import needs_slurm, run_sim, sim_as_slurm_job

BOX = posterior.prior_box(None)


def test_a_fact_range_holds_exactly_the_values_whose_distance_term_is_at_most_one():
    for fid in FACTS:
        lo, hi = fact_range(fid)
        key = FACT_BY_ID[fid].key
        for edge in (b for b in (lo, hi) if np.isfinite(b)):
            for step in (-1e-6, 1e-6):
                value = edge + step * max(1.0, abs(edge))
                inside = lo <= value <= hi
                assert (posterior.fact_terms({key: value})[fid] <= 1) == inside, (fid, value)
    assert fact_range("neighbour_corr") == (0.0, math.inf)  # the fact's own "> 0"


def test_unit_box_coordinates_and_values_round_trip():
    u = np.random.default_rng(0).random((50, len(calibrate.FREE)))
    coords = history_match.from_unit(u, BOX)
    values = [history_match.values_of(c) for c in coords]
    np.testing.assert_allclose(history_match.to_unit(values, BOX), u, rtol=0, atol=1e-12)
    for v in values:  # every vector inside the prior box
        assert all(BOX[k][0] * (1 - 1e-12) <= x <= BOX[k][1] * (1 + 1e-12) for k, x in v.items())


def _toy_emulators(n: int = 120, seed: int = 0) -> tuple[dict[str, Emulator], np.ndarray]:
    """Emulators of two facts fitted to a smooth noisy response of the unit box."""
    rng = np.random.default_rng(seed)
    u = rng.random((n, len(calibrate.FREE)))
    out = {}
    for j, fid in enumerate(("contact_share", "vacancy_duration")):
        lo, hi = fact_range(fid)
        y = (lo + hi) / 2 + (hi - lo) * 1.5 * (u[:, j] - 0.5) + 0.02 * (hi - lo) * rng.normal(size=n)
        out[fid] = Emulator.fit(u, y)
    return out, u


def test_implausibility_equals_brute_force_up_to_the_cutoff():
    emulators, _ = _toy_emulators()
    u = np.random.default_rng(1).random((2000, len(calibrate.FREE)))
    brute = np.zeros(len(u))
    for fid, em in emulators.items():
        mean, sd = em.predict(u)
        brute = np.maximum(brute, history_match.outside(mean, fid) / sd)
    fast = implausibility(emulators, u, 3.0)
    kept = brute <= 3
    assert 0.2 < kept.mean() < 0.8  # both sides of the cutoff are tested
    np.testing.assert_allclose(fast[kept], brute[kept], rtol=1e-12)
    assert np.all(fast[~kept] > 3)
    np.testing.assert_array_equal(history_match.not_ruled_out([emulators], u, 3.0), kept)


def test_leave_one_out_is_the_refit_without_the_point():
    from sklearn.gaussian_process import GaussianProcessRegressor

    em = _toy_emulators(60)[0]["contact_share"]
    mean, sd = em.loo()
    for i in (0, 17, 59):
        keep = np.arange(len(em.u)) != i
        gp = GaussianProcessRegressor(em.gp.kernel_, optimizer=None).fit(em.u[keep], em.z[keep])
        m, s = gp.predict(em.u[i:i + 1], return_std=True)
        assert mean[i] == pytest.approx(m[0] * em.sd + em.mu, rel=1e-6)
        assert sd[i] == pytest.approx(s[0] * em.sd, rel=1e-6)


def test_a_stored_wave_predicts_as_the_fitted_one(tmp_path):
    emulators, u = _toy_emulators()
    wave = history_match.Wave(1, emulators, history_match.from_unit(u[:3], BOX), {"draws": 1})
    wave.save(tmp_path)
    back = history_match.Wave.load(tmp_path, 1)
    assert back.vectors == wave.vectors and back.info == {"draws": 1}
    x = np.random.default_rng(2).random((100, len(calibrate.FREE)))
    for fid, em in emulators.items():
        for a, b in zip(em.predict(x), back.emulators[fid].predict(x), strict=True):
            np.testing.assert_array_equal(a, b)
    assert history_match.Wave.load_all(tmp_path)[0].index == 1


# ---------------------------------------------------------------- a synthetic simulator

#: the toy's consistent region: every parameter's unit coordinate in [0.1, 0.9] (each fact
#: is driven by one parameter; 0.8^13, about 5.5 % of the prior box), blurred by the noise
SLOPE, NOISE = 2.5, 0.05


def _fake_measure(cfg, every):
    """Each fact's measure from one parameter's unit coordinate: in range exactly when
    ``|SLOPE * (u - 0.5)| <= 1`` (up to a seeded noise); the gaps from two parameters."""
    values = {p.key: functools.reduce(getattr, p.key.split("."), cfg) for p in calibrate.FREE}
    u = history_match.to_unit([values], BOX)[0]
    rng = np.random.default_rng(cfg.seed)
    out = {"seed": cfg.seed}
    for j, fid in enumerate(FACTS):
        g = SLOPE * (u[j % len(u)] - 0.5) + NOISE * rng.normal()
        lo, hi = fact_range(fid)
        out[FACT_BY_ID[fid].key] = (-0.002 * (abs(g) - 1) if not np.isfinite(hi)
                                    else (lo + hi) / 2 + (hi - lo) / 2 * g)
    out["gap_rmst52"] = u[3] - 0.3 + 0.1 * rng.normal()
    out["gap_s4"] = 0.3 - u[3] + 0.1 * rng.normal()
    return out


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setattr(posterior, "measure", _fake_measure)
    from sim.workflow.compose import compose

    return compose(["+strategy=mixed", "n_workers=20000", "weeks=10"])


def _study(cfg, out, **kw):
    opts = {"waves": 3, "wave_size": 60, "target": 1000, "cutoff": 3.0, "max_draws": 200_000,
            "max_train": 500, "seed": 0, "every": 4, "jobs": 1, "box": BOX}
    opts.update(kw)
    return history_match.run_study(cfg, out, **opts)


def test_waves_narrow_to_the_consistent_region_and_keep_only_consistent_runs(toy, tmp_path):
    waves, runs, legacy = _study(toy, tmp_path / "hm")
    assert legacy == 0 and [w.index for w in waves] == [1, 2, 3]
    assert not waves[0].emulators and waves[2].emulators  # a design first, then emulated
    frame = history_match.kept_frame(waves, runs)
    assert len(frame) == 180 and frame["seed"].nunique() == 180  # every wave vector, run once
    rate = frame.groupby("wave")["distance"].apply(lambda d: float((d <= 1).mean()))
    # the design hits the consistent region at about its share of the box (0.055, binomial
    # sd 0.03 at 60 runs); wave 3 draws from what is left, about 0.28 of the box (a perfect
    # emulator would leave 0.92^13 = 0.34: the 3-sd margin of the noise in 13 dimensions),
    # so about 0.055 / 0.28 = 0.2 of its runs are consistent (sd 0.05)
    assert rate[1] < 0.15 and rate[3] > 0.1, rate
    share = waves[2].info["passed"] / waves[2].info["draws"]
    assert 0.055 < share < 0.5, share
    # and no wave rules out the core of the consistent region (where a run is consistent
    # up to 2 noise sd), neither at its training runs nor anywhere else
    assert all(w.info["consistent_ruled_out"] == 0 for w in waves)
    core = 0.5 + (0.4 - 2 * NOISE / SLOPE) * (2 * np.random.default_rng(5).random((20000, 13)) - 1)
    assert history_match.not_ruled_out([w.emulators for w in waves], core, 3.0).all()
    # out of sample: wave 2's emulators on wave 3's runs, within 3 sd (about 99.7 % for a
    # calibrated Gaussian; the lowest of 17 facts over 60 runs)
    cover, _ = history_match.coverage(waves[1].emulators, frame[frame["wave"] == 3], BOX, 3.0)
    assert cover >= 0.9, cover
    text, kept = history_match.report(waves, runs, legacy, toy, BOX,
                                      {"command": "x", "date": "d", "commit": "c"}, 1000)
    assert (kept["distance"] <= 1).all() and len(kept) == int((frame["distance"] <= 1).sum())
    assert kept["weight"].sum() == pytest.approx(1.0)
    # lions are faster (RMST gap < 0) where u[3] < 0.3: a share of the kept set near that
    faster = float((kept["gap_rmst52"] < 0).mean())
    assert "Not yet" in text and f"| {posterior.percent(faster)} |" in text
    everywhere = int((frame["gap_rmst52"] < 0).sum())
    assert 0 < everywhere < 180  # both signs occur in the synthetic region
    assert ("Over all 180 wave runs" in text
            and f"in {everywhere} ({posterior.percent(everywhere / 180)}); median gap" in text)


def test_a_wave_cut_short_by_max_draws_says_so(toy, tmp_path, capsys):
    # wave 2's emulators leave about a third of the box (test above): 200 draws pass
    # about 70 vectors, fewer than a wave of 150
    waves, _, _ = _study(toy, tmp_path / "hm", waves=2, wave_size=150, max_draws=200)
    n = len(waves[1].vectors)
    assert 0 < n < 150 and waves[1].info["draws"] == 200
    err = capsys.readouterr().err
    assert f"warning: wave 2: {n} of --wave-size 150 vectors within --max-draws 200" in err
    assert "warning: wave 1" not in err  # a design wave keeps every draw


def test_a_study_is_the_same_with_any_jobs_and_after_an_interruption(toy, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    wa, ra, _ = _study(toy, a, jobs=1)
    _study(toy, b, jobs=2, waves=2)
    # interrupt wave 3 midway: its vectors are drawn, part of its runs lost
    _study(toy, b, jobs=2, waves=3, wave_size=60)
    lost = sorted((b / "runs").iterdir())[:20]
    mtimes = {p.name: p.stat().st_mtime_ns for p in (b / "runs").iterdir() if p not in lost}
    for p in lost:
        p.unlink()
    wb, rb, _ = _study(toy, b, jobs=2)
    assert [w.vectors for w in wa] == [w.vectors for w in wb]
    pd.testing.assert_frame_equal(history_match.kept_frame(wa, ra), history_match.kept_frame(wb, rb))
    assert len(list((b / "runs").iterdir())) == 180
    assert all(p.stat().st_mtime_ns == mtimes[p.name] for p in (b / "runs").iterdir()
               if p.name in mtimes)  # stored runs are not run again


def test_runs_from_train_but_never_enter_the_kept_set(toy, tmp_path):
    first, _, _ = _study(toy, tmp_path / "first", waves=2)
    waves, runs, _ = _study(toy, tmp_path / "second", waves=1, runs_from=[tmp_path / "first"])
    assert waves[0].emulators and waves[0].info["training_runs"] == 120  # emulated at once
    # (a vector both studies drew, from the same seeded stream, is read once, as its own)
    assert sum(runs.own) == 60 and 120 <= len(runs.values) <= 180
    frame = history_match.kept_frame(waves, runs)
    assert len(frame) == 60 and set(frame["wave"]) == {1}


def test_runs_of_another_configuration_or_code_are_not_read(toy, tmp_path):
    _study(toy, tmp_path / "a", waves=1)
    from dataclasses import replace

    other = replace(toy, weeks=11)
    runs, _ = history_match.load_runs([tmp_path / "a"], tmp_path / "b", [posterior.study_code()],
                                      posterior.config_digest(other))
    assert not runs.values
    runs, _ = history_match.load_runs([tmp_path / "a"], tmp_path / "b", ["0" * 64],
                                      posterior.config_digest(toy))
    assert not runs.values
    runs, _ = history_match.load_runs([tmp_path / "a"], tmp_path / "b", [posterior.study_code()],
                                      posterior.config_digest(toy))
    assert len(runs.values) == 60


def test_one_process_per_study_folder(tmp_path):
    from sim.errors import ConfigError

    with history_match.StudyLock(tmp_path), pytest.raises(ConfigError, match="another process"):
        with history_match.StudyLock(tmp_path):
            pass
    with history_match.StudyLock(tmp_path):  # released
        pass


# ---------------------------------------------------------------- the command

_sim = run_sim  # its default timeout, 900 s


@pytest.mark.parametrize(("args", "needle"), [
    (["--wave-size", "0"], "--wave-size=0: must be >= 1"),
    (["--cutoff", "-1"], "--cutoff=-1.0: must be > 0"),
    (["--runs-from", "/nonexistent"], "--runs-from=/nonexistent: no runs/ folder"),
    (["hiring.thresold=1"], "hiring.thresold=1"),
])
def test_bad_options_fail_with_one_line_and_write_nothing(args, needle, tmp_path):
    r = _sim("history-match", "--out", str(tmp_path / "h"), *args)
    assert r.returncode == 2 and needle in r.stderr and r.stderr.startswith("error:"), r.stderr
    assert not (tmp_path / "h").exists()


@pytest.mark.slow
def test_the_command_runs_resumes_and_reports_on_a_tiny_market(tmp_path):
    out = tmp_path / "h"
    base = ["history-match", "--n-workers", "600", "--weeks", "30", "--wave-size", "30",
            "--jobs", "2", "--out", str(out), "burn_in=10", "funnel.enabled=true",
            "recall.enabled=true"]
    r = _sim(*base, "--waves", "2")
    assert r.returncode == 0, r.stderr
    assert "| 2 | 30 |" in (out / "report.md").read_text()
    stored = {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}
    assert len(stored) == 60
    for p in (out / "runs").iterdir():  # every run stored with the code and configuration
        s = json.loads(p.read_text())
        assert s["code"] == posterior.study_code() and len(s["config"]) == 64
    r = _sim(*base, "--waves", "3")
    assert r.returncode == 0, r.stderr
    assert all((out / "runs" / n).stat().st_mtime_ns == t for n, t in stored.items())
    assert len(list((out / "runs").iterdir())) == 90
    assert pd.read_csv(out / "kept.csv").columns[0] == "wave"
    runs = pd.read_csv(out / "wave_runs.csv")
    assert len(runs) == 90 and runs["wave"].tolist() == [1] * 30 + [2] * 30 + [3] * 30
    status = _sim(*base, "--status")
    assert status.returncode == 0, status.stderr
    table = [line for line in (out / "report.md").read_text().splitlines() if line.startswith("| 3 |")]
    assert len(table) == 1 and table[0] in status.stdout.splitlines()


@needs_slurm
def test_the_study_as_a_slurm_job_is_the_local_one(tmp_path):
    """The documented `sbatch -c N --wrap "python -m sim history-match ..."`: the waves and
    runs a Slurm job computes are those the same command computes on the local cores."""
    base = ["history-match", "--n-workers", "600", "--weeks", "30", "--wave-size", "30",
            "--waves", "3", "--jobs", "2", "burn_in=10", "funnel.enabled=true",
            "recall.enabled=true"]
    r = _sim(*base, "--out", str(tmp_path / "local"))
    assert r.returncode == 0, r.stderr
    sim_as_slurm_job([*base, "--out", str(tmp_path / "slurm")], tmp_path)
    for k in (1, 2, 3):
        local = json.loads((tmp_path / "local" / "waves" / f"wave-{k}.json").read_text())
        slurm = json.loads((tmp_path / "slurm" / "waves" / f"wave-{k}.json").read_text())
        assert local == slurm
    assert sorted(p.read_text() for p in (tmp_path / "local" / "runs").iterdir()) == \
        sorted(p.read_text() for p in (tmp_path / "slurm" / "runs").iterdir())
    assert (tmp_path / "local" / "kept.csv").read_text() == (tmp_path / "slurm" / "kept.csv").read_text()

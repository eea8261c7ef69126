"""The posterior study (ABC-SMC): its distance against known answers, the lions - everyone
gap measure, and the command end to end on a tiny market (slow)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.studies import calibrate, posterior, validate
from sim.studies.validate import FACT_BY_ID
from tests.conftest import needs_slurm, run_sim, sim_as_slurm_job


def _mid() -> dict[str, float]:
    out = {FACT_BY_ID[f].key: (FACT_BY_ID[f].lo + FACT_BY_ID[f].hi) / 2 for f in calibrate.RANGE_FACTS}
    for fid, bound, _ in calibrate.ONE_SIDED:
        out[FACT_BY_ID[fid].key] = bound + 1.0
    return out


def test_distance_is_the_largest_deviation_in_units_of_tolerance():
    m = _mid()
    assert posterior.distance(m) == 0.0
    f = FACT_BY_ID["contact_share"]
    m[f.key] = f.hi  # at the edge of its range: 1
    assert posterior.distance(m) == pytest.approx(1.0)
    g = FACT_BY_ID["vacancy_duration"]
    m[g.key] = g.hi + (g.hi - g.lo)  # 3 half-widths from the middle
    assert posterior.distance(m) == pytest.approx(3.0)
    assert posterior.fact_terms(m)["contact_share"] == pytest.approx(1.0)


def test_distance_is_infinite_for_a_missing_measure_and_one_sided_terms_are_graded():
    m = _mid()
    m[FACT_BY_ID["referral_offer_ratio"].key] = math.nan
    assert posterior.distance(m) == math.inf
    fid, bound, scale = calibrate.ONE_SIDED[0]
    key = FACT_BY_ID[fid].key
    # 0 at and above the calibration's bound, 1 at the fact's own, 2 one scale below it
    for value, term in ((bound, 0.0), (bound - scale / 2, 0.5), (bound - scale, 1.0),
                        (bound - 2 * scale, 2.0)):
        m = _mid()
        m[key] = value
        assert posterior.fact_terms(m)[fid] == pytest.approx(term)


def test_a_fact_term_is_at_most_one_exactly_when_the_fact_holds_in_the_run():
    """epsilon <= 1 means what validate means by a fact passing (a run's value as its
    mean and interval), for every fitted fact, just inside and just outside each bound."""
    fitted = (*calibrate.RANGE_FACTS, *(fid for fid, _, _ in calibrate.ONE_SIDED))
    checked = 0
    for fid in fitted:
        f = FACT_BY_ID[fid]
        for edge in (b for b in (f.lo, f.hi) if b is not None):
            for step in (-1e-6, 1e-6):
                value = edge + step * max(1.0, abs(edge))
                m = _mid()
                m[f.key] = value
                assert (posterior.fact_terms(m)[fid] <= 1) == f.passes(value, value, value), \
                    (fid, value)
                checked += 1
    assert checked == 4 * len(calibrate.RANGE_FACTS) + 2 * len(calibrate.ONE_SIDED)


def test_run_seed_depends_only_on_the_vector_and_the_study_seed():
    v = {"a.b": 0.1, "c.d": 2.0}
    assert posterior.run_seed(v, 0) == posterior.run_seed(dict(reversed(v.items())), 0)
    assert posterior.run_seed(v, 0) != posterior.run_seed(v, 1)
    assert posterior.run_seed(v, 0) != posterior.run_seed({**v, "a.b": 0.10001}, 0)


def test_weighted_quantiles_against_repeated_values():
    # weights 1 and 3 equal a sample with the second value repeated three times
    x, w = np.array([0.0, 10.0]), np.array([1.0, 3.0])
    assert posterior.weighted_quantiles(x, w, [0.5])[0] == pytest.approx(
        posterior.weighted_quantiles(np.array([0.0, 10.0, 10.0, 10.0]), np.ones(4), [0.5])[0])
    assert posterior.weighted_quantiles(x, w, [0.05, 0.95]) == [0.0, 10.0]


def test_percent_reads_0_or_100_only_when_exact():
    assert posterior.percent(1299 / 1300) == "99.9%"
    assert posterior.percent(1 / 3000) == "0.03%"
    assert posterior.percent(1.0) == "100%" and posterior.percent(0.0) == "0%"
    assert posterior.percent(0.42) == "42%" and posterior.percent(float("nan")) == "-"


def test_strategy_gap_is_lions_minus_everyone():
    # lions all re-employed in 2 weeks, everyone in 10: RMST(52) gap -8, S4 gap +1
    sp = pd.DataFrame({"duration_weeks": [2] * 5 + [10] * 5, "censored": [False] * 10,
                       "strategy": ["lions"] * 5 + ["everyone"] * 5})
    g = validate.strategy_gap(sp)
    assert g["gap_rmst52"] == pytest.approx(2 - 10)
    assert g["gap_s4"] == pytest.approx(1.0)
    assert math.isnan(validate.strategy_gap(sp[sp["strategy"] == "lions"])["gap_s4"])


def test_sign_drivers_finds_the_parameter_that_sets_the_gap():
    rng = np.random.default_rng(0)
    n = 200
    post = pd.DataFrame({p.key: rng.uniform(p.low, p.high, n) for p in calibrate.FREE})
    key = calibrate.FREE[2].key
    post["gap_rmst52"] = post[key] - post[key].median()
    post["weight"] = 1.0 / n
    d = posterior.sign_drivers(post)
    assert d.iloc[0]["parameter"] == key and d.iloc[0]["rank_corr_with_gap"] == pytest.approx(1.0)


def _sim(*args):
    return run_sim(*args, timeout=600)


@pytest.mark.parametrize(("args", "needle"), [
    (["--population", "0"], "--population=0: must be >= 1"),
    (["--epsilon", "0"], "--epsilon=0.0: must be > 0"),
    (["hiring.thresold=1"], "hiring.thresold=1"),
])
def test_posterior_bad_options_fail_with_one_line(args, needle, tmp_path):
    r = _sim("posterior", "--out", str(tmp_path / "p"), *args)
    assert r.returncode == 2 and needle in r.stderr and r.stderr.startswith("error:")
    assert not (tmp_path / "p").exists()


@pytest.mark.slow
def test_posterior_command_runs_and_resumes(tmp_path):
    out = tmp_path / "post"
    args = ["posterior", "--n-workers", "300", "--weeks", "40", "--jobs", "1", "--population", "4",
            "--out", str(out), "burn_in=10", "funnel.enabled=true", "recall.enabled=true"]
    r = _sim(*args, "--generations", "1")
    assert r.returncode == 0, r.stderr
    post = pd.read_csv(out / "posterior.csv", float_precision="round_trip")
    assert len(post) == 4 and post["weight"].sum() == pytest.approx(1.0)
    assert {p.key for p in calibrate.FREE} <= set(post.columns)
    assert {"gap_rmst52", "gap_s4", "distance", "seed"} <= set(post.columns)
    for p in calibrate.FREE:  # every vector inside the prior's support
        assert post[p.key].between(p.low, p.high).all()
    # each particle is a reproducible run: its seed is the hash of its vector
    row = post.iloc[0]
    vec = {p.key: float(row[p.key]) for p in calibrate.FREE}
    assert int(row["seed"]) == posterior.run_seed(vec, 0)
    # the same command with one more generation continues the stored study
    r = _sim(*args, "--generations", "2")
    assert r.returncode == 0, r.stderr
    text = (out / "report.md").read_text()
    assert "| 1 |" in text and "| 0 |" in text
    assert (out / "posterior.png").stat().st_size > 0 and (out / "posterior.pdf").exists()
    # the gaps' weighted means as shown: weeks, and the 4-week share in points
    post = pd.read_csv(out / "posterior.csv", float_precision="round_trip")
    for label, col, factor in (("RMST(52), weeks", "gap_rmst52", 1),
                               ("re-employed within 4 weeks, points", "gap_s4", 100)):
        row = next(line for line in text.splitlines() if line.startswith(f"| {label}"))
        shown = float(row.split("|")[2])
        x, w = post[col].to_numpy(float), post["weight"].to_numpy(float)
        ok = np.isfinite(x)
        assert shown == pytest.approx(factor * np.average(x[ok], weights=w[ok]), abs=1e-3)
    # --status reads the study without running or writing anything
    files = {q: q.stat().st_mtime_ns for q in out.rglob("*")}
    r = _sim(*args, "--generations", "5", "--status")
    assert r.returncode == 0, r.stderr
    assert "| 1 |" in r.stdout and "| 2 |" not in r.stdout and "Runs stored in" in r.stdout
    assert {q: q.stat().st_mtime_ns for q in out.rglob("*")} == files
    r = _sim("posterior", "--status", "--out", str(out / "nothing"))
    assert r.returncode == 2 and "no study there" in r.stderr


@pytest.mark.slow
def test_posterior_is_the_same_with_any_jobs_and_after_an_interruption(tmp_path):
    """Evaluation i of a generation proposes the same vector in any process, so the study
    does not depend on --jobs or on where it was cut; a redone generation reads its runs
    back from runs/ instead of simulating them."""
    base = ["posterior", "--n-workers", "300", "--weeks", "30", "--population", "4",
            "burn_in=10", "funnel.enabled=true", "recall.enabled=true"]
    a, b = tmp_path / "a", tmp_path / "b"
    r = _sim(*base, "--jobs", "1", "--generations", "2", "--out", str(a))
    assert r.returncode == 0, r.stderr
    # two processes, and the study cut after its first generation, then continued
    r = _sim(*base, "--jobs", "2", "--generations", "1", "--out", str(b))
    assert r.returncode == 0, r.stderr
    runs_after_one = set((b / "runs").iterdir())
    r = _sim(*base, "--jobs", "2", "--generations", "2", "--out", str(b))
    assert r.returncode == 0, r.stderr
    pa = pd.read_csv(a / "posterior.csv", float_precision="round_trip")
    pb = pd.read_csv(b / "posterior.csv", float_precision="round_trip")
    pd.testing.assert_frame_equal(pa, pb)
    # two processes may run a few vectors beyond the last kept one (started before it was
    # accepted), never fewer
    assert {p.name for p in (a / "runs").iterdir()} <= {p.name for p in (b / "runs").iterdir()}
    # a generation lost with its process is redone from the stored runs: delete generation
    # 1 from the history (as if the job had died before storing it) and continue
    import sqlite3

    with sqlite3.connect(b / "abc.db") as db:
        stored = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (b / "runs").iterdir()}
        n_runs = len(stored)
        t1 = db.execute("select id from populations where t = 1").fetchone()[0]
        models = "select id from models where population_id = ?"
        particles = f"select id from particles where model_id in ({models})"
        samples = f"select id from samples where particle_id in ({particles})"
        for table, ids in (("summary_statistics", f"sample_id in ({samples})"),
                           ("samples", f"particle_id in ({particles})"),
                           ("parameters", f"particle_id in ({particles})"),
                           ("particles", f"model_id in ({models})"),
                           ("models", "population_id = ?"), ("populations", "id = ?")):
            db.execute(f"delete from {table} where {ids}", (t1,))
    assert len(runs_after_one) < n_runs
    r = _sim(*base, "--jobs", "2", "--generations", "2", "--out", str(b))
    assert r.returncode == 0, r.stderr
    pd.testing.assert_frame_equal(pa, pd.read_csv(b / "posterior.csv", float_precision="round_trip"))
    # nothing simulated again: every stored run is read back, not rewritten (two processes
    # may again start a vector or two beyond the last kept one, as above, which adds files)
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (b / "runs").iterdir()}
    assert {name: after.get(name) for name in stored} == stored


@needs_slurm
def test_posterior_as_a_slurm_job_gives_the_local_study(tmp_path):
    """The documented `sbatch -c N --wrap "python -m sim posterior ..."`: the study a Slurm
    job computes is the one the same command computes on the local cores."""
    base = ["posterior", "--n-workers", "300", "--weeks", "30", "--population", "4",
            "--generations", "2", "--jobs", "2", "burn_in=10", "funnel.enabled=true",
            "recall.enabled=true"]
    r = _sim(*base, "--out", str(tmp_path / "local"))
    assert r.returncode == 0, r.stderr
    sim_as_slurm_job([*base, "--out", str(tmp_path / "slurm")], tmp_path)
    local = pd.read_csv(tmp_path / "local" / "posterior.csv", float_precision="round_trip")
    slurm = pd.read_csv(tmp_path / "slurm" / "posterior.csv", float_precision="round_trip")
    pd.testing.assert_frame_equal(local, slurm)


@pytest.mark.slow
def test_posterior_refuses_to_continue_a_study_of_other_code_unless_told(tmp_path):
    out = tmp_path / "p"
    args = ["posterior", "--n-workers", "300", "--weeks", "30", "--population", "4", "--jobs",
            "1", "--out", str(out), "burn_in=10", "funnel.enabled=true", "recall.enabled=true"]
    r = _sim(*args, "--generations", "1")
    assert r.returncode == 0, r.stderr
    stamp = out / "model_code.txt"
    (code,) = stamp.read_text().split()
    stamp.write_text("0" * 64 + "\n")  # as if the study had begun with other code
    before = sorted(q.name for q in out.rglob("*"))
    r = _sim(*args, "--generations", "2")
    # (the lines before it are the tiny market's warnings)
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert r.returncode == 2 and r.stderr.splitlines()[-1] == errors[0], r.stderr
    assert len(errors) == 1 and "the model's or the facts' code" in errors[0]
    assert sorted(q.name for q in out.rglob("*")) == before  # nothing written
    r = _sim(*args, "--generations", "2", "--accept-code-change")
    assert r.returncode == 0, r.stderr
    assert stamp.read_text().split() == ["0" * 64, code]
    assert f"{'0' * 12}, {code[:12]}" in (out / "report.md").read_text()
    assert "| 1 |" in (out / "report.md").read_text()


def test_prior_box_reads_a_narrower_box_and_rejects_a_bad_one(tmp_path):
    import yaml

    from sim.errors import ConfigError

    box = {p.key: [p.low, p.high] for p in calibrate.FREE}
    key = calibrate.FREE[0].key
    lo, hi = box[key]
    box[key] = [lo, (lo + hi) / 2]
    f = tmp_path / "box.yaml"
    f.write_text(yaml.safe_dump(box))
    assert posterior.prior_box(f)[key] == (lo, (lo + hi) / 2)
    box[key] = [lo, hi * 2]  # outside the calibration's range
    f.write_text(yaml.safe_dump(box))
    with pytest.raises(ConfigError, match=f"--prior-box={f}: {key}="):
        posterior.prior_box(f)
    del box[key]
    f.write_text(yaml.safe_dump(box))
    with pytest.raises(ConfigError, match="missing"):
        posterior.prior_box(f)


def test_prior_samples_log_scaled_parameters_as_their_log10():
    """Flat in the sampled space: a log-scaled parameter is uniform on the log10 of its
    range (so its value is log-uniform), the others uniform on their range."""
    d = posterior.prior()
    for p in calibrate.FREE:
        lo, hi = d[posterior._name(p)].distribution.support()
        want = (math.log10(p.low), math.log10(p.high)) if p.log else (p.low, p.high)
        assert (lo, hi) == pytest.approx(want), p.key
        assert posterior._name(p).startswith("log10__") == p.log
    p = next(q for q in calibrate.FREE if q.log)
    assert posterior._natural(p, math.log10(p.low)) == pytest.approx(p.low)


def test_effective_sample_size_and_the_degeneracy_warning():
    assert posterior.effective_sample_size(np.full(50, 0.3)) == pytest.approx(50)
    w = np.r_[0.7, np.full(99, 0.3 / 99)]  # one particle with 70 % of the weight
    ess = posterior.effective_sample_size(w)
    assert ess == pytest.approx(1 / (0.7 ** 2 + 99 * (0.3 / 99) ** 2))
    assert ess < 2.1
    warning = "\n".join(posterior._degenerate(ess, 100))
    assert "**Degenerate weights:**" in warning and "is 2 of its 100" in warning
    assert posterior._degenerate(posterior.DEGENERATE * 100, 100) == []
    assert posterior._degenerate(posterior.DEGENERATE * 100 - 0.5, 100) != []

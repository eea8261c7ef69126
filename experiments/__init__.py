"""Named experiments E1-E5 and E7, answering the research questions of docs/RESEARCH.md section 2
(E7: the phase diagram of issue 11; E6 is the global sensitivity study, not a sweep).

Each is a Hydra sweep file ``configs/experiment/<config>.yaml`` (the full-size
sweep), a document ``experiments/<doc>`` (question, sweep, figures, how to read
them, time at full size) and an entry of :data:`EXPERIMENTS` (smoke-size
overrides and the experiment's own figure). ``python -m sim experiment e1`` runs
the sweep, collects it, makes the figures and the report
(:mod:`experiments.launch`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

#: Overrides of every smoke run: a tiny population and horizon (a few seconds per experiment).
SMOKE = ("n_workers=300", "weeks=30", "burn_in=10", "output.progress=off")


@dataclass(frozen=True)
class Experiment:
    """A named experiment.

    Attributes:
        key: short name on the command line (``e1``).
        config: the sweep file's name (``configs/experiment/<config>.yaml``).
        title: one-line title.
        question: the research question it answers.
        doc: its document in ``experiments/``.
        smoke: overrides (besides :data:`SMOKE`) that shrink the sweep for ``--smoke``.
        figures: name of its figure function in :mod:`experiments.plots`.
        captions: caption of each of its own figures, by file stem.
    """

    key: str
    config: str
    title: str
    question: str
    doc: str
    smoke: tuple[str, ...]
    figures: str
    captions: dict[str, str] = field(default_factory=dict)

    def intro(self) -> str:
        """A paragraph for the report: the question and where the design is described."""
        return f"{self.key.upper()}: {self.question} Design and reading: experiments/{self.doc}."

    def report_texts(self) -> dict[str, object]:
        """What the report of this experiment's sweep adds: keyword arguments of
        :func:`analysis.report.write_report` (``title``, ``intro``, ``captions`` of its
        own figures, and those figures shown ``first``)."""
        return {"title": self.title, "intro": self.intro(), "captions": self.captions,
                "first": tuple(self.captions)}

    def make_figures(self, data, out: Path, size: str = "one") -> list[Path]:
        """The experiment's own figures (may raise :class:`analysis.figures.Skip`)."""
        # here, not at the top: matplotlib is needed only to draw; the registry is read without it
        from experiments import plots

        fn: Callable = getattr(plots, self.figures)
        return fn(data, out, size)


EXPERIMENTS: dict[str, Experiment] = {e.key: e for e in (
    Experiment(
        "e1", "e1_strategies", "E1: networking strategies in homogeneous populations",
        "Which strategy (connect with everyone, cultivate lions, broadcast the search, or "
        "nothing) re-employs a job seeker soonest when everyone follows it?",
        "E1_strategies.md", ("seed=range(0,2)",), "e1_figures",
        {"e1_difference_vs_everyone":
         "Each strategy minus everyone: difference in RMST (weeks; negative = re-employed "
         "sooner) and in the share re-employed within 4 weeks (percentage points), paired by "
         "seed, with 95% t intervals across seeds."}),
    Experiment(
        "e2", "e2_adoption", "E2: does the lions advantage survive adoption?",
        "Private vs social returns: does cultivating lions still pay when a large share of "
        "the population does it (lions have limited attention)?",
        "E2_adoption.md", ("strategy.shares.lions=0.25,0.75", "seed=range(0,2)"), "e2_figures",
        {"e2_lions_minus_everyone_vs_share":
         "Lions minus everyone within the same mixed population (RMST in weeks, share "
         "re-employed within 4 weeks in percentage points) against the share of lions, with "
         "95% t intervals across seeds. Below 0 (RMST): lions re-employed sooner."}),
    Experiment(
        "e3", "e3_sensitivity", "E3: sensitivity to the market and to networking conditions",
        "How does the comparison of lions and everyone depend on labour demand (recession vs "
        "boom), the networking time budget, how fast untended ties decay and the size of a "
        "local labour market?",
        "E3_sensitivity.md",
        ("market.vacancy_rate=0.02,0.06", "networking.time_budget=2.0,10.0",
         "ties.decay.colleague=0.01", "market.market_size=100,300", "seed=0"), "e3_figures",
        {"e3_main_effects":
         "Main effect of each factor on lions minus everyone (RMST, weeks): the paired "
         "difference averaged over the other factors' levels, with 95% t intervals across "
         "seeds."}),
    Experiment(
        "e4", "e4_preparedness", "E4: preparedness, networking while employed",
        "Does networking while still employed shorten the spell after a later job loss?",
        "E4_preparedness.md", ("networking.employed_share=0.0,1.0", "seed=range(0,2)"),
        "e4_figures",
        {"e4_preparedness_gain":
         "Change in RMST (weeks) and in the share re-employed within 4 weeks (percentage "
         "points) against the share of networking time kept while employed, relative to the "
         "lowest share, same strategy and seed, with 95% t intervals across seeds."}),
    Experiment(
        "e5", "e5_mechanisms", "E5: mechanisms, information vs endorsement, and asking",
        "Through which mechanism do contacts shorten unemployment: information (a lead to an "
        "opening) or endorsement (a recommendation that is more precise and trusted)? And "
        "how much of what lions gain comes from asking their lions for help?",
        "E5_mechanisms.md", ("seed=0",), "e5_figures",
        {"e5_mechanisms":
         "Top: RMST by strategy under each mechanism switch (full model; referrals without "
         "precision; without trust; without either = information only; no network channel at "
         "all), lions with and without asking their lions for help (hatched). Bottom: lions "
         "minus everyone under each switch, with and without asking, paired by seed; bars "
         "with 95% t intervals across seeds."}),
    Experiment(
        "e7", "e7_phase", "E7: phase diagram, who wins by tightness and competition",
        "In a market where lions and everyone compete side by side, when does choosing lions "
        "re-employ a job seeker sooner: how does the private return of lions depend on market "
        "tightness (vacancies per searcher) and competition (applications per vacancy)?",
        "E7_phase.md", ("market.vacancy_rate=0.02,0.06", "funnel.applications=0.5,4.0",
                        "seed=range(0,2)"), "e7_figures",
        {"e7_phase":
         "Lions minus everyone in the same mixed market (RMST in weeks; share re-employed "
         "within 4 weeks in percentage points), paired by seed, one point per design cell at "
         "its measured tightness and competition (means over seeds). Dashed: the sign "
         "boundary (0 contour of a linear interpolation over the cells); black ring: the "
         "cell's 95% paired t interval across seeds excludes 0."}),
)}


def get(name: str) -> Experiment:
    """The experiment named ``name`` (``e1`` or its config name ``e1_strategies``).

    Raises:
        KeyError: unknown name (the message lists the experiments).
    """
    name = name.lower()
    for e in EXPERIMENTS.values():
        if name in (e.key, e.config):
            return e
    raise KeyError(f"unknown experiment '{name}'; experiments: {', '.join(EXPERIMENTS)}")


def for_sweep(config: str | None) -> Experiment | None:
    """The experiment whose sweep file is ``config`` (from ``+experiment=...``), if any."""
    if not config:
        return None
    return next((e for e in EXPERIMENTS.values() if e.config == config), None)


def report_texts(config: str | None) -> dict[str, object]:
    """The report's texts for a sweep run with ``+experiment=<config>``
    (:meth:`Experiment.report_texts`; empty if ``config`` is None or not an experiment's).

    Args:
        config: the sweep file's name, as in ``multirun.yaml`` (or None).

    Returns:
        Keyword arguments of :func:`analysis.report.write_report`.
    """
    exp = for_sweep(config)
    return exp.report_texts() if exp else {}

"""The output contract: what a run folder and a collected dataset hold, by name.

The model core writes these names and ``analysis`` reads them; both import them
from here, so a renamed column or channel is renamed in one place. The README's
"Outputs" section documents the same contract for users (``tests/test_docs.py``
keeps the lists there equal to the ones here).
"""

from __future__ import annotations

import numpy as np

# ------------------------------------------------------------------------- file names
#: written last: its presence marks a run complete (it lists the other files' digests)
SUMMARY = "summary.json"
SPELLS = "spells.parquet"
TIMESERIES = "timeseries.parquet"
TIES = "ties.parquet"  # only with output.ties=true
#: written in a run folder by a sweep task whose run failed
ERROR = "error.json"
#: a lease is ``lease.<n>.json``: the process computing the run (sim.results.leases)
LEASE_PREFIX = "lease."
LEASE_SUFFIX = ".json"
#: a sweep's collected dataset: ``<sweep>/collected/{spells,runs}.parquet`` + ``summary.json``
COLLECTED = "collected"
RUNS = "runs.parquet"

# -------------------------------------------------------------------------- categories
#: kinds of ties, in code order (``tie_kind`` / ``kind`` categoricals)
TIE_KINDS = ("colleague", "supervisor", "acquaintance", "online")
#: how a spell ended in a hire, in code order (``channel`` categorical); ``recall`` is a
#: hire back by the last employer that the employer decides (``recall.*``, off by default)
CHANNELS = ("formal", "lead", "referral", "recall")
#: why a spell began, in code order (``cause`` categorical): an idiosyncratic separation,
#: or a mass layoff of the worker's firm
CAUSES = ("separation", "layoff")

# -------------------------------------------------------------------- spells.parquet
#: the model's spell buffer: column -> (dtype while recorded, meaning)
SPELL_RECORD = {
    "worker_id": (np.int32, "the worker"),
    "strategy": (np.int8, "the worker's strategy (categorical in the file)"),
    "start_week": (np.int32, "week the search began (negative: began in the burn-in)"),
    "end_week": (np.int32, "week of the hire (null if censored)"),
    "channel": (np.int8, "formal, lead, referral or recall (null if censored)"),
    "helper_id": (np.int32, "the contact who passed the lead or referred (null otherwise)"),
    "tie_kind": (np.int8, "kind of the tie that carried a network hire"),
    "tie_strength": (np.float32, "its strength at the hire"),
    "tie_common_neighbors": (np.int32, "its common neighbours at the hire"),
    "left_truncated": (np.bool_, "the spell began before week 0"),
    "ability": (np.float32, "the worker's latent ability"),
    "sector": (np.int16, "the worker's sector (labour market)"),
    "degree_at_start": (np.int32, "ties at least ties.degree_min_strength strong when the spell "
                        "began (weaker ties in memory do not count)"),
    "last_employer": (np.int32, "firm the worker was separated from when the spell began (null "
                      "if none: unemployed at the start, or jobs=exogenous)"),
    "hired_by": (np.int32, "firm of the hire that ended the spell (null if censored or "
                 "jobs=exogenous)"),
    "cause": (np.int8, "separation or layoff (a mass layoff of the firm); null for the spells "
              "of the workers unemployed at the start"),
    "contacts_employed_share_at_start": (np.float32, "share of the worker's contacts who were "
                                         "employed in the week the spell began, after that "
                                         "week's separations (null: no contacts)"),
    "closed": (np.bool_, "internal: the spell ended in a hire (written as censored = not closed)"),
}
#: columns of a run's ``spells.parquet``, in file order; any other column of a
#: collected dataset (besides ``run_id``) is a swept parameter
SPELL_COLUMNS = (
    "worker_id", "strategy", "start_week", "end_week", "duration_weeks", "censored", "channel",
    "helper_id", "tie_kind", "tie_strength", "tie_common_neighbors", "left_truncated", "ability",
    "sector", "degree_at_start", "last_employer", "hired_by", "cause",
    "contacts_employed_share_at_start",
)

# --------------------------------------------------------------- timeseries.parquet
#: channels of the hiring funnel's counts (a recall is decided by the employer: no
#: application; recalls are counted in ``hires_recall`` and ``vacancies_filled``)
FUNNEL_CHANNELS = CHANNELS[:3]
#: the hiring funnel, weekly (``market.jobs=vacancies``; 0 with ``jobs=exogenous``): by
#: channel, applications received by firms, applicants shortlisted (with the funnel: at a
#: screening, each application counted once; without: the applicants a firm ranks, one per
#: firm and worker at or above ``hiring.threshold``) and offers made (accepted offers are the
#: ``hires_<channel>``); vacancies filled (any channel, recall included) and the sum of their
#: ages at filling in weeks (week filled - week opened); with on-the-job search
#: (``funnel.employed_applications``), the formal applications sent by employed workers
#: (included in ``applications_formal``) and their job-to-job moves (hires of employed
#: applicants, counted in ``vacancies_filled`` but in no ``hires_<channel>``: no spell ends)
FUNNEL_SERIES = (*(f"{stage}_{c}" for stage in ("applications", "shortlisted", "offers")
                   for c in FUNNEL_CHANNELS), "vacancies_filled", "vacancy_weeks_filled",
                 "applications_employed", "job_to_job")
#: market-wide weekly columns (besides ``week``); per strategy ``s`` also
#: ``unemployment_rate_<s>`` and ``mean_degree_<s>``. ``n_searching``: workers searching in
#: the week's hiring step (unemployed since an earlier week)
SERIES_COLUMNS = ("n_unemployed", "unemployment_rate", "n_vacancies", "vacancy_rate",
                  "separations", "layoffs", "hires", *(f"hires_{c}" for c in CHANNELS),
                  "n_ties", "mean_degree", "n_searching", *FUNNEL_SERIES)
SERIES_PER_STRATEGY = ("unemployment_rate", "mean_degree")

# ----------------------------------------------------------------------- ties.parquet
TIE_COLUMNS = ("a", "b", "kind", "strength", "knows_a", "knows_b", "common_neighbors",
               "age_weeks")

"""Exact-seed regression baseline: any change in the model's results is deliberate.

When a change of the model is intended, regenerate the baseline with
``SIM_UPDATE_BASELINE=1 python -m pytest tests/test_regression.py`` and say why
in the commit message.

Two families of cases: at the current defaults (``mixed4``, ``calvo_jackson_like``), and
the model before the flip of the defaults (``*_legacy``: configs/preset/legacy.yaml, no
funnel, no recall, the hard awareness threshold, the earlier calibration), whose digests
are those the baseline held before the flip: the old results stay pinned.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pandas as pd

from sim.core.model import LabourMarket
from sim.results.metrics import headline
from tests.conftest import legacy, mix, small

BASELINE = Path(__file__).parent / "baselines" / "regression.json"
MIXED4 = {"strategy": mix(lions=0.25, everyone=0.25, passive=0.25, broadcast=0.25), "seed": 11}
# exogenous jobs: no vacancies, so neither the funnel nor recalls (build_config requires both off)
CALVO_JACKSON_LIKE = {"strategy": mix(passive=1.0), "seed": 5, "market__jobs": "exogenous",
                      "ties__evolve": False, "leads__aware_strength": 0.0}
CASES = {
    "mixed4": small(**MIXED4),
    "calvo_jackson_like": small(**CALVO_JACKSON_LIKE, funnel__enabled=False,
                                recall__enabled=False),
    "mixed4_legacy": legacy(**MIXED4),
    "calvo_jackson_like_legacy": legacy(**CALVO_JACKSON_LIKE),
}


def digest(df: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(df, index=False).values.tobytes()).hexdigest()


def observe(cfg: dict) -> dict:
    m = LabourMarket(cfg).run()
    sp, ts = m.spells_frame(), m.timeseries_frame()
    return {"spells_sha256": digest(sp), "timeseries_sha256": digest(ts), "n_spells": len(sp),
            "hires": int(ts["hires"].sum()), "metrics": headline(sp, m.strategy_names)}


def test_regression_baseline():
    got = {name: observe(cfg) for name, cfg in CASES.items()}
    if os.environ.get("SIM_UPDATE_BASELINE") == "1":
        BASELINE.write_text(json.dumps(got, indent=2, sort_keys=True) + "\n")
    want = json.loads(BASELINE.read_text())
    assert json.loads(json.dumps(got, sort_keys=True)) == want

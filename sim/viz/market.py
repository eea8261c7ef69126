"""The model the page runs: :class:`ExploreMarket`."""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np

from sim.core.model import LabourMarket
from sim.errors import ConfigError
from sim.viz.controls import page_config
from sim.viz.views import layout_sample, sample_workers

SAMPLE_SIZE = 200  # workers drawn in the network view, whatever the market size


class ExploreMarket(LabourMarket):
    """:class:`~sim.core.model.LabourMarket` built from the page's inputs, after burn-in.

    Takes :func:`~sim.viz.controls.page_config`'s inputs by name (SolaraViz passes the
    page's inputs so). Invalid input does not raise (SolaraViz's Reset would only log
    a traceback): the model is then inert, with the one-line message in
    ``config_error`` and ``running`` false. Adds ``sample`` (the workers of the
    network view) and ``layout`` (their positions).
    """

    def __init__(self, scenario: Any = None, **inputs: Any):
        """Build the market and run its burn-in.

        Args:
            scenario: what SolaraViz's Reset passes to a model whose constructor takes
                ``**kwargs`` (an empty Mesa scenario); not used: the config's seed
                decides every random stream.
            **inputs: the page's inputs (:func:`~sim.viz.controls.model_params`).
        """
        try:
            cfg = page_config(**inputs)
        except ConfigError as e:
            mesa.Model.__init__(self)
            self.config_error, self.cfg, self.week, self.running = f"error: {e}", None, 0, False
            return
        self.config_error = None
        super().__init__(cfg)
        while self.week < 0:
            # the burn-in bypasses Mesa's step counter, so Mesa's time is the recorded week
            LabourMarket.step(self)
        # the sample has its own generator: drawing it must not change the model's streams
        rng = np.random.default_rng([cfg.seed, 1])
        self.sample = sample_workers(self, SAMPLE_SIZE, rng)
        self.layout = layout_sample(self, self.sample, cfg.seed)

    def step(self) -> None:
        """One week; stops (``running`` false) at the end of the horizon."""
        if self.config_error is None and self.week < self.cfg.weeks:
            super().step()
        self.running = self.config_error is None and self.week < self.cfg.weeks

"""Interactive exploration page: ``python -m sim viz`` (Mesa SolaraViz).

The page runs the project's own model, :class:`sim.core.model.LabourMarket`, week
by week in the browser. One module per purpose:

- :mod:`sim.viz.controls`: the page's inputs, built from the registered strategies
  and their ``Params``, and their translation into a config through
  :func:`sim.core.config.build_config`, like any run (bad input: the same one-line
  error, and nothing runs);
- :mod:`sim.viz.market`: :class:`ExploreMarket`, the model built from the inputs
  with the keyword constructor SolaraViz needs; the burn-in runs at (re)build
  time, so the page opens at week 0;
- :mod:`sim.viz.views`: the data read from a running model, the four figures and
  the dashboard;
- :mod:`sim.viz.assets`: the front end's npm packages, fetched once into Solara's
  cache where its CDN cannot be reached;
- :mod:`sim.viz.app`: the page (:func:`Page`) and the command (:func:`main`).

Solara serves this package (``solara run sim.viz`` works too): :data:`routes`
makes it one page, where Solara would otherwise add a page per submodule.
``tests/test_viz.py`` tests the data and inputs without a browser and drives the
page in headless Chromium.
"""

from __future__ import annotations

import solara

from sim.viz.app import TITLE, Page, main
from sim.viz.assets import ensure_assets, web_assets
from sim.viz.controls import initial_values, model_params, page_config
from sim.viz.market import SAMPLE_SIZE, ExploreMarket
from sim.viz.views import (
                           PNG,
                           channel_counts,
                           channels_figure,
                           km_by_strategy,
                           km_figure,
                           layout_sample,
                           network_figure,
                           network_view,
                           sample_workers,
                           series_figure,
                           spell_durations,
                           status_text,
)

# what Solara serves: the one page (a package's submodules would each be a page)
routes = [solara.Route(path="/", component=Page, label=TITLE)]

__all__ = ["PNG", "SAMPLE_SIZE", "ExploreMarket", "Page", "channel_counts", "channels_figure",
           "ensure_assets", "initial_values", "km_by_strategy", "km_figure", "layout_sample",
           "main", "model_params", "network_figure", "network_view", "page_config", "routes",
           "sample_workers", "series_figure", "spell_durations", "status_text", "web_assets"]

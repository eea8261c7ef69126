"""The page (:func:`Page`, the module Solara serves) and its command, ``python -m sim viz``.

:func:`main` checks its options (raising :class:`~sim.errors.ConfigError`, which
``python -m sim`` prints as one line with exit code 2), fills the web-asset cache
(:mod:`sim.viz.assets`) and serves this module with Solara until Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import warnings

import solara
from mesa.visualization import SolaraViz
from solara.server import settings

from sim.errors import ConfigError
from sim.viz.assets import ensure_assets
from sim.viz.controls import (
    DEFAULT_N_WORKERS,
    ENV_N_WORKERS,
    MAX_N_WORKERS,
    MIX,
    initial_values,
    model_params,
    rest_strategy,
    strategy_shares,
)
from sim.viz.market import ExploreMarket
from sim.viz.views import Dashboard

TITLE = "Labour market: networking strategies"
DESCRIPTION = "serve the interactive exploration page (Mesa SolaraViz) on 127.0.0.1"
DEFAULT_PORT = 8765


@solara.component
def Page():
    """The page: Mesa's SolaraViz (controls, inputs) and the dashboard, one
    :class:`~sim.viz.market.ExploreMarket` per browser session."""
    params = solara.use_memo(model_params, [])
    first = solara.use_memo(lambda: ExploreMarket(**initial_values(params)), [])
    model = solara.use_reactive(first)  # shared with SolaraViz: its Reset sets a new model here
    SolaraViz(model, components=[], model_params=params, name=TITLE)
    Dashboard(model)


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _parser() -> argparse.ArgumentParser:
    rest = rest_strategy()
    shared = [name for name, share in strategy_shares().items() if share is not None]
    mix = (f"shares of {', '.join(shared)}" + (f"; {rest} takes the rest" if rest else "")
           + f", as in configs/strategy/{MIX}.yaml")
    parser = argparse.ArgumentParser(
        prog="python -m sim viz", description=DESCRIPTION,
        epilog=f"In the page: choose the strategy mix ({mix}) and each strategy's parameters, "
        "workers, vacancy rate, networking hours, tie decay and seed, then Reset to build the "
        "market (burn-in included) and Step or play.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to serve on (default: 127.0.0.1, this machine only; "
                        "0.0.0.0 would expose the page and its Python process to the network)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"TCP port (default: {DEFAULT_PORT})")
    parser.add_argument("--n-workers", type=int, default=DEFAULT_N_WORKERS, metavar="N",
                        help=f"workers of the first market shown (default: {DEFAULT_N_WORKERS}; "
                        f"2 to {MAX_N_WORKERS}, changeable in the page)")
    return parser


def main(argv: list[str] | None = None) -> None:
    """``python -m sim viz``: serve the page until Ctrl-C.

    Args:
        argv: the command's arguments (``--host``, ``--port``, ``--n-workers``).

    Raises:
        ConfigError: an option's value is out of range, or the address cannot be
            listened on (one line naming the option and the value).
    """
    args = _parser().parse_args(argv)
    if not 1 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port}: must be in 1..65535")
    if not 2 <= args.n_workers <= MAX_N_WORKERS:
        raise ConfigError(f"--n-workers {args.n_workers}: must be in 2..{MAX_N_WORKERS}")
    if not _port_free(args.host, args.port):
        raise ConfigError(f"--port {args.port}: cannot listen on {args.host}:{args.port} (in use, "
                          "or not an address of this machine)")
    for line in ensure_assets():
        print(f"warning: web asset {line}; the page will try the CDN instead", file=sys.stderr)
    os.environ[ENV_N_WORKERS] = str(args.n_workers)
    settings.telemetry.mixpanel_enable = False  # solara's usage reports: no calls home
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"serving the exploration page at http://{host}:{args.port}/ (Ctrl-C to stop)",
          flush=True)
    # Solara's command line (rich-click, uvicorn: 0.08 s more) only here, where the server
    # starts: neither --help, a bad option, nor Solara's server importing this module needs it
    import click
    from solara.__main__ import run

    # Solara warns on every page load over http from a host other than "localhost" that a
    # SameSite=None session cookie needs https, and falls back to SameSite=Lax. Lax is
    # right here: the page is served on this machine and not embedded in another site.
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https",
                            category=UserWarning, module="solara.server.starlette")
    try:
        # the package: its `routes` make it one page
        run.main(["sim.viz", "--host", args.host, "--port", str(args.port), "--production",
                  "--no-open", "--log-level", "warning"], prog_name="python -m sim viz",
                 standalone_mode=False)
    except (KeyboardInterrupt, click.exceptions.Abort):
        pass
    print("server stopped", flush=True)

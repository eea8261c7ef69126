"""The exploration page (the sim/viz package).

Fast tests check the data behind the views on small models (Kaplan-Meier input,
hires by channel, the network sample), the inputs (one per registered strategy
and strategy parameter) and their validation; the slow test
serves the page with ``python -m sim viz`` and drives it in headless Debian
chromium through Playwright: it loads, the plots render, Step and Play change
them, and bad input shows its one-line error.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from mesa.visualization.solara_viz import _build_model_init_kwargs, _check_model_params

from sim import viz
from sim.core import strategies
from sim.core.config import SimConfig
from sim.core.model import LabourMarket
from sim.core.params import field_help
from sim.errors import ConfigError
from sim.results.metrics import kaplan_meier
from sim.viz import controls as page_params
from tests.conftest import mix, small

CHROMIUM = "/usr/bin/chromium"
# flags that work as root on these machines (found by trial); without the
# background-networking ones chromium keeps trying to reach the outside
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def market() -> LabourMarket:
    """A small two-strategy market run to the end of its horizon."""
    return LabourMarket(small(strategy=mix(lions=0.5, everyone=0.5))).run()


# --------------------------------------------------------------------------- data


def test_km_by_strategy_at_the_horizon_matches_the_spells_output(market):
    spells = market.spells_frame()
    km = viz.km_by_strategy(market)
    assert list(km) == ["lions", "everyone"]
    for name, (t, s, n) in km.items():
        fresh = spells[(spells["strategy"] == name) & ~spells["left_truncated"]]
        t_ref, s_ref = kaplan_meier(fresh["duration_weeks"], ~fresh["censored"])
        assert n == len(fresh) > 0
        # then flat to the longest follow-up (a censored spell outlasting the last event)
        follow_up = fresh["duration_weeks"].max()
        tail = ([follow_up], [s_ref[-1]]) if follow_up > t_ref[-1] else ([], [])
        np.testing.assert_array_equal(t, np.r_[0.0, t_ref, tail[0]])
        np.testing.assert_allclose(s, np.r_[1.0, s_ref, tail[1]])


def test_km_curves_are_drawn_before_any_spell_ends():
    """After 3 weeks the spells begun since week 0 have few or no events: each strategy
    still has a curve (flat at S = 1 to its longest follow-up if no spell has ended),
    and the legend says the median is not reached yet rather than "n/a"."""
    m = viz.ExploreMarket(n_workers="2000", lions=0.5)
    for _ in range(3):
        m.step()
    km = viz.km_by_strategy(m)
    assert set(km) == {"lions", "everyone"}
    strategy, duration, observed = viz.spell_durations(m)
    for k, name in enumerate(m.strategy_names):
        if name not in km:
            continue
        t, s, n = km[name]
        assert n == (strategy == k).sum() > 0
        assert t[-1] == duration[strategy == k].max() == 2 and len(t) >= 2  # a line, not a dot
    ax = viz.km_figure(m).axes[0]
    labels = [ln.get_label() for ln in ax.lines]
    assert len(labels) == 2 and all(len(ln.get_xdata()) >= 2 for ln in ax.lines)
    assert all(re.search(r"\(\d+ spells, median (\d+ wk|> 2 wk)\)$", lab) for lab in labels), labels


def test_series_axis_in_percent_at_week_zero():
    m = viz.ExploreMarket(n_workers="300")
    ax = viz.series_figure(m).axes[0]
    assert ax.get_ylabel() == "%" and ax.get_ylim() == (0.0, 10.0)
    assert any("week 0" in t.get_text() for t in ax.texts)
    m.step()
    ax = viz.series_figure(m).axes[0]
    top = max(float(np.max(ln.get_ydata())) for ln in ax.lines)
    assert top > 1 and ax.get_ylim()[1] >= top  # percent, not shares


def test_spell_durations_mid_run_censor_open_spells_at_the_last_week():
    m = LabourMarket(small(strategy=mix(lions=0.5, passive=0.5)))
    while m.week < 12:
        m.step()
    strategy, duration, observed = viz.spell_durations(m)
    c, n = m.spells.cols, m.spells.n
    fresh = c["start_week"][:n] >= 0
    assert len(duration) == fresh.sum() > 0
    assert (duration >= 0).all()
    open_ = ~c["closed"][:n][fresh]
    np.testing.assert_array_equal(duration[open_], 11 - c["start_week"][:n][fresh][open_])
    assert observed.sum() == c["closed"][:n][fresh].sum()


def test_channel_counts_add_up_to_the_weekly_hires(market):
    counts = viz.channel_counts(market)
    total = sum(counts.values())
    series = market.series.data
    for k, ch in enumerate(("formal", "lead", "referral")):
        assert total[k] == series[f"hires_{ch}"].sum()
    assert total.sum() > 0


def test_strategies_without_workers_are_left_out():
    m = LabourMarket(small(strategy=mix(lions=1.0, everyone=0.0)))
    for _ in range(m.cfg.burn_in + 3):
        m.step()
    assert list(viz.km_by_strategy(m)) == ["lions"]
    assert list(viz.channel_counts(m)) == ["lions"]


def test_sample_and_network_view(market):
    rng = np.random.default_rng(1)
    sample = viz.sample_workers(market, 120, rng)
    assert len(sample) == len(np.unique(sample)) == 120
    view = viz.network_view(market, sample)
    inner, outer = view["inner"], view["outer_alter"]
    # every tie of a sampled worker is drawn once: inside the sample (seen from both ends) or out
    assert 2 * len(inner) + len(outer) == market.ties.degree()[sample].sum()
    assert (market.ties.find(sample[inner[:, 0]], sample[inner[:, 1]]) >= 0).all()
    assert (inner[:, 0] < inner[:, 1]).all()
    assert not np.isin(outer, sample).any()
    # ego networks: far more ties among the sample than a uniform sample would have
    assert len(inner) > len(sample) / 2
    np.testing.assert_array_equal(view["employed"], market.employed[sample])
    assert viz.layout_sample(market, sample, 0).shape == (120, 2)


def test_explore_market_is_the_same_market_after_burn_in():
    m = viz.ExploreMarket(n_workers="400", lions=0.3, seed="3")
    assert (m.week, m.time, m.running) == (0, 0, True)  # Mesa's clock counts recorded weeks
    assert len(m.sample) == viz.SAMPLE_SIZE
    ref = LabourMarket(viz.page_config(n_workers="400", lions=0.3, seed="3"))
    for _ in range(ref.cfg.burn_in + 4):
        ref.step()
    for _ in range(4):
        m.step()
    assert m.time == 4
    # drawing the sample and the layout did not touch the model's random streams
    for key, values in ref.series.data.items():
        np.testing.assert_array_equal(m.series.data[key][:4], values[:4], err_msg=key)


def test_explore_market_stops_at_the_horizon():
    m = viz.ExploreMarket(n_workers="200")
    m.week = m.cfg.weeks - 1
    m.step()
    assert (m.week, m.running) == (m.cfg.weeks, False)
    m.step()
    assert m.week == m.cfg.weeks


def test_figures_draw_at_week_zero_and_after_steps():
    m = viz.ExploreMarket(n_workers="300", passive=0.2, broadcast=0.2)
    for week in (0, 3):
        while m.week < week:
            m.step()
        for make in (viz.network_figure, viz.series_figure, viz.km_figure, viz.channels_figure):
            make(m).savefig(os.devnull, **viz.PNG)
        assert viz.status_text(m).startswith(f"week {week} of {m.cfg.weeks} ")


def test_a_page_population_below_the_market_size_is_one_market():
    """The default local labour market (market.market_size) may hold more workers than the
    page simulates: then they form one market of their own size (build_config's rule for
    any run), and the status line says how many markets there are."""
    d = SimConfig().market
    n = 300
    m = viz.ExploreMarket(n_workers=str(n))
    assert m.config_error is None
    if d.market_size is None:  # n_sectors markets, whatever n_workers is
        assert m.cfg.market.n_sectors == d.n_sectors
        assert f" in {d.n_sectors} markets of about " in viz.status_text(m)
    elif n < d.market_size:
        assert (m.cfg.market.market_size, m.cfg.market.n_sectors) == (n, 1)
        assert " in one market · " in viz.status_text(m)
    big = viz.page_config(n_workers=str(page_params.MAX_N_WORKERS))
    if d.market_size is not None and 2 * d.market_size <= page_params.MAX_N_WORKERS:
        assert big.market.market_size == d.market_size and big.market.n_sectors > 1


# --------------------------------------------------------------------------- inputs


@pytest.mark.parametrize("inputs, message", [
    ({"n_workers": "abc"}, "n_workers='abc': must be an integer"),
    ({"n_workers": "1"}, "n_workers=1: must be >= 2"),
    ({"n_workers": "50000"}, "n_workers=50000: the page allows at most 20000 workers"),
    ({"seed": "-1"}, "seed=-1: must be >= 0"),
    ({"lions": 0.7, "passive": 0.5}, "strategy.shares: given shares sum to 1.2 > 1, nothing "
                                     "left for 'everyone'"),
])
def test_bad_input_gives_the_config_error_and_an_inert_model(inputs, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        viz.page_config(**inputs)
    m = viz.ExploreMarket(**inputs)
    assert m.config_error.startswith(f"error: {message}")
    assert "\n" not in m.config_error
    assert m.running is False
    m.step()  # nothing to run
    assert m.running is False


def test_inputs_follow_the_mixed_strategy_file():
    cfg = viz.page_config(n_workers="10,000", lions=0.25, broadcast=0.25, tie_decay=2.0, seed="7")
    assert cfg.n_workers == 10_000 and cfg.seed == 7
    assert cfg.strategy.name == "mixed"
    assert cfg.strategy.shares == {"lions": 0.25, "everyone": 0.5, "passive": 0.0, "broadcast": 0.25}
    assert cfg.ties.decay.online == pytest.approx(2.0 * SimConfig().ties.decay.online)
    params = viz.model_params(n_workers=2000)
    assert viz.initial_values(params)["lions"] == 0.5  # mixed.yaml's default
    # SolaraViz passes every input to the model by name, the model to page_config
    _check_model_params(viz.ExploreMarket(n_workers="200"), params)
    assert viz.page_config(**viz.initial_values(params)) == viz.page_config()
    with pytest.raises(ConfigError, match=r"^lion=0.3: not an input of the page; inputs: "
                                          r"n_workers, lions, "):
        viz.page_config(lion=0.3)


def test_strategy_parameters_are_inputs():
    params = viz.model_params(n_workers=2000)
    lions = strategies.get_strategy("lions").Params()
    helps = field_help(type(lions))
    assert params["lions.other_sector_weight"] == {
        "type": "SliderFloat", "label": "lions: other sector weight",
        "value": lions.other_sector_weight, "min": 0.0, "max": 1.0, "step": 0.05}
    assert params["lions.ask"] == {"type": "Checkbox", "label": f"lions: {helps['ask']}",
                                   "value": lions.ask}
    # no upper bound: a text box, not a slider
    assert params["lions.focus_k"] == {"type": "InputText", "label": f"lions: {helps['focus_k']}",
                                       "value": str(lions.focus_k)}
    cfg = viz.page_config(**{"lions.focus_k": "3", "lions.ask": False})
    assert cfg.strategy.params["lions"] == {"focus_k": 3, "ask": False,
                                            "other_sector_weight": lions.other_sector_weight,
                                            "announce": lions.announce}
    m = viz.ExploreMarket(n_workers="300", **{"lions.focus_k": "3"})
    assert m.strategies[m.strategy_names.index("lions")].params.focus_k == 3
    for inputs, message in (({"lions.focus_k": "many"}, "strategy.params.lions.focus_k='many': "
                             "must be an integer"),
                            ({"lions.focus_k": "0"}, "strategy.params.lions.focus_k=0: must be >= 1"),
                            ({"tie_decay": "x"}, "tie_decay='x': must be a number >= 0")):
        with pytest.raises(ConfigError, match=re.escape(message)):
            viz.page_config(**inputs)
        assert viz.ExploreMarket(**inputs).config_error.startswith(f"error: {message}")


def test_one_control_per_registered_strategy():
    params = viz.model_params(n_workers=2000)
    rest = page_params.rest_strategy()
    assert rest == "everyone"  # null in mixed.yaml: takes the rest, no slider
    shares = [k for k, v in params.items() if v["label"].startswith("share ")]
    assert sorted([*shares, rest]) == sorted(strategies.available())
    assert f"({rest}: the rest)" in params[shares[0]]["label"]


NEW_STRATEGY = """
    from dataclasses import dataclass

    from sim.core.params import param
    from sim.core.strategies.base import Plan, Strategy


    class Cautious(Strategy):
        name = "cautious"
        uses_ties = False

        @dataclass
        class Params:
            patience: int = param(3, "weeks before asking anyone", 0, 10)
            keen: bool = param(False, "tell everyone at once")

        def plan(self, ctx):
            return Plan.nothing(ctx)


    STRATEGY = Cautious
"""


@pytest.fixture
def new_strategy(tmp_path, monkeypatch):
    """A strategy module ``cautious`` in a folder added to the strategies package."""
    (tmp_path / "cautious.py").write_text(textwrap.dedent(NEW_STRATEGY))
    monkeypatch.setattr(strategies, "__path__", [*strategies.__path__, str(tmp_path)])
    strategies.available.cache_clear()
    yield "cautious"
    strategies.available.cache_clear()
    sys.modules.pop("sim.core.strategies.cautious", None)
    if hasattr(strategies, "cautious"):  # set on the package by the import
        delattr(strategies, "cautious")


def test_a_new_strategy_module_shows_in_the_page(new_strategy):
    assert new_strategy in strategies.available()
    params = viz.model_params(n_workers=2000)
    assert params["cautious"] == {"type": "SliderFloat", "label": "share cautious", "value": 0.0,
                                  "min": 0.0, "max": 1.0, "step": 0.05}
    assert params["cautious.patience"] == {"type": "SliderInt", "label": "cautious: patience",
                                           "value": 3, "min": 0, "max": 10, "step": 1}
    assert params["cautious.keen"] == {"type": "Checkbox", "label": "cautious: tell everyone at "
                                       "once", "value": False}
    m = viz.ExploreMarket(n_workers="400", cautious=0.3, **{"cautious.patience": 7})
    assert m.config_error is None
    assert m.cfg.strategy.shares["cautious"] == 0.3
    assert m.cfg.strategy.params["cautious"] == {"patience": 7, "keen": False}
    for _ in range(3):
        m.step()
    assert "cautious" in viz.km_by_strategy(m) and "cautious" in viz.status_text(m)


def test_reset_builds_the_model_as_solaraviz_does():
    params = viz.initial_values(viz.model_params(n_workers=300)) | {"seed": "5"}
    m = viz.ExploreMarket(**params)
    # what SolaraViz's Reset button calls
    kwargs = _build_model_init_kwargs(m, params, add_scenario_when_empty=True,
                                      require_model_accepts_scenario=True)
    assert "scenario" in kwargs
    new = type(m)(**kwargs)
    assert (new.config_error, new.cfg.seed, new.cfg.n_workers) == (None, 5, 300)


def test_web_assets_are_those_the_installed_solara_asks_for():
    import solara

    root = Path(solara.__file__).parent
    text = "".join(p.read_text(errors="ignore") for p in [*(root / "server").rglob("*.py"),
                                                          *(root / "server").rglob("*.j2")])
    for spec in viz.web_assets():
        assert spec in text, f"{spec}: solara no longer asks for it; update sim/viz/assets.py"


def test_ensure_assets_needs_npm_only_for_missing_ones(tmp_path, monkeypatch):
    for spec in viz.web_assets():
        (tmp_path / spec).mkdir(parents=True)
        (tmp_path / spec / "package.json").write_text("{}")
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert viz.ensure_assets(tmp_path) == []
    (tmp_path / "requirejs@2.3.6" / "package.json").unlink()
    assert viz.ensure_assets(tmp_path) == ["requirejs@2.3.6: npm not found"]


def test_help_and_bad_options(capsys):
    with pytest.raises(SystemExit) as e:
        viz.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for option in ("--host", "--port", "--n-workers", "127.0.0.1", "everyone takes the rest"):
        assert option in " ".join(out.split()), option
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        for argv, message in ((["--port", "0"], "--port 0: must be in 1..65535"),
                              (["--n-workers", "1"], "--n-workers 1: must be in 2..20000"),
                              (["--port", str(port)], f"--port {port}: cannot listen on "
                               f"127.0.0.1:{port} (in use, or not an address of this machine)")):
            with pytest.raises(ConfigError) as e:
                viz.main(argv)
            assert str(e.value) == message
    assert capsys.readouterr() == ("", "")  # nothing printed, nothing served


def test_bad_option_on_the_command_line():
    """``python -m sim viz`` turns the error into one line and exit code 2."""
    res = subprocess.run([sys.executable, "-m", "sim", "viz", "--port", "0"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert (res.returncode, res.stdout, res.stderr) == (
        2, "", "error: --port 0: must be in 1..65535\n")


# --------------------------------------------------------------------------- browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(log_dir: Path, n_workers: int = 1000, timeout: float = 180) -> Iterator[str]:
    """Run ``python -m sim viz`` on a free port; yields its URL, kills it at the end."""
    port = free_port()
    log = open(log_dir / "server.log", "w")  # closed in the finally below
    proc = subprocess.Popen([sys.executable, "-m", "sim", "viz", "--port", str(port),
                             "--n-workers", str(n_workers)], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited with {proc.returncode}: {server_log(log_dir)}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            if time.monotonic() > deadline:
                pytest.fail(f"server not up after {timeout} s: {server_log(log_dir)}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def server_log(log_dir: Path) -> str:
    return (log_dir / "server.log").read_text()[-3000:]


@contextlib.contextmanager
def browser(profile: Path, width: int = 1500, height: int = 1150):
    """A page in headless Debian chromium with a fresh profile folder. Yields
    ``(page, problems)``: the page's errors, failed requests and HTTP errors."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []

    def on_response(r):
        if r.status >= 400:
            problems.append(f"HTTP {r.status}: {r.url}")

    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True,
            viewport={"width": width, "height": height})
        try:
            page = ctx.pages[0] if ctx.pages else ctx.new_page()
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.on("response", on_response)
            yield page, problems
        finally:
            ctx.close()


def open_page(page, url: str) -> None:
    """Load the page and wait until the first market is shown with its four plots."""
    page.goto(url, timeout=120_000)
    page.get_by_text(re.compile(r"^week 0 of \d+")).wait_for(timeout=180_000)
    wait_for_plots(page)


def wait_for_plots(page, n: int = 4) -> None:
    page.wait_for_function(f"""() => {{
        const imgs = [...document.querySelectorAll('img')].filter(i => i.naturalWidth > 200);
        return imgs.length >= {n} && imgs.every(i => i.complete);
    }}""", timeout=120_000)


def plot_sources(page) -> list[str]:
    return page.eval_on_selector_all("img", "imgs => imgs.filter(i => i.naturalWidth > 200)"
                                            ".map(i => i.src)")


def step(page, week: int) -> None:
    """Click Step and wait until the page shows ``week`` and its new plots (a plot whose
    picture is the same, e.g. Kaplan-Meier while no spell has ended, is not sent again)."""
    before = plot_sources(page)
    page.get_by_role("button", name="Step").click()
    page.get_by_text(re.compile(rf"^week {week} of ")).wait_for(timeout=120_000)
    page.wait_for_function("""before => {
        const now = [...document.querySelectorAll('img')].filter(i => i.naturalWidth > 200);
        return now.length === before.length && now.every(i => i.complete)
            && now.some((i, k) => i.src !== before[k]);
    }""", arg=before, timeout=120_000)


def plots_png(page, path: Path) -> np.ndarray:
    """Screenshot of the plot area (the four views), as an RGB array."""
    from PIL import Image

    imgs = page.locator("img")
    boxes = [b for b in (imgs.nth(k).bounding_box() for k in range(imgs.count()))
             if b and b["width"] > 200]
    x0 = min(b["x"] for b in boxes)
    y0 = min(b["y"] for b in boxes)
    x1 = max(b["x"] + b["width"] for b in boxes)
    y1 = max(b["y"] + b["height"] for b in boxes)
    page.screenshot(path=str(path), clip={"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0})
    return np.asarray(Image.open(path).convert("RGB"))


def n_colours(rgb: np.ndarray) -> int:
    return len(np.unique(rgb.reshape(-1, 3), axis=0))


def need_browser() -> None:
    """Chromium and Playwright, or skip (fail in CI, which must have them)."""
    missing = None
    if not Path(CHROMIUM).exists():
        missing = (f"{CHROMIUM} missing: apt-get install chromium chromium-driver "
                   "(.ci/browser-up.sh does it in CI)")
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "playwright missing: pip install -e '.[dev]'"
    if missing and os.environ.get("CI"):
        pytest.fail(missing)
    if missing:
        pytest.skip(missing)


@pytest.mark.slow
def test_page_in_a_real_browser(tmp_path):
    need_browser()
    with serve(tmp_path) as url, browser(tmp_path / "profile") as (page, problems):
        open_page(page, url)
        page.screenshot(path=str(tmp_path / "page_week0.png"), full_page=True)
        before = plots_png(page, tmp_path / "plots_week0.png")
        assert n_colours(before) > 200, "the plots look blank"
        assert page.get_by_text("1,000 workers").count() == 1

        for week in (1, 2, 3):
            step(page, week)
        # Play runs on by itself until paused
        page.get_by_role("button", name="▶").click()
        page.get_by_text(re.compile(r"^week ([6-9]|\d\d+) of ")).wait_for(timeout=120_000)
        page.get_by_role("button", name="❚❚").click()
        page.get_by_role("button", name="▶").wait_for(timeout=60_000)
        wait_for_plots(page)
        page.screenshot(path=str(tmp_path / "page_played.png"), full_page=True)
        after = plots_png(page, tmp_path / "plots_played.png")
        assert n_colours(after) > 200
        assert before.shape == after.shape
        changed = (np.abs(before.astype(int) - after.astype(int)).sum(axis=2) > 30).mean()
        assert changed > 0.005, f"only {changed:.2%} of the plot area changed after stepping"

        # bad input: the one-line config error, and no plots; good input brings them back
        box = page.get_by_label("seed", exact=True)
        box.fill("-1")
        box.press("Enter")
        page.get_by_role("button", name="Reset").click()
        page.get_by_text("error: seed=-1: must be >= 0").wait_for(timeout=60_000)
        page.screenshot(path=str(tmp_path / "page_error.png"))
        assert page.get_by_text(re.compile(r"^week \d+ of ")).count() == 0
        assert plot_sources(page) == []
        box.fill("2")
        box.press("Enter")
        page.get_by_role("button", name="Reset").click()
        page.get_by_text(re.compile(r"seed 2$")).wait_for(timeout=120_000)
        wait_for_plots(page)
        assert problems == []
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log, log[-3000:]
    assert "samesite" not in log.lower(), log[-3000:]  # Solara's cookie warning, filtered

"""The documentation site as a reader meets it: built by ``mkdocs build --strict`` (what ``nox -s docs`` runs)
and opened in headless Chromium behind a dead proxy, so a page that needed the network would not draw.

The build renders the walk-through notebook that tests/conftest.py executed once for this run (handed over in
SWEEP_DOCS_NOTEBOOK), rather than executing it a second time; ``nox -s docs`` executes it itself.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
GUIDES = (
    "Search spaces",
    "Scores and pruning",
    "Overnight runs and resume",
    "Many workers and PostgreSQL",
    "Fused trials",
    "Your own data",
    "Your own model",
    "Notebooks (the Python API)",
)
SECTIONS = ("Walk-through notebook", "Command line", "Python API", "Benchmarks")
NAV_LINK = re.compile(r'<a[^>]*href="([^"#]*)[^"]*"[^>]*class="md-nav__link[^"]*"[^>]*>(.*?)</a>', re.S)


@pytest.fixture(scope="module")
def site(browse, executed_notebook, tmp_path_factory) -> Path:
    """The built site (``browse`` comes first: without Chromium the module is skipped before any build)."""
    built = tmp_path_factory.mktemp("site")
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(DOCS / "mkdocs.yml"), "-d", str(built)]
    env = {**os.environ, "SWEEP_DOCS_NOTEBOOK": str(executed_notebook), "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]  # --strict: a broken link or reference fails here
    return built


def text(html: str) -> str:
    """What a reader sees of some HTML: its text, one space between words."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def words(html: str) -> str:
    """Its text's words alone: a cross-reference's markup leaves a space before the punctuation after it."""
    return " ".join(re.findall(r"\w+", text(html)))


def nav_links(dom: str) -> dict[str, str]:
    """The navigation's pages by label (a page's table of contents, links within the page, left out)."""
    return {text(label): href for href, label in NAV_LINK.findall(dom) if href}


def test_home_page_shows_the_title_the_two_commands_and_a_nav_that_opens_every_page(site, browse):
    dom = browse(site / "index.html", "--dump-dom")
    assert re.search(r"<title>\s*sweep\s*</title>", dom)
    shown = text(dom)
    assert 'pip install "nox[uv]" && nox -s sweep' in shown and 'pip install "nox[uv]" && nox -s tests' in shown
    links = nav_links(dom)
    assert set(GUIDES + SECTIONS) <= set(links), sorted(links)
    for label, href in links.items():
        assert href and (site / href).is_file(), f"the nav's {label!r} points at {href!r}, which the site lacks"


def test_notebook_page_shows_the_ranked_table_and_draws_its_plotly_figure_offline(site, browse):
    page = site / "notebook.html"
    assert not re.search(r"<script[^>]+src=\"https?:", page.read_text()), "plotly.js must come from the site"
    dom = browse(page, "--dump-dom")
    shown = text(dom)
    assert "Study 'digits' on digits.npz" in shown and "SGDClassifier baseline" in shown
    assert re.search(r"<td[^>]*>\s*BASELINE\s*</td>", dom), "the ranked table's baseline row"
    # Plotly.newPlot replaced the figure's empty div with its drawing: only a plotly.js the page loaded can do it
    assert 'class="plot-container plotly"' in dom and dom.count('class="main-svg"') >= 1
    assert "Optimization History Plot" in shown
    assert "application/vnd.plotly.v1+json" not in shown and "Loading widget" not in shown


def test_cli_reference_has_every_command_with_its_options(site):
    from sweep.cli import main

    shown = text((site / "reference" / "cli.html").read_text())
    for name in main.commands:
        assert f"sweep {name}" in shown, f"the CLI reference lacks sweep {name}"
    assert all(option in shown for option in ("--space", "--trials", "--timeout", "--storage"))


def test_api_reference_documents_run_load_and_study_from_their_docstrings(site):
    import sweep

    shown = words((site / "reference" / "api.html").read_text())
    for documented in (sweep.run, sweep.load, sweep.Study, sweep.Study.table, sweep.Study.train):
        assert words(documented.__doc__.strip().splitlines()[0]) in shown, documented.__qualname__


def test_benchmarks_page_shows_the_reference_tables_and_their_plots(site):
    page = (site / "benchmarks.html").read_text()
    plots = re.findall(r'<img[^>]+src="([^"]+\.png)"', page)
    assert len(plots) >= 2
    for plot in plots:
        assert (site / plot).read_bytes().startswith(b"\x89PNG"), plot
    shown = text(page)
    assert "KerasTuner Hyperband" in shown and "hand-written Optuna loop" in shown  # the 5-minute table
    assert "--fuse 8, 2 workers" in shown  # the fused throughput table

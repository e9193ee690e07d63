"""The morning's reading: the HTML report in a real browser, optuna-dashboard, the export and its script."""

from __future__ import annotations

import ast
import json
import re
import runpy
import select
import shutil
import subprocess
import sys
import time
import urllib.request
from html.parser import HTMLParser
from io import StringIO
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
import yaml
from helpers import SMALL, sweep_cli

from sweep.results.report import write_report

PLOTS = 5  # best so far against time, optimization history, per-epoch curves, importances, parallel coordinates
SCRIPT_IMPORTS = {"argparse", "gzip", "os", "sys", "pathlib", "keras", "numpy"}


@pytest.fixture(scope="module")
def swept(tiny_sweep):
    """The session's real 4-trial sweep over the tiny space (tests/conftest.py), and its study."""
    folder, url, _ = tiny_sweep
    return folder, url, optuna.load_study(study_name="tiny", storage=url)


@pytest.fixture(scope="module")
def report(swept) -> Path:
    folder, url, _ = swept
    printed = sweep_cli("report", "--study", "tiny", "--storage", url, cwd=folder).stdout.strip()
    assert printed == str(Path("results") / "tiny" / "report.html")  # the default place, printed
    return folder / printed


class TableRows(HTMLParser):
    """The rows of the report's ranked table: (class attribute, cell texts)."""

    def __init__(self):
        super().__init__()
        self.rows: list[tuple[str, list[str]]] = []
        self.in_table = self.in_cell = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "ranked" in (attrs.get("class") or ""):
            self.in_table = True
        elif self.in_table and tag == "tr":
            self.rows.append((attrs.get("class") or "", []))
        elif self.in_table and tag == "td":
            self.in_cell = True
            self.rows[-1][1].append("")

    def handle_endtag(self, tag):
        self.in_table = self.in_table and tag != "table"
        self.in_cell = self.in_cell and tag != "td"

    def handle_data(self, data):
        if self.in_cell:
            self.rows[-1][1][-1] += data.strip()


def test_report_is_one_self_contained_file(report):
    page = report.read_text()
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", page), "the page must fetch nothing"
    assert page.count("plotly.js v") == 1 and len(page) > 1_000_000  # plotly.js inlined, once
    assert page.count('class="plotly-graph-div"') == PLOTS


def test_report_in_chromium_shows_the_ranked_table_and_draws_every_plot(report, swept, browse):
    _, _, study = swept
    dom = browse(report, "--dump-dom")
    parser = TableRows()
    parser.feed(dom)
    rows = [cells for _, cells in parser.rows if cells]
    assert len(rows) == len(study.trials) + 1
    baseline = [(css, cells) for css, cells in parser.rows if "BASELINE" in cells]
    assert len(baseline) == 1 and baseline[0][0] == "baseline"  # the page's script marked it
    assert f"{study.user_attrs['baseline']['val_accuracy']:.4f}" in baseline[0][1]
    ranked = [cells for cells in rows if cells[0]]
    assert [int(cells[0]) for cells in ranked] == list(range(1, len(ranked) + 1))
    assert next(cells for cells in ranked if cells[2] == "COMPLETE")[3] == f"{study.best_value:.4f}"
    # plotly replaced each figure's placeholder with its drawing: a container and SVG layers per plot
    assert dom.count('class="plot-container plotly"') == PLOTS
    assert dom.count('class="main-svg"') >= PLOTS
    assert "SGDClassifier baseline" in dom  # the baseline line's label, drawn inside the plots


def test_report_screenshot_is_not_blank(report, browse, tmp_path):
    from PIL import Image, ImageStat

    shot = tmp_path / "report.png"
    browse(report, f"--screenshot={shot}", "--window-size=1280,3200", "--hide-scrollbars")
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 3200)
    assert max(ImageStat.Stat(image.convert("L")).stddev) > 20  # text and drawings, not one flat colour
    # the plots' traces are saturated colours; the table and the page are greys
    pixels = np.asarray(image, dtype=np.int16)
    saturation = pixels.max(axis=2) - pixels.min(axis=2)
    assert (saturation > 80).sum() > 5000


@pytest.mark.parametrize("trials", [0, 1])
def test_report_of_a_young_study_says_why_a_plot_is_missing(trials, tmp_path):
    study = optuna.create_study(direction="maximize", study_name="young")
    study.optimize(lambda trial: trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True), n_trials=trials)
    page = write_report(study, tmp_path / "young.html").read_text()
    assert page.count("No completed trial yet.") == (PLOTS if trials == 0 else 0)
    assert ("Importances need at least two completed trials" in page) == (trials == 1)
    # one trial: best so far, history and parallel coordinates; no per-epoch values were reported, no importances
    assert page.count('class="plotly-graph-div"') == (0 if trials == 0 else 3)
    assert ("No trial reported per-epoch validation accuracy." in page) == (trials == 1)
    assert ("No completed trial yet." in page) == (trials == 0)
    assert 'class="dataframe ranked"' in page


def test_table_shows_studies_side_by_side(swept, tmp_path):
    folder, _, _ = swept
    shutil.copy(folder / "sweep.db", tmp_path / "two.db")
    url = f"sqlite:///{tmp_path / 'two.db'}"
    optuna.copy_study(from_study_name="tiny", from_storage=url, to_storage=url, to_study_name="tiny-copy")
    out = sweep_cli("table", "--study", "tiny", "--study", "tiny-copy", "--storage", url, "--format", "csv").stdout
    table = pd.read_csv(StringIO(out))
    assert list(table.columns[:3]) == ["study", "rank", "trial"]
    assert table["study"].value_counts().to_dict() == {"tiny": 5, "tiny-copy": 5}
    assert (table.groupby("study")["state"].apply(lambda states: (states == "BASELINE").sum()) == 1).all()
    top = sweep_cli("table", "--study", "tiny", "--study", "tiny-copy", "--storage", url, "--top", "1").stdout
    assert top.count("BASELINE") == 2


def test_dashboard_serves_the_study(swept):
    _, url, study = swept
    server = subprocess.Popen(
        [sys.executable, "-m", "sweep", "dashboard", "--study", "tiny", "--storage", url, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = _read_line(server, timeout=60)
        match = re.search(r"http://127\.0\.0\.1:(\d+)/dashboard/studies/(\d+)", line)
        assert match, f"no address printed: {line!r}"
        port, study_id = match.groups()
        summaries = _get_json(f"http://127.0.0.1:{port}/api/studies")["study_summaries"]
        assert [(s["study_id"], s["study_name"]) for s in summaries] == [(int(study_id), "tiny")]
        detail = _get_json(f"http://127.0.0.1:{port}/api/studies/{study_id}?after=0")
        served = {t["number"]: t["values"] for t in detail["trials"]}
        assert served == {t.number: t.values for t in study.trials}
        with urllib.request.urlopen(match.group(0), timeout=10) as page:
            assert page.status == 200 and b"<html" in page.read().lower()
    finally:
        server.terminate()
        server.wait(timeout=30)


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        raise AssertionError(f"sweep dashboard printed nothing in {timeout} s")
    line = process.stdout.readline()
    if not line:
        raise AssertionError(f"sweep dashboard exited: {process.stderr.read()[-2000:]}")
    return line


def _get_json(address: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(address, timeout=5) as response:
                return json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture(scope="module")
def exported(swept, tmp_path_factory):
    _, url, _ = swept
    out = tmp_path_factory.mktemp("export")
    printed = sweep_cli("export", "--study", "tiny", "--storage", url, "--out", str(out))  # the study's rows
    return out, printed.stdout


def test_export_writes_config_model_and_labelled_metrics(exported, swept):
    import keras

    from sweep.data import load_split
    from sweep.results.export import load_model

    out, printed = exported
    _, _, study = swept
    config = json.loads((out / "config.json").read_text())
    best = study.best_trial
    assert config == {**best.user_attrs["config"], "epochs": best.user_attrs["best_epoch"]}
    assert yaml.safe_load((out / "config.yaml").read_text()) == config
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["trial"] == study.best_trial.number and metrics["train_images"] == SMALL
    assert 0.5 < metrics["val_accuracy"] < 1 and 0.5 < metrics["test_accuracy"] < 1
    assert metrics["test_images"] == 10_000 and "evaluated once" in metrics["test_note"]
    assert "TEST accuracy" in printed and "evaluated once" in printed
    assert f"retrained on the study's {SMALL} training rows" in printed
    model = load_model(out / "model.keras")
    assert isinstance(model, keras.Model)
    x_val = load_split(None, SMALL).x_val[:7]
    assert model.predict(x_val, verbose=0).shape == (7, 10)
    _save_lambda_model(out / "lambda.keras")
    with pytest.raises(ValueError, match="safe_mode"):  # the loader runs no code from the file
        load_model(out / "lambda.keras")


def _save_lambda_model(path: Path) -> None:
    import keras

    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Lambda(lambda x: x * 2)])
    model.save(path)


def test_train_best_script_reproduces_the_export_with_keras_and_numpy_only(exported, swept):
    out, _ = exported
    _, _, study = swept
    script = out / "train_best.py"
    imports = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(script.read_text()))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])
    }
    assert imports <= SCRIPT_IMPORTS, imports
    # run it as a user would, with the project's packages made unimportable
    blocker = (
        "import runpy, sys; sys.modules.update(sweep=None, sklearn=None, optuna=None); "
        "sys.argv = ['train_best.py']; runpy.run_path('train_best.py', run_name='__main__')"
    )
    result = subprocess.run([sys.executable, "-c", blocker], cwd=out, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{SMALL} training images (the sweep's rows)" in result.stdout  # by default, as the sweep trained
    printed = re.search(r"^val_accuracy (\d\.\d{4})$", result.stdout, re.MULTILINE)
    assert printed, result.stdout[-2000:]
    val_accuracy = float(printed.group(1))
    exported_val = json.loads((out / "metrics.json").read_text())["val_accuracy"]
    assert val_accuracy == pytest.approx(exported_val, abs=0.01)  # same seed, same data: the same model
    # The export retrains with the trial's own seed, so the script reproduces the sweep's score too.
    assert val_accuracy == pytest.approx(study.best_value, abs=0.01)


def test_train_best_split_equals_scikit_learns(exported):
    from sklearn.model_selection import train_test_split

    from sweep.data import DataSource

    out, _ = exported
    script = runpy.run_path(str(out / "train_best.py"))
    images, labels = script["load_fashion_mnist"](None)
    x_all, y_all = DataSource().full_training_set()
    assert np.array_equal(images.astype(np.float32) / 255.0, x_all) and np.array_equal(labels, y_all)
    ours = script["split_80_20"](x_all, y_all)
    theirs = train_test_split(x_all, y_all, test_size=0.2, random_state=42)
    for mine, sklearns in zip(ours, (theirs[0], theirs[2], theirs[1], theirs[3]), strict=True):
        assert np.array_equal(mine, sklearns)


CONV_CONFIG = {
    "layer_type": "conv",
    "hidden_layers": 2,
    "filters": [16, 32],
    "kernel_size": [3, 5],
    "units": [64, 64],
    "activation": "elu",
    "dropout": 0.25,
    "optimizer": "sgd",
    "learning_rate": 0.03,
    "momentum": 0.9,
    "nesterov": True,
    "batch_size": 64,
    "epochs": 3,
}


@pytest.mark.parametrize(
    "config",
    [CONV_CONFIG, {**CONV_CONFIG, "layer_type": "dense", "units": [300, 100], "optimizer": "adam", "dropout": 0.0}],
    ids=["conv-sgd", "dense-adam"],
)
def test_train_best_script_builds_the_projects_model(config, tmp_path):
    from sweep.results.script_template import render_script
    from sweep.space.spec import complete_config
    from sweep.training.model import build_model

    config = complete_config(config)
    project = build_model(config)
    record = {"study": "unit", "trial": 0, "val_accuracy": 0.9, "train_images": None}
    script = tmp_path / "train_best.py"
    script.write_text(render_script(config, record, project, seed=42))
    standalone = runpy.run_path(str(script))["build_model"]()
    assert [_layer(layer) for layer in standalone.layers] == [_layer(layer) for layer in project.layers]
    assert _settings(standalone.optimizer) == _settings(project.optimizer)
    assert standalone.count_params() == project.count_params()
    assert runpy.run_path(str(script))["EPOCHS"] == config["epochs"]


def _layer(layer) -> tuple:
    return type(layer).__name__, _settings(layer)


def _settings(thing) -> dict:
    return {key: value for key, value in thing.get_config().items() if key != "name"}


def test_report_and_dashboard_do_not_import_tensorflow(swept, tmp_path):
    _, url, _ = swept
    probe = (
        "import sys; from sweep.cli import main; sys.argv=['sweep', {args}];\n"
        "try: main()\nexcept SystemExit: pass\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'heavy import'"
    )
    args = f"'report', '--storage', '{url}', '--study', 'tiny', '--out', '{tmp_path / 'r.html'}'"
    subprocess.run([sys.executable, "-c", probe.format(args=args)], check=True, capture_output=True)
    assert (tmp_path / "r.html").stat().st_size > 1_000_000


def test_export_of_a_study_without_trained_trials_is_one_line(sqlite_url, tmp_path):
    optuna.create_study(study_name="empty", storage=sqlite_url)
    result = sweep_cli("export", "--study", "empty", "--storage", sqlite_url, "--out", str(tmp_path / "x"), check=False)
    assert result.returncode == 1 and "no trained trial" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x").exists()


def test_anytime_curve_is_the_best_so_far_at_each_finish_with_the_baseline(swept):
    from sweep.results.anytime import best_so_far, seconds_to_reach
    from sweep.results.report import figures
    from sweep.results.scores import best_trial, score

    folder, url, _ = swept
    study = optuna.load_study(study_name="tiny", storage=url)
    points = best_so_far(study)
    seconds, best = [p[0] for p in points], [p[1] for p in points]
    assert seconds == sorted(seconds) and best == sorted(best) and best[-1] == score(best_trial(study))
    assert seconds_to_reach(points, best[-1]) == seconds[-1] and seconds_to_reach(points, 2.0) is None
    assert best_so_far(study, budget_s=-1) == []  # nothing finished before the start counts
    figure = figures(study)["anytime"]
    baseline = study.user_attrs["baseline"]["val_accuracy"]
    assert list(figure.data[0].y) == best
    assert any(abs(shape.y0 - baseline) < 1e-9 for shape in figure.layout.shapes if shape.y0 == shape.y1)


def test_the_anytime_rule_scores_any_study_on_its_best_reported_epoch(sqlite_url):
    """A hand-written loop returns its last epoch; the benchmark reads its best one, as sweep stores it."""
    from sweep.results.anytime import best_reported, best_so_far

    loop = optuna.create_study(study_name="loop", storage=sqlite_url, direction="maximize")
    for curve in ([0.80, 0.86, 0.84], [0.83, 0.85, 0.85]):
        trial = loop.ask()
        for epoch, value in enumerate(curve, start=1):
            trial.report(value, epoch)
        loop.tell(trial, curve[-1])  # what the loop returns: its last epoch
    assert [best for _, best, _ in best_so_far(loop)] == [0.84, 0.85]
    assert [(best, number) for _, best, number in best_so_far(loop, score=best_reported)] == [(0.86, 0)]

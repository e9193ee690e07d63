"""The Python API: the notebook walk-through runs headless, and its answers are the CLI's.

results/reference/notebook.py is executed as a plain script (the notebook's cells, in order) on
scikit-learn's bundled digits, in a fresh folder; the test then checks what a notebook shows.
"""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest
from helpers import sweep_cli

ROOT = Path(__file__).resolve().parent.parent
WALKTHROUGH = ROOT / "results" / "reference" / "notebook.py"


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory):
    """The walk-through's namespace after running every cell, and the folder it ran in."""
    folder = tmp_path_factory.mktemp("notebook")
    before = Path.cwd()
    os.chdir(folder)
    try:
        namespace = runpy.run_path(str(WALKTHROUGH), run_name="__main__")
    finally:
        os.chdir(before)
    return namespace, folder


def test_walkthrough_table_is_the_ranked_dataframe_with_its_baseline(walkthrough):
    namespace, _ = walkthrough
    table, study = namespace["table"], namespace["study"]
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns[:5]) == ["rank", "trial", "state", "val_accuracy", "vs_baseline_pp"]
    baseline = table[table["state"] == "BASELINE"]
    assert len(baseline) == 1 and baseline["val_accuracy"].iloc[0] == study.baseline["val_accuracy"]
    completed = table[table["state"] == "COMPLETE"]
    assert len(completed) >= 1 and completed["val_accuracy"].between(0, 1).all()
    ranked = table.dropna(subset=["rank"])
    assert list(ranked["val_accuracy"]) == sorted(ranked["val_accuracy"], reverse=True)
    assert study.data["name"] == "digits.npz" and study.data["input_shape"] == [8, 8]
    assert study.data["classes"] == 10 and study.data["scale"] == 16.0


def test_walkthrough_html_highlights_the_baseline_and_summarises(walkthrough):
    namespace, _ = walkthrough
    table_html = namespace["table"]._repr_html_()
    assert "<table" in table_html and "BASELINE" in table_html and "#fff4d6" in table_html
    summary = namespace["study"]._repr_html_()
    assert "Study &#x27;digits&#x27; on digits.npz" in summary and "SGDClassifier baseline" in summary
    assert "best val_accuracy" in summary and "<table" in summary


def test_walkthrough_figures_are_plotly_with_the_baseline_line(walkthrough):
    namespace, _ = walkthrough
    figures, baseline = namespace["figures"], namespace["study"].baseline["val_accuracy"]
    assert {"history", "curves", "parallel"} <= set(figures)
    for name in ("history", "curves"):
        figure = figures[name]
        assert type(figure).__name__ == "Figure" and len(figure.data) >= 1
        lines = [shape for shape in figure.layout.shapes if shape.y0 == shape.y1]
        assert any(abs(line.y0 - baseline) < 1e-9 for line in lines), f"{name} lacks the baseline line"


def test_walkthrough_trains_exports_and_reports_on_its_own_data(walkthrough):
    namespace, folder = walkthrough
    metrics, best = namespace["metrics"], namespace["best"]
    assert metrics["train_images"] == 1200 and 0 <= metrics["test_accuracy"] <= 1
    assert abs(metrics["val_accuracy"] - best["val_accuracy"]) < 1e-6  # the trial's seed: the very model
    exported = folder / "results" / "digits" / "export"
    assert {"config.json", "train_best.py", "model.keras", "metrics.json"} <= {p.name for p in exported.iterdir()}
    assert json.loads((exported / "metrics.json").read_text())["test_images"] == 297
    page = folder / namespace["page"]  # relative to the folder it ran in, as the CLI prints it
    assert page.is_file() and "plotly" in page.read_text()


def test_cli_reads_the_notebook_study_identically(walkthrough):
    namespace, folder = walkthrough
    shown = sweep_cli("table", "--study", "digits", "--format", "csv", cwd=folder).stdout
    from_cli = pd.read_csv(StringIO(shown))
    from_api = pd.read_csv(StringIO(namespace["table"].to_csv(index=False)))
    pd.testing.assert_frame_equal(from_cli, from_api)
    best_file = folder / "best.json"
    sweep_cli("best", "--study", "digits", "--out", str(best_file), cwd=folder)
    record = json.loads(best_file.read_text())
    assert {k: v for k, v in record.items() if k != "versions"} == {
        k: v for k, v in namespace["best"].items() if k != "versions"
    }


def test_import_and_load_do_not_import_tensorflow(walkthrough):
    _, folder = walkthrough
    code = (
        "import sys, sweep\n"
        "study = sweep.load('digits')\n"
        "study.table(); study.best(); repr(study); study._repr_html_(); study.figures()\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=folder, check=True, timeout=120)


def test_load_names_the_studies_there(tmp_path):
    import sweep

    with pytest.raises(sweep.api.UnknownStudy, match="no study 'nothing'"):
        sweep.load("nothing", storage=f"sqlite:///{tmp_path / 'empty.db'}")


def test_table_refuses_an_unknown_state(walkthrough):
    with pytest.raises(ValueError, match="state 'done' is unknown"):
        walkthrough[0]["study"].table(state="done")


def test_table_errors_name_the_python_arguments_in_python_and_the_flags_in_the_terminal(tiny_sweep):
    import sweep
    from sweep.results import QueryError

    _, url, _ = tiny_sweep
    study = sweep.load("tiny", url)
    for arguments, named in (({"where": "no_such == 1"}, "where='no_such == 1'"), ({"sort": "nope"}, "sort='nope'")):
        with pytest.raises(QueryError) as error:
            study.table(**arguments)
        assert str(error.value).startswith(named) and "--" not in str(error.value)
    terminal = sweep_cli("table", "--storage", url, "--study", "tiny", "--sort", "nope", check=False)
    assert terminal.returncode == 2 and "--sort 'nope' is not a column" in terminal.stderr

"""The Python API: the walk-through notebook runs in a real Jupyter kernel, and its answers are the CLI's.

docs/pages/notebook.ipynb (the documentation site's walk-through) is executed top to bottom by nbclient with
ipykernel, in a fresh folder, on scikit-learn's bundled digits; the tests then check what a notebook shows (the
outputs of its cells) and read the studies it wrote through the API and the CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest
from helpers import sweep_cli

WIDGET = "application/vnd.jupyter.widget-view+json"
PLOTLY = "application/vnd.plotly.v1+json"


@pytest.fixture(scope="module")
def walkthrough(executed_notebook):
    """The executed notebook and the folder it ran in (tests/conftest.py runs it once for these tests and the site)."""
    import nbformat

    return nbformat.read(executed_notebook, as_version=4), executed_notebook.parent


def outputs(notebook, source_has: str = "") -> list[dict]:
    return [out for cell in notebook.cells if cell.cell_type == "code" and source_has in cell.source
            for out in cell.get("outputs", [])]  # fmt: skip


def study_of(folder: Path, name: str = "digits"):
    import sweep

    return sweep.load(name, f"sqlite:///{folder / 'results' / 'sweep.db'}")


def test_notebook_writes_nothing_to_stderr(walkthrough):
    notebook, _ = walkthrough
    written = [out.get("text", "") for out in outputs(notebook) if out.get("name") == "stderr"]
    assert not written, written  # no TensorFlow start-up, no Optuna study line, no tqdm warning
    assert not [out for out in outputs(notebook) if out.output_type == "error"]


def test_notebook_shows_one_progress_widget_per_run(walkthrough):
    notebook, _ = walkthrough
    for cell in (cell for cell in notebook.cells if "sweep.run(" in cell.source):
        widgets = [out for out in cell.outputs if WIDGET in out.get("data", {})]
        assert len(widgets) == 1, cell.source


def test_notebook_shows_the_ranked_table_with_the_baseline_highlighted(walkthrough):
    notebook, _ = walkthrough
    pages = [out["data"]["text/html"] for out in outputs(notebook, "table = study.table()") if "data" in out]
    assert pages and "<table" in pages[0] and "BASELINE" in pages[0] and "#fff4d6" in pages[0]
    summary = [
        out["data"]["text/html"]
        for out in outputs(notebook, "study = sweep.run(")
        if "text/html" in out.get("data", {})
    ]
    assert "Study &#x27;digits&#x27; on digits.npz" in summary[0] and "SGDClassifier baseline" in summary[0]


def test_notebook_shows_a_plotly_figure(walkthrough):
    notebook, _ = walkthrough
    figures = [out for out in outputs(notebook, 'figures["history"]') if PLOTLY in out.get("data", {})]
    assert figures and figures[0]["data"][PLOTLY]["data"], "the history figure has traces"


def test_walkthrough_table_is_the_ranked_dataframe_with_its_baseline(walkthrough):
    _, folder = walkthrough
    study = study_of(folder)
    table = study.table()
    assert list(table.columns[:5]) == ["rank", "trial", "state", "val_accuracy", "vs_baseline_pp"]
    baseline = table[table["state"] == "BASELINE"]
    assert len(baseline) == 1 and baseline["val_accuracy"].iloc[0] == study.baseline["val_accuracy"]
    ranked = table.dropna(subset=["rank"])
    assert list(ranked["val_accuracy"]) == sorted(ranked["val_accuracy"], reverse=True)
    assert study.data["name"] == "digits.npz" and study.data["input_shape"] == [8, 8]
    assert study.data["classes"] == 10 and study.data["scale"] == 16.0


def test_walkthrough_figures_are_plotly_with_the_baseline_line(walkthrough):
    _, folder = walkthrough
    study = study_of(folder)
    figures, baseline = study.figures(), study.baseline["val_accuracy"]
    assert {"history", "curves", "parallel"} <= set(figures)
    for name in ("history", "curves"):
        lines = [shape for shape in figures[name].layout.shapes if shape.y0 == shape.y1]
        assert any(abs(line.y0 - baseline) < 1e-9 for line in lines), f"{name} lacks the baseline line"


def test_walkthrough_trains_exports_and_reports_on_its_own_data(walkthrough):
    notebook, folder = walkthrough
    exported = folder / "results" / "digits" / "export"
    assert {"config.json", "train_best.py", "model.keras", "metrics.json"} <= {p.name for p in exported.iterdir()}
    metrics = json.loads((exported / "metrics.json").read_text())
    assert metrics["test_images"] == 297 and metrics["train_images"] == 1200
    assert abs(metrics["val_accuracy"] - metrics["sweep_val_accuracy"]) < 1e-6  # the trial's seed: the very model
    assert (folder / "results" / "digits" / "report.html").is_file()
    printed = "".join(out.get("text", "") for out in outputs(notebook, "study.train(best, test=True)"))
    assert "retrained" in printed and "report at results/digits/report.html" in printed


def test_walkthrough_tunes_a_model_of_its_own(walkthrough):
    _, folder = walkthrough
    own = study_of(folder, "digits-own")
    table = own.table()
    assert {"blocks", "width"} <= set(table.columns) and (table["state"] == "COMPLETE").sum() >= 1
    assert own.model == "__main__:build"  # defined in the notebook: retrained there, or moved into a module


def test_cli_reads_the_notebook_study_identically(walkthrough):
    _, folder = walkthrough
    shown = sweep_cli("table", "--study", "digits", "--format", "csv", cwd=folder).stdout
    from_cli = pd.read_csv(StringIO(shown))
    from_api = pd.read_csv(StringIO(study_of(folder).table().to_csv(index=False)))
    pd.testing.assert_frame_equal(from_cli, from_api)
    best_file = folder / "best.json"
    sweep_cli("best", "--study", "digits", "--out", str(best_file), cwd=folder)
    record = json.loads(best_file.read_text())
    assert {k: v for k, v in record.items() if k != "versions"} == {
        k: v for k, v in study_of(folder).best().items() if k != "versions"
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
    with pytest.raises(ValueError, match="state='done' is unknown"):
        study_of(walkthrough[1]).table(state="done")


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

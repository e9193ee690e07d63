"""One self-contained HTML page per study: what a user reads in the morning.

The page opens offline: plotly.js is embedded once, inline, and nothing is fetched when
it is viewed. The plots are Optuna's own (``optuna.visualization``) plus a per-epoch
validation curve of the best trials; the table is ``sweep.results.table``'s ranked table.
"""

from __future__ import annotations

import datetime
import html
import logging
import warnings
from pathlib import Path
from typing import Any

from sweep.results.anytime import anytime_figure
from sweep.results.durations import format_seconds
from sweep.results.scores import best_trial, pruned_note, ranked_trials, score
from sweep.results.table import baseline_of, render, trials_table

log = logging.getLogger(__name__)

TOP_CURVES = 5  # trials whose per-epoch validation curves are drawn

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; padding: 0 1rem; }
h1 { margin-bottom: 0.2rem; } .sub { color: #666; margin-top: 0; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; margin: 1rem 0; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 0.6rem 1rem; min-width: 8rem; }
.card b { display: block; font-size: 1.5rem; }
.note { color: #666; font-style: italic; padding: 1rem; border: 1px dashed #ccc; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.85rem; }
th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid #eee; text-align: right; white-space: nowrap; }
tr.baseline td { background: #fff4d6; font-weight: bold; }
"""

# Marks the baseline row so it stands out; the table itself comes unchanged from sweep.results.table.
MARK_BASELINE = """
for (const row of document.querySelectorAll("table.ranked tr")) {
  if ([...row.cells].some((cell) => cell.textContent.trim() === "BASELINE")) row.classList.add("baseline");
}
"""


def write_report(study, out_path: str | Path) -> Path:
    """Write the study's report to ``out_path`` (one HTML file) and return the path."""
    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_html(study), encoding="utf-8")
    log.info("report of study %r written to %s", study.study_name, path)
    return path


def report_html(study) -> str:
    """The whole page as a string."""
    name = html.escape(study.study_name)
    sections = [
        _section("Trials", _cards(trial_summary(study))),
        _section("Ranked table", _table_html(study)),
        *(_section(title, body) for title, body in _plots(study)),
    ]
    generated = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>sweep report: {name}</title>'
        f"<style>{STYLE}</style></head><body>\n<h1>Study {name}</h1>\n"
        f'<p class="sub">{html.escape(_headline(study))} Generated {generated}.</p>\n'
        + "\n".join(sections)
        + f"\n<script>{MARK_BASELINE}</script>\n</body></html>\n"
    )


def trial_summary(study) -> dict[str, Any]:
    """Counts by state, summed trial time and the wall-clock span of the study."""
    trials = study.get_trials(deepcopy=False)
    counts = {state: sum(t.state.name == state for t in trials) for state in ("COMPLETE", "PRUNED", "FAIL")}
    starts = [t.datetime_start for t in trials if t.datetime_start]
    ends = [t.datetime_complete for t in trials if t.datetime_complete]
    return {
        "complete": counts["COMPLETE"],
        "pruned": counts["PRUNED"],
        "failed": counts["FAIL"],
        "other": len(trials) - sum(counts.values()),  # running or waiting
        "trial_seconds": sum(t.duration.total_seconds() for t in trials if t.duration),
        "wall_seconds": (max(ends) - min(starts)).total_seconds() if starts and ends else 0.0,
    }


def _headline(study) -> str:
    baseline = baseline_of(study)
    text = f"Search space {study.user_attrs.get('space', '?')}."
    best = best_trial(study)
    if best is not None:
        text += f" Best val_accuracy {score(best):.4f} (trial {best.number}{pruned_note(best)})"
        text += f", {100 * (score(best) - baseline['val_accuracy']):+.2f} pp vs baseline." if baseline else "."
    if baseline:
        text += f" SGDClassifier baseline {baseline['val_accuracy']:.4f} on {baseline.get('train_images', '?')} images."
    return text


def _cards(summary: dict[str, Any]) -> str:
    cards = [
        ("complete", summary["complete"]),
        ("pruned", summary["pruned"]),
        ("failed", summary["failed"]),
        ("running / waiting", summary["other"]),
        ("time in trials", format_seconds(summary["trial_seconds"])),
        ("wall clock", format_seconds(summary["wall_seconds"])),
    ]
    return '<div class="cards">' + "".join(f'<div class="card"><b>{v}</b>{k}</div>' for k, v in cards) + "</div>"


def _table_html(study) -> str:
    table = render(trials_table(study), "html").replace('class="dataframe"', 'class="dataframe ranked"', 1)
    return f'<div class="table-wrap">{table}</div>'


def _section(title: str, body: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>\n{body}\n</section>"


TITLES = {
    "anytime": "Best val_accuracy against wall-clock time",
    "history": "Optimization history",
    "curves": "Validation accuracy per epoch, best trials",
    "importances": "Hyperparameter importances",
    "parallel": "Parallel coordinates",
}


def figures(study) -> dict[str, Any]:
    """The report's plotly figures by name (see TITLES), or a short note where one cannot say anything yet."""
    makers = {"anytime": _anytime, "history": _history, "curves": _curves, "importances": _importances,
              "parallel": _parallel}  # fmt: skip
    completed = sum(t.state.name == "COMPLETE" for t in study.get_trials(deepcopy=False))
    return {name: maker(study) if completed else "No completed trial yet." for name, maker in makers.items()}


def _plots(study) -> list[tuple[str, str]]:
    """(title, html) per plot; a short note where a plot cannot say anything yet."""
    shown, first = [], True
    for name, figure in figures(study).items():
        title = TITLES[name]
        if isinstance(figure, str):
            shown.append((title, f'<p class="note">{html.escape(figure)}</p>'))
            continue
        figure.update_layout(title_text="", margin={"t": 30})  # the section heading names the plot
        # plotly.js goes inline once, with the first figure; the others reuse it.
        shown.append((title, figure.to_html(full_html=False, include_plotlyjs=first, config={"responsive": True})))
        first = False
    return shown


def _with_baseline(figure, study):
    baseline = baseline_of(study)
    if baseline:
        figure.add_hline(
            y=baseline["val_accuracy"],
            line_dash="dash",
            line_color="#c0392b",
            annotation_text=f"SGDClassifier baseline {baseline['val_accuracy']:.4f}",
            annotation_position="bottom right",
        )
        # plotly's autorange ignores shapes: widen the axis so the line sits inside the plot, not on its edge
        values = [y for trace in figure.data for y in (trace.y or ()) if isinstance(y, (int, float))]
        low, high = min([*values, baseline["val_accuracy"]]), max([*values, baseline["val_accuracy"]])
        pad = 0.08 * (high - low or 0.01)
        figure.update_yaxes(range=[low - pad, high + pad])
    return figure


def _anytime(study):
    figure = anytime_figure(study)
    return figure if isinstance(figure, str) else _with_baseline(figure, study)


def _history(study):
    from optuna.visualization import plot_optimization_history

    figure = plot_optimization_history(study, target_name="val_accuracy")
    return _with_baseline(figure, study)


def _curves(study):
    """Per-epoch validation accuracy of the best trials (pruned ones too), from the reported intermediate values."""
    import plotly.graph_objects as go

    best = [trial for trial in ranked_trials(study) if trial.intermediate_values][:TOP_CURVES]
    if not best:
        return "No trial reported per-epoch validation accuracy."
    figure = go.Figure()
    for trial in best:
        epochs = sorted(trial.intermediate_values)
        values = [trial.intermediate_values[epoch] for epoch in epochs]
        label = f"trial {trial.number} ({score(trial):.4f}{pruned_note(trial)})"
        figure.add_trace(go.Scatter(x=epochs, y=values, mode="lines+markers", name=label))
    figure.update_layout(xaxis_title="epoch", yaxis_title="val_accuracy", xaxis={"dtick": 1})
    return _with_baseline(figure, study)


def _importances(study):
    """fANOVA-style importances need at least two completed trials and a parameter that varies."""
    from optuna.visualization import plot_param_importances

    completed = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    varying = {name for name in {n for t in completed for n in t.params} if len(_values(completed, name)) > 1}
    if len(completed) < 2 or not varying:
        return (
            f"Importances need at least two completed trials whose parameters differ "
            f"(this study has {len(completed)} completed, {len(varying)} varying parameters)."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "few trials per regime": expected on small studies
        try:
            return plot_param_importances(study, target_name="val_accuracy")
        except (RuntimeError, ValueError) as error:
            return f"Importances could not be computed: {error}"


def _values(trials, name: str) -> set:
    return {repr(t.params[name]) for t in trials if name in t.params}


def _parallel(study):
    from optuna.visualization import plot_parallel_coordinate

    return plot_parallel_coordinate(study, target_name="val_accuracy")

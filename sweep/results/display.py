"""How a study and its table show in Jupyter: a short summary, and the ranked table styled with the
baseline row highlighted (pandas Styler). The text forms serve the terminal and ``repr``."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from sweep.results.durations import format_seconds
from sweep.results.table import FORMATS

BASELINE_STYLE = "background-color: #fff4d6; font-weight: bold"


class RankedTable(pd.DataFrame):
    """The ranked table: a plain DataFrame that a notebook shows styled (pandas' documented subclassing)."""

    @property
    def _constructor(self):
        return RankedTable

    def _repr_html_(self) -> str:
        return style(self).to_html()


def style(table: pd.DataFrame):
    """A Styler: the baseline row highlighted, accuracy to four decimals, blanks for missing values."""

    def highlight(row: pd.Series) -> list[str]:
        return [BASELINE_STYLE if row.get("state") == "BASELINE" else ""] * len(row)

    formats = {column: FORMATS.get(column, "{:.4g}") for column in table.columns if _is_float(table[column])}
    return pd.DataFrame(table).style.apply(highlight, axis=1).format(formats, na_rep="").hide(axis="index")


def _is_float(column: pd.Series) -> bool:
    return pd.api.types.is_float_dtype(column.dtype)


def summary_text(summary: dict[str, Any]) -> str:
    """One line: counts, best against the baseline, time."""
    parts = [
        f"Study {summary['study']!r}" + (f" on {summary['data']}" if summary.get("data") else ""),
        f"{summary['complete']} complete, {summary['pruned']} pruned, {summary['failed']} failed",
    ]
    best, baseline = summary["best_val_accuracy"], summary["baseline_val_accuracy"]
    if best is not None:
        margin = f" ({100 * (best - baseline):+.2f} pp vs baseline)" if baseline is not None else ""
        parts.append(f"best val_accuracy {best:.4f} (trial {summary['best_trial']}){margin}")
    if baseline is not None:
        parts.append(f"SGDClassifier baseline {baseline:.4f}")
    parts.append(f"{format_seconds(summary['trial_seconds'])} in trials")
    return " | ".join(parts)


def summary_html(summary: dict[str, Any], table_html: str = "") -> str:
    """The summary line as HTML, then the first rows of the table."""
    return f'<div class="sweep-study"><p><b>{html.escape(summary_text(summary))}</b></p>{table_html}</div>'

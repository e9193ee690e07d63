"""Study trials -> a ranked pandas table, with the SGDClassifier baseline as a row.

Reads only the storage: no TensorFlow, no training, no baseline recomputation.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from sweep.results.scores import SCORED_STATES, score, scored_epoch
from sweep.results.storages import retried_trial_number
from sweep.space import VOCABULARY

RANKED_STATES = (*SCORED_STATES, "BASELINE")  # those with a score (a pruned trial that trained no epoch has none)
STATE_ORDER = {"RUNNING": 1, "PRUNED": 2, "WAITING": 3, "FAIL": 4}  # unranked rows, after the ranked ones
# epochs_run: the epochs a trial reported (a pruned trial stops early); `epochs` is the hyperparameter;
# best_epoch: the epoch whose val_accuracy is the trial's score (retraining for that many epochs gives it),
# for a pruned trial too (``sweep.results.scores``).
LEADING_COLUMNS = ["rank", "trial", "state", "val_accuracy", "vs_baseline_pp", "epochs_run", "duration_s"]
OUTCOME_COLUMNS = ["best_epoch", "engine", "retry_of", "fail_reason"]
# Every table has these columns in this order (csv and json keep them even when empty, so one script
# reads every study); text, markdown and html hide the empty ones. Columns beyond them follow, sorted.
COLUMNS = [*LEADING_COLUMNS, *OUTCOME_COLUMNS, *VOCABULARY]
# A PBT child's config lists every epoch's rate (``learning_rates``): `sweep best` writes it, the table names the
# child's leader and the epoch it was copied at instead (``pbt_parent``, ``pbt_epoch``). A first rung's
# ``decay_epochs`` (its cosine over the centre's epochs) is for retraining too.
RECORD_ONLY = ("learning_rates", "decay_epochs")
PBT_COLUMNS = ("pbt_parent", "pbt_epoch")


def _duration(trial) -> float:
    """Wall time; for a fused trial its share of the group's time (its wall time overlaps the others')."""
    if "fused_with" in trial.user_attrs and "train_seconds" in trial.user_attrs:
        return float(trial.user_attrs["train_seconds"])
    return trial.duration.total_seconds() if trial.duration else float("nan")


def trial_row(trial) -> dict[str, Any]:
    """One trial as a flat row: outcome columns, then its config."""
    curve = [trial.intermediate_values[step] for step in sorted(trial.intermediate_values)]
    value = score(trial)
    if value is None:  # no model: a running trial shows its last epoch
        value = trial.value if trial.value is not None else (curve[-1] if curve else float("nan"))
    retry_of = trial.user_attrs.get("retry_of", retried_trial_number(trial))
    config = trial.user_attrs.get("config", trial.params)
    return {
        "trial": trial.number,
        "state": trial.state.name,
        "val_accuracy": value,
        "epochs_run": len(curve),
        "duration_s": _duration(trial),
        "best_epoch": scored_epoch(trial),
        "engine": trial.user_attrs.get("engine", "optuna"),
        "retry_of": retry_of,
        "fail_reason": trial.user_attrs.get("fail_reason", ""),
        **{name: _cell(value) for name, value in config.items() if name not in RECORD_ONLY},
        **{name: trial.user_attrs[name] for name in PBT_COLUMNS if name in trial.user_attrs},
    }


def _cell(value: Any) -> Any:
    return "-".join(map(str, value)) if isinstance(value, list) else value


def baseline_of(study) -> dict[str, float] | None:
    return study.user_attrs.get("baseline")


def trials_table(study, states: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Every trial of ``study`` plus the baseline row, best first.

    ``rank`` orders the trials that made a model (complete, and pruned at their best epoch) and the
    baseline by val_accuracy; failed and running trials, and pruned ones that trained no epoch, follow
    without a rank.
    """
    rows = [trial_row(trial) for trial in study.get_trials(deepcopy=False)]
    baseline = baseline_of(study)
    if baseline:
        rows.append(
            {
                "trial": "baseline",
                "state": "BASELINE",
                "val_accuracy": baseline["val_accuracy"],
                "engine": "SGDClassifier",
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=COLUMNS)
    table = _rank(table)
    table["vs_baseline_pp"] = 100 * (table["val_accuracy"] - baseline["val_accuracy"]) if baseline else float("nan")
    if states:
        table = table[table["state"].isin([*states, "BASELINE"])]
    table = table.reindex(columns=[*COLUMNS, *sorted(set(table.columns) - set(COLUMNS))])
    return table.reset_index(drop=True).convert_dtypes()  # integer columns stay integers despite gaps


def _rank(table: pd.DataFrame) -> pd.DataFrame:
    ranked = table["state"].isin(RANKED_STATES) & table["val_accuracy"].notna()
    table = table.assign(_order=table["state"].map(STATE_ORDER).fillna(5).where(~ranked, 0))
    table = table.sort_values(["_order", "val_accuracy"], ascending=[True, False], na_position="last")
    ranked = ranked.loc[table.index]
    table["rank"] = pd.Series(range(1, ranked.sum() + 1), index=table.index[ranked], dtype="Int64")
    return table.drop(columns="_order")


def _drop_empty(table: pd.DataFrame) -> pd.DataFrame:
    """For people: columns that say nothing here (no retries, no failures, one engine, a knob no trial
    has) are left out. The leading columns always show."""
    optional = [c for c in table.columns if c not in LEADING_COLUMNS and c != "study"]
    empty = [c for c in optional if (table[c].isna() | (table[c].astype(object) == "")).all()]
    if "engine" in table and table.loc[table["state"] != "BASELINE", "engine"].nunique() <= 1:
        empty.append("engine")
    return table.drop(columns=empty)


def cut_to_top(table: pd.DataFrame, top: int | None) -> pd.DataFrame:
    """The first ``top`` rows; the baseline row always stays, whatever the cut."""
    if not top:
        return table
    return table[(pd.RangeIndex(len(table)) < top) | (table["state"] == "BASELINE").to_numpy()]


def baseline_rank(table: pd.DataFrame) -> int | None:
    rows = table.loc[table["state"] == "BASELINE", "rank"]
    return int(rows.iloc[0]) if len(rows) else None


def render(table: pd.DataFrame, fmt: str = "text") -> str:
    """The table as text, csv, markdown, json or html; csv and json keep every column, even empty ones."""
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "json":
        return table.to_json(orient="records", indent=1)
    shown = _for_people(_drop_empty(table))
    if fmt == "html":
        return shown.to_html(index=False)
    if fmt == "markdown":
        return shown.to_markdown(index=False, disable_numparse=True)
    return shown.to_string(index=False)


FORMATS = {"val_accuracy": "{:.4f}", "vs_baseline_pp": "{:+.2f}", "duration_s": "{:.1f}", "learning_rate": "{:.2e}"}


def _for_people(table: pd.DataFrame) -> pd.DataFrame:
    """Blank for missing, four decimals for accuracy, short floats elsewhere."""

    def cell(column: str, value: Any) -> str:
        if value is None or value is pd.NA or (isinstance(value, float) and value != value):
            return ""
        if isinstance(value, float):
            return FORMATS.get(column, "{:.4g}").format(value)
        return str(value)

    return pd.DataFrame({c: [cell(c, v) for v in table[c].astype(object)] for c in table.columns})

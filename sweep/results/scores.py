"""What a stored trial scores: every model a sweep trained counts, at its best epoch.

A completed trial scores its best epoch (the value it was told). A pruned trial stopped early, but the
epochs it trained made a model too: it scores the best epoch it reported, and ``sweep best`` then
``sweep train`` retrain it for that many epochs, a cosine schedule still annealing over the epochs it
was drawn with, as KerasTuner's Hyperband keeps the models of its short rounds. Failed, interrupted,
running and waiting trials score nothing. The ranked table, ``sweep best``, the report, the progress
line and the best-so-far curve all read their scores here.
"""

from __future__ import annotations

from typing import Any

SCORED_STATES = ("COMPLETE", "PRUNED")


def score(trial) -> float | None:
    """The trial's val_accuracy as a model: its told value, or a pruned trial's best epoch (None: no model)."""
    if trial.state.name == "COMPLETE":
        return trial.value
    if trial.state.name == "PRUNED" and trial.intermediate_values:
        return max(trial.intermediate_values.values())
    return None


def scored_epoch(trial) -> int | None:
    """The epoch (from 1) the score comes from: the first of equals (None: not known, or no model)."""
    if trial.state.name == "COMPLETE":
        return trial.user_attrs.get("best_epoch")
    if score(trial) is None:
        return None
    curve = trial.intermediate_values
    return min(step for step, value in curve.items() if value == score(trial))


def ranked_trials(study_or_trials) -> list[Any]:
    """The trials (of a study, or a list of them) that made a model, best first (equal scores: the earlier
    trial first)."""
    trials = study_or_trials if isinstance(study_or_trials, list) else study_or_trials.get_trials(deepcopy=False)
    scored = [trial for trial in trials if score(trial) is not None]
    return sorted(scored, key=lambda trial: (-score(trial), trial.number))


def best_trial(study_or_trials) -> Any | None:
    """The trial with the best score, pruned ones included (None: no trial has made a model yet)."""
    ranked = ranked_trials(study_or_trials)
    return ranked[0] if ranked else None


def pruned_note(trial) -> str:
    """What a pruned trial's label adds, such as ", pruned, best epoch 7"; nothing for a completed one."""
    return f", pruned, best epoch {scored_epoch(trial)}" if trial.state.name == "PRUNED" else ""

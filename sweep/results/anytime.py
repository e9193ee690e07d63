"""Best-so-far against wall-clock time: what a user feels of a sweep ("a good model by lunch").

Each trial that made a model (``sweep.results.scores``: completed, or pruned at its best epoch) is
placed at the moment it finished, measured from a start (by default the moment the study's first trial
started), and the curve is the best val_accuracy finished by then. Trials still running or failed add
nothing. A study resumed after a night's pause shows the pause too, as the wall clock does.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from sweep.results.scores import score as stored_score


def best_reported(trial) -> float | None:
    """The best epoch a trial reported (its stored value if it reported none): one rule for trials of any
    origin, such as a hand-written loop that returns its last epoch. None: it made no model."""
    if stored_score(trial) is None:
        return None
    return max(trial.intermediate_values.values(), default=trial.value)


def best_so_far(
    study,
    started: datetime.datetime | None = None,
    budget_s: float | None = None,
    score: Callable[[Any], float | None] = stored_score,
) -> list[tuple]:
    """[(seconds since ``started``, best score by then, trial number)] at each improvement; only trials
    that finished within ``budget_s`` and made a model (``score`` is not None) count."""
    trials = [t for t in study.get_trials(deepcopy=False) if t.datetime_start is not None]
    if not trials:
        return []
    started = started or min(t.datetime_start for t in trials)
    finished = sorted(
        (t for t in trials if t.datetime_complete is not None and score(t) is not None),
        key=lambda t: t.datetime_complete,
    )
    points, best = [], float("-inf")
    for trial in finished:
        seconds = (trial.datetime_complete - started).total_seconds()
        if budget_s is not None and seconds > budget_s:
            break
        if score(trial) > best:
            best = score(trial)
            points.append((seconds, best, trial.number))
    return points


def seconds_to_reach(points: list[tuple], target: float) -> float | None:
    """When the curve first reached ``target`` (None: not within the points)."""
    return next((seconds for seconds, best, _ in points if best >= target), None)


def anytime_figure(study) -> Any:
    """The best-so-far curve as a plotly step plot (the report adds the baseline line)."""
    import plotly.graph_objects as go

    points = best_so_far(study)
    if not points:
        return "No completed trial yet."
    minutes = [seconds / 60 for seconds, _, _ in points]
    figure = go.Figure(
        go.Scatter(
            x=minutes,
            y=[best for _, best, _ in points],
            mode="lines+markers",
            line_shape="hv",
            text=[f"trial {number}" for _, _, number in points],
            name="best so far",
        )
    )
    figure.update_layout(xaxis_title="minutes since the first trial started", yaxis_title="best val_accuracy so far")
    return figure

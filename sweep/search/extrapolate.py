"""Learning-curve extrapolation (``--pruner curve``): the median rule, and also a trial whose own curve, carried to
its last epoch, ends below the study's best model.

Domhan, Springenberg and Hutter (2015) stop a network whose extrapolated curve is unlikely to beat the best
so far; their likeliest single model of a learning curve is ``pow3``, ``c - a * t ** -alpha``, which rises ever
more slowly towards ``c``. Sweep fits it to a trial's val_accuracy by least squares (SciPy's ``curve_fit``,
bounded so that the curve rises and ends within [0, 1]) from ``CURVE_FROM`` epochs on, reads it at the trial's
last epoch, and prunes where that stays more than ``CURVE_MARGIN`` below the best completed trial. The margin
leaves room for what the fit cannot see: a rate cut on a plateau, or the last epochs of an annealed rate, which
lift a curve late. Where the fit fails, or no trial has completed, the curve rule keeps the trial and only the
median judges it.
"""

from __future__ import annotations

import math
import warnings

CURVE_FROM = 4  # epochs before a curve is fitted: pow3 has three parameters
CURVE_MARGIN = 0.005  # the extrapolated end must fall this far below the best completed trial to prune


def pow3(epoch, ceiling: float, scale: float, rate: float):
    """Domhan et al.'s pow3 curve at ``epoch`` (a number or a NumPy array)."""
    return ceiling - scale * epoch ** (-rate)


def extrapolated(curve: list[float], epoch: int) -> float | None:
    """The val_accuracy that ``pow3``, fitted to ``curve`` (epochs 1, 2, ...), reaches at ``epoch``; None where
    the curve is too short or the fit fails."""
    import numpy as np
    from scipy.optimize import OptimizeWarning, curve_fit

    if len(curve) < CURVE_FROM or not all(math.isfinite(value) for value in curve):
        return None
    epochs = np.arange(1, len(curve) + 1, dtype=float)
    start = (max(curve), max(max(curve) - curve[0], 1e-3), 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        try:
            fitted, _ = curve_fit(pow3, epochs, np.asarray(curve), p0=start, bounds=((0, 0, 0.01), (1, 1, 5)))
        except (RuntimeError, ValueError):  # no convergence within curve_fit's evaluations
            return None
    return float(pow3(float(epoch), *fitted))


def falls_short(curve: list[float], epochs: int, best: float, margin: float = CURVE_MARGIN) -> bool:
    """Whether a trial of ``epochs`` epochs that has reported ``curve`` so far ends, extrapolated, more than
    ``margin`` below ``best``. Its best epoch so far counts too: a trial is scored on its best epoch."""
    if len(curve) >= epochs:
        return False  # done: nothing left to save
    ending = extrapolated(curve, epochs)
    return ending is not None and max(ending, *curve) < best - margin


def with_extrapolation(pruner):
    """``pruner``, and also the curve rule (``falls_short``) against the best completed trial."""
    import optuna
    from optuna.trial import TrialState

    class CurveBelowBest(optuna.pruners.BasePruner):
        def prune(self, study, trial) -> bool:
            return pruner.prune(study, trial) or self._falls_short(study, trial)

        @staticmethod
        def _falls_short(study, trial) -> bool:
            completed = [t.value for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
            epochs = trial.user_attrs.get("config", {}).get("epochs") or trial.params.get("epochs")
            if not completed or not epochs:
                return False
            curve = [trial.intermediate_values[step] for step in sorted(trial.intermediate_values)]
            return falls_short(curve, int(epochs), max(completed))

    return CurveBelowBest()

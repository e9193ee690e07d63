"""Epochs as a budget (``sweep run --epochs-budget``): the number of epochs is found, not drawn.

With a held learning rate, the first N epochs of a trial are the very model an N-epoch trial makes (same
weights, same batches, same rate). Drawn, ``epochs`` is then only where a trial stops: a good trial drawn with
9 epochs stops at its 9th while still improving, a weak one drawn with 30 trains to its 30th unless pruned, and
the sampler spends a dimension on a parameter that changes nothing but the time. As a budget, every trial may
train up to the space's most epochs: the pruner stops the weak ones at equal epochs, as KerasTuner's Hyperband
stops its rounds, and a trial that has not improved for ``PATIENCE`` epochs stops as complete, as Keras's
``EarlyStopping`` would stop it. Its best epoch is its number of epochs: ``sweep best`` writes it, and
``sweep train`` trains that many.

A cosine schedule anneals over the drawn epochs, so there ``epochs`` changes the model: such a space is refused.
"""

from __future__ import annotations

import dataclasses

from sweep.search.policy import OptionConflict
from sweep.space import Param, SearchSpace

PATIENCE = 5  # epochs without a better val_accuracy before a budgeted trial stops (Keras's EarlyStopping patience)


def holds_rate(space: SearchSpace, every_trial: bool = True) -> bool:
    """Whether the space holds the learning rate for every trial (``every_trial``) or for some: no
    ``lr_schedule``, or one that is (or may be drawn) ``constant``. Rate cuts (``search.plateau``) apply there."""
    schedule = space.params.get("lr_schedule")
    if schedule is None:
        return True
    if schedule.fixed:
        return schedule.value == "constant"
    return not every_trial and "constant" in schedule.values()


def budgeted(space: SearchSpace) -> SearchSpace | None:
    """The space with ``epochs`` fixed at its most, and dropped from its starts; None where epochs is not a
    budget: a fixed or conditional ``epochs``, or a learning rate that is not held for every
    trial, such as an annealed one (it anneals over the drawn epochs, so there they shape the model)."""
    epochs = space.params.get("epochs")
    if epochs is None or epochs.fixed or epochs.when or epochs.key or not holds_rate(space):
        return None
    most = int(max(epochs.values() or [epochs.high]))
    params = {**space.params, "epochs": Param("epochs", value=most)}
    starts = tuple({name: value for name, value in start.items() if name != "epochs"} for start in space.starts)
    return dataclasses.replace(space, params=params, starts=tuple(start for start in starts if start))


def budgeted_or_refused(space: SearchSpace) -> SearchSpace:
    """``budgeted(space)``, or OptionConflict in one line where epochs is not a budget there."""
    budget = budgeted(space)
    if budget is None:
        raise OptionConflict(
            f"--epochs-budget needs a space whose epochs is a range for every trial and whose learning rate is held "
            f"(no lr_schedule, or lr_schedule: constant); space {space.name!r} is not: drop --epochs-budget, or "
            "change the space"
        )
    return budget


def stalled(curve: list[float], patience: int = PATIENCE) -> bool:
    """Whether the last ``patience`` epochs of ``curve`` brought no better val_accuracy than the best before."""
    best_epoch = max(range(len(curve)), key=lambda index: (curve[index], -index)) + 1 if curve else 0
    return len(curve) - best_epoch >= patience

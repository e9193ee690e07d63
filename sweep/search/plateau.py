"""Rate cuts: a trial whose rate the space holds has it cut when its val_accuracy stops improving.

This is Keras's ``ReduceLROnPlateau`` (monitor val_accuracy, ``factor`` ``CUT_FACTOR``, ``patience``
``PLATEAU_EPOCHS``), and the explore step of population-based training for one member: the rate moves with
what the trial's own curve shows, not on a schedule fixed in advance. The search decides a cut after an epoch
and records it in the trial's config (``rate_cuts``: the epochs after which the rate was cut, and
``cut_factor``); training reads the rates from there (``sweep.training.epoch_learning_rates``), solo or fused,
so ``sweep best`` writes them and ``sweep train`` replays them. Trials of a space that anneals the rate
(``lr_schedule: cosine``) keep their schedule.

Measured on the mlp space (12,000 training images, the same seed, a cut after 2 epochs without a better
val_accuracy): four good configs of one run scored 0.8826 against 0.8748, 0.8808 against 0.8665, 0.8619
against 0.8574 and 0.8650 against 0.8618 held (docs: scoring and pruning).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sweep.search.epochs import holds_rate, stalled
from sweep.search.policy import OptionConflict
from sweep.training import CUT_FACTOR

if TYPE_CHECKING:
    from sweep.space import SearchSpace

PLATEAU_EPOCHS = 2  # epochs without a better val_accuracy (since the last cut) before the rate is cut


def cuts_apply(config: dict[str, Any]) -> bool:
    """Whether the search may cut this trial's rate: the space holds it (no ``lr_schedule``, or ``constant``), and
    it is not a PBT child's, whose every epoch's rate is set (``learning_rates``)."""
    return config.get("lr_schedule", "constant") == "constant" and not config.get("learning_rates")


def cuts_or_refused(space: SearchSpace) -> None:
    """OptionConflict in one line where ``--rate-cuts`` would cut no trial's rate: a space that anneals it."""
    if not holds_rate(space, every_trial=False):
        raise OptionConflict(
            f"--rate-cuts cuts a held learning rate, and space {space.name!r} anneals it for every trial "
            "(lr_schedule: cosine): drop --rate-cuts, or change the space"
        )


def plateaued(curve: list[float], cuts: list[int], patience: int = PLATEAU_EPOCHS) -> bool:
    """Whether the last ``patience`` epochs, counted from the best epoch or the last cut (whichever is later),
    brought no better val_accuracy than the best so far: ReduceLROnPlateau's wait, reset by a cut."""
    return stalled(curve, patience) and len(curve) - (cuts[-1] if cuts else 0) >= patience


def cut_on_plateau(config: dict[str, Any], curve: list[float]) -> bool:
    """After an epoch of a trial: cut its held rate if it has plateaued and epochs remain, recording the cut in
    ``config`` (which training reads before the next epoch). True when it cut."""
    cuts = config.get("rate_cuts", [])
    if not cuts_apply(config) or len(curve) >= config["epochs"] or not plateaued(curve, cuts):
        return False
    config["rate_cuts"] = [*cuts, len(curve)]
    config.setdefault("cut_factor", CUT_FACTOR)
    return True

"""Search policy: which sampler proposes trials and which pruner stops them, chosen by name."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI reads SAMPLERS and PRUNERS at start-up: nothing heavy here
    from sweep.space import SearchSpace

SAMPLERS = ("tpe", "tpe-multivariate", "random")
PRUNERS = ("median", "patient", "curve", "asha", "hyperband", "none")
MEDIANS = ("median", "patient", "curve")  # the pruners that are Optuna's median rule (curve: and more)
# the pruners the hopeless rule can wrap: not Hyperband, whose brackets TPE reads from study.pruner itself
HOPELESS_WRAPPED = (*MEDIANS, "asha")


class OptionConflict(ValueError):
    """An option that the chosen engine or pruner would ignore without a word."""


def check_options(
    engine: str,
    pruner: str,
    prune_hopeless: bool | None,
    leaders_first: bool = False,
    fuse: int | str = "auto",
    grow: bool | None = False,
    epochs_budget: bool = False,
    rate_cuts: bool | None = None,
    pbt: bool = False,
) -> None:
    """Refuse, in one line, what would silently do nothing: a pruner prunes Optuna's trials only, the hopeless
    rule wraps Optuna's median pruner only, only Optuna's fused groups have places to leave empty for leaders, to
    open as they grow or to give to a leader's copies (PBT), and only Optuna's trials take epochs as a budget
    (KerasTuner's Hyperband sets its own; its random search draws them) or have their rate cut on a plateau
    (KerasTuner's trials train as the space says)."""
    if pruner != "median" and engine != "optuna":  # KerasTuner's tuners stop their own trials, or none
        raise OptionConflict(
            f"--pruner {pruner} prunes Optuna's trials, not those of --engine {engine}: drop --pruner, or use "
            "--engine optuna"
        )
    for flag, chosen in (("--epochs-budget", epochs_budget), ("--rate-cuts", rate_cuts)):
        if chosen and engine != "optuna":
            raise OptionConflict(
                f"{flag} trains Optuna's trials, not those of --engine {engine}: drop {flag}, or use --engine optuna"
            )
    for flag, chosen in (("--leaders-first", leaders_first), ("--grow", grow), ("--pbt", pbt)):
        if chosen and (engine != "optuna" or str(fuse) == "1"):
            used = f"--engine {engine}" if engine != "optuna" else "--fuse 1"
            raise OptionConflict(
                f"{flag} orders Optuna's fused groups, not {used}: "
                f"drop {flag}, or use --engine optuna with --fuse auto or above 1"
            )
    if prune_hopeless and (engine != "optuna" or pruner not in HOPELESS_WRAPPED):
        used = f"--engine {engine}" if engine != "optuna" else f"--pruner {pruner}"
        raise OptionConflict(
            f"--prune-hopeless works with Optuna's median and asha pruners only, not with {used}: "
            "drop --prune-hopeless, or use --engine optuna --pruner median, patient, curve or asha"
        )


def make_sampler(name: str, seed: int, parallel: bool = False):
    """``parallel``: trials are asked while others run (fused groups), so TPE lies about the
    running ones (``constant_liar``) and does not propose the same point K times.
    ``tpe-multivariate``: TPE models the parameters jointly (``multivariate``), in groups of those that
    appear together (``group``: the units of each depth)."""
    import optuna

    if name in ("tpe", "tpe-multivariate"):
        joint = name == "tpe-multivariate"
        with warnings.catch_warnings():  # multivariate and group are "experimental" in Optuna's words
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(seed=seed, constant_liar=parallel, multivariate=joint, group=joint)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(f"sampler {name!r} is unknown; expected one of {', '.join(SAMPLERS)}")


LEADER_AFTER = 3  # epochs before a running trial can lead: the first epochs rank trials poorly


def leads(curve: list[float], best_curve: dict[int, float], after: int = LEADER_AFTER) -> bool:
    """Whether a running trial is ahead of the study's best trial as that one stood at the same epoch: its best
    val_accuracy so far at least the best trial's by then, from epoch ``after`` on. With
    ``--leaders-first`` a fused group takes no new trials while one leads, so it shrinks and the trial most
    likely to be the next best model finishes sooner (in a 20-minute run, the best trial spent 474 s of it
    in a group of 8)."""
    epoch = len(curve)
    reached = [value for step, value in best_curve.items() if step <= epoch]
    return epoch >= after and bool(reached) and max(curve) >= max(reached)


GROW_FROM = 2  # places a growing group opens first


def places(finished: int, capacity: int) -> int:
    """A growing group's places (``--grow``): ``GROW_FROM`` at first, one more for every finished trial of the
    study (complete or pruned), up to ``capacity``. A small group trains each epoch sooner, so its first trials
    finish sooner; a full one trains more trials per hour once the first results are in. Counted on completed
    trials alone, the early median's prunings kept the group at 2-4 places for most of a 5-minute run (46% of
    its places live on the mlp space)."""
    return min(capacity, GROW_FROM + finished)


GROUP_EPOCH_S = 10.0  # --fuse auto: a group takes new trials only while its epochs fit this (group.places_within)


def ends_late(pace_s: float, epochs_left: int, now: float, deadline: float | None) -> bool:
    """Whether ``epochs_left`` more epochs at ``pace_s`` seconds each would end after the ``--timeout``
    deadline. Past the deadline the group stops anyway and its trials are retried, so nothing ends late then."""
    return deadline is not None and now < deadline and now + pace_s * epochs_left > deadline


def next_epoch_ends_late(started: float, epochs_done: int, now: float, deadline: float | None) -> bool:
    """Whether a trial's next epoch, at its own pace so far (wall-clock seconds per epoch since it ``started``),
    would end after the ``--timeout`` deadline. The trial is pruned there, and the model its epochs made counts
    at its best epoch (``sweep.results.scores``), and the run ends on time rather than an epoch late. Until then
    it trains on, whether or not it can finish: with a held rate, 12 epochs of a 30-epoch trial are the same
    model as a 12-epoch trial."""
    return bool(epochs_done) and ends_late((now - started) / epochs_done, 1, now, deadline)


def too_late_to_start(pace_s: float | None, best_epochs: int | None, now: float, deadline: float | None) -> bool:
    """Whether a new trial, at ``pace_s`` seconds an epoch, could no longer train as many epochs as the best model
    so far took (``best_epochs``, its scored epoch) before the ``--timeout`` deadline. A fused group that still
    trains trials then takes no new ones, and the trials it has get the cores: in twelve 5-minute runs on the mlp
    and own-model spaces, the trials started in the last 2 minutes (11-31 a run) trained 9-28% of the epochs and
    made the best model in none."""
    return pace_s is not None and bool(best_epochs) and ends_late(pace_s, best_epochs, now, deadline)


HOPELESS_MARGIN = 0.10  # below the baseline's val_accuracy by this much ...
HOPELESS_AFTER = 2  # ... after this many epochs: hopeless


PATIENT_WARMUP = 3  # the patient median judges a trial from its third epoch on (sweep reports epochs from 1) ...
PATIENT_PEERS = 5  # ... and only at an epoch that at least this many completed trials reached


def make_pruner(name: str, max_epochs: int, prune_hopeless: bool | None = None):
    """Optuna's pruner of that name; with ``prune_hopeless`` (None: wherever it applies), the median rule is asked
    only of trials that are not hopeless (Hyperband stays unwrapped: TPE reads its brackets from ``study.pruner``).

    ``median`` compares a trial's best so far with the completed trials' median at the same epoch, from
    the first epoch on (``n_warmup_steps=1`` exempts steps below 1, and sweep's first epoch is step 1); before
    ``MEDIAN_STARTUP`` trials complete, with the median of every trial at that epoch (``_peers_first``).
    ``patient`` is the same rule with ``PATIENT_WARMUP`` and ``PATIENT_PEERS``: the first epochs rank trials
    poorly, and at a late epoch the "median" of the one or two long trials that completed is the best of them,
    not a median. It tied the median at 20 minutes on the notes' space (README, Numbers), so ``median`` stays
    the default. ``curve`` is the median rule and also learning-curve extrapolation (``sweep.search.extrapolate``):
    a trial whose fitted curve ends below the best completed trial stops."""
    import optuna

    if name in ("median", "curve"):
        pruner = _peers_first(optuna.pruners.MedianPruner(n_startup_trials=MEDIAN_STARTUP, n_warmup_steps=1))
        if name == "curve":
            from sweep.search.extrapolate import with_extrapolation

            pruner = with_extrapolation(pruner)
    elif name == "patient":
        pruner = optuna.pruners.MedianPruner(
            n_startup_trials=MEDIAN_STARTUP, n_warmup_steps=PATIENT_WARMUP, n_min_trials=PATIENT_PEERS
        )
    elif name == "asha":
        pruner = asha_pruner()
    elif name == "hyperband":
        pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs, reduction_factor=3)
    elif name == "none":
        return optuna.pruners.NopPruner()
    else:
        raise ValueError(f"pruner {name!r} is unknown; expected one of {', '.join(PRUNERS)}")
    return _below_baseline(pruner) if prune_hopeless is not False and name in HOPELESS_WRAPPED else pruner


MEDIAN_STARTUP = 5  # completed trials before Optuna's median rule judges (its n_startup_trials) ...
PEERS_AT_EPOCH = 3  # ... until then a trial is judged against the other trials that reached its epoch, once this many


def _peers_first(median):
    import math
    import statistics

    import optuna
    from optuna.trial import TrialState

    class PeersFirst(optuna.pruners.BasePruner):
        """The median rule before it wakes: until ``MEDIAN_STARTUP`` trials have completed, a trial whose best
        val_accuracy so far is below the median of what the other trials (running, pruned or complete) reported
        at the same epoch is pruned, once ``PEERS_AT_EPOCH`` of them reached it. Where an epoch costs seconds
        few trials complete within minutes (two or three of 13 in 5 minutes on the cnn space), and Optuna's rule,
        which counts completed trials only, let two MLPs at 0.84 train 13 epochs each beside the CNNs for 4 of
        the 5 minutes. The other branches of a fused group report at the same epochs, so the first group is
        judged at once, as successive halving judges it, but at every epoch and against the median."""

        def prune(self, study, trial) -> bool:
            states = (TrialState.RUNNING, TrialState.PRUNED, TrialState.COMPLETE)
            others = study.get_trials(deepcopy=False, states=states)  # read once
            if sum(t.state == TrialState.COMPLETE for t in others) >= MEDIAN_STARTUP:
                return median.prune(study, trial)
            step = trial.last_step
            if step is None:
                return False
            peers = [t.intermediate_values.get(step, math.nan) for t in others if t.number != trial.number]
            peers = [value for value in peers if math.isfinite(value)]  # not there yet, or diverged
            best = max(trial.intermediate_values.values())
            return len(peers) >= PEERS_AT_EPOCH and not best >= statistics.median(peers)  # a NaN best too

    return PeersFirst()


ASHA_MIN_EPOCHS = 1  # the first rung: one epoch, as KerasTuner's Hyperband starts its first bracket
ASHA_REDUCTION = 3  # a third of the trials at a rung go on to the next: rungs at epochs 1, 3, 9, 27


def asha_pruner():
    """Asynchronous successive halving (``asha``): a trial goes on past epoch 1, 3, 9, ... only while its
    val_accuracy there is in the top third of all trials that reached that epoch (the best one while fewer than
    three have). Unlike the median rule it needs no completed trials, so it judges the first fused group at
    once, and each rung compares trials at an epoch all of them trained, not against the one or two long trials
    that completed (the median's weakness at late epochs). Unlike ``hyperband`` it keeps a single bracket, so
    TPE sees one pool of trials.

    Optuna's rule promotes the first trial to reach a rung whatever its value, and in a fused group the first
    to report is whichever bucket trained first: on the cnn benchmark a 15-epoch trial at 0.38 went through every
    rung and held one of a growing group's two places for most of 5 minutes. ``--prune-hopeless`` wraps asha
    too, so such a trial stops after ``HOPELESS_AFTER`` epochs."""
    import optuna

    return optuna.pruners.SuccessiveHalvingPruner(
        min_resource=ASHA_MIN_EPOCHS, reduction_factor=ASHA_REDUCTION, min_early_stopping_rate=0
    )


def _below_baseline(pruner):
    import optuna

    class BelowBaseline(optuna.pruners.BasePruner):
        """Prunes a trial whose best val_accuracy after ``HOPELESS_AFTER`` epochs is still more than
        ``HOPELESS_MARGIN`` below the study's SGDClassifier baseline, then asks ``pruner``. Optuna's median
        rule sleeps until five trials complete, and the early median needs three trials at an epoch: minutes of
        places spent on trials that learn nothing (SGD at a tiny learning rate, at 0.3 after 10 epochs) where
        epochs are slow; the baseline is known at once."""

        def prune(self, study, trial) -> bool:
            reported = trial.intermediate_values
            baseline = study.user_attrs.get("baseline", {}).get("val_accuracy")
            known = len(reported) >= HOPELESS_AFTER and baseline is not None
            return (known and max(reported.values()) < baseline - HOPELESS_MARGIN) or pruner.prune(study, trial)

    return BelowBaseline()


def max_epochs(space: SearchSpace) -> int:
    epochs = space.params.get("epochs")
    if epochs is None:
        return 5
    return int(epochs.value if epochs.fixed else max(epochs.values() or [epochs.high]))

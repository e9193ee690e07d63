"""What a run is asked to do (``SweepSettings``), and the names every part of the search shares."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from sweep.data import DataSource
from sweep.results import format_seconds
from sweep.search.epochs import PATIENCE, budgeted_or_refused
from sweep.search.policy import GROUP_EPOCH_S
from sweep.space import SearchSpace, load_space
from sweep.training import Builder, resolve_fuse

FINISHED = ("COMPLETE", "PRUNED")
INTERRUPTED = "interrupted by a signal; retried on resume"
NOT_RUN = "not run: the study reached its trial count while it was asked"
MAX_CONSECUTIVE_FAILURES = 5
DEFAULT_TRIALS = 20  # a run given neither a trial count nor a timeout


class SweepStopped(RuntimeError):
    """The sweep gave up early (too many failures in a row); the message says why."""


class TargetReached(RuntimeError):
    """A trial asked after the study's trial count was taken by other workers; stored as FAIL, never run."""


class Recycle(Exception):  # noqa: N818  (a request, not an error)
    """This process ran its share of trials; a fresh one should continue the study.

    Keras and TensorFlow keep a few MB per built model even after ``clear_session()``
    (measured: about 4 MB per trial), so a long sweep hands over to a fresh process every
    ``recycle_after`` trials and resident memory stays bounded.
    """


@dataclasses.dataclass
class SweepSettings:
    """Everything ``sweep run`` can set. Defaults give the plain call."""

    space: Any = "notes"  # a name, a path, a dict or a SearchSpace
    storage: str | None = None
    study: str | None = None  # default: the space's name
    trials: int | None = 20  # total finished (complete + pruned) trials the study should hold
    timeout: float | None = None  # seconds for this invocation
    sampler: str = "tpe"
    pruner: str = "median"
    prune_hopeless: bool | None = None  # prune trials far below the baseline after 2 epochs; None: where it applies
    leaders_first: bool = False  # a fused group takes no new trials while one leads the best (policy.leads)
    grow: bool | None = None  # a fused group opens its places one finished trial at a time (policy.places);
    # None: with --fuse auto, where sweep sizes the group
    epochs_budget: bool = False  # epochs found, not drawn: up to the space's most, stopped early (search.epochs)
    rate_cuts: bool = True  # a held rate is cut when val_accuracy stops improving (search.plateau)
    pbt: bool = False  # a place the pruner frees goes to a copy of the group's leader (search.pbt)
    seed: int = 42
    max_train: int | str | None = None  # the first N training rows; None or "all": every row
    data: DataSource | str | None = None  # a path is made a DataSource once, here
    max_failures: int = MAX_CONSECUTIVE_FAILURES
    worker: int = 0  # index among this machine's workers: varies the sampler seed
    recycle_after: int | None = 50  # trials per process before a fresh one takes over (0/None: never)
    fuse: int | str = 1  # trials trained together as one Keras program (1: one at a time; auto: time-boxed)
    group_epoch_s: float | None = None  # a group takes trials only while its epochs fit this (auto sets it)
    started: float | None = None  # wall-clock start of the whole run, kept across recycled processes
    model: str | None = None  # a builder of the user's own (module:function); None: the space's, or sweep's
    warm_start: tuple[dict[str, Any], ...] = ()  # configs to try first after the space's starts (an earlier study's)

    def search_space(self) -> SearchSpace:
        """The space the driver samples: as loaded, or with ``epochs`` as a budget where that applies."""
        space = load_space(self.space, self.model)
        return budgeted_or_refused(space) if self.epochs_budget else space

    def patience(self) -> int | None:
        """Epochs without improvement after which a trial stops early (None: trials run their drawn epochs)."""
        return PATIENCE if self.epochs_budget else None

    def builder(self, space: SearchSpace) -> Builder:
        """The model every trial of this run trains: the one given, else the space file's, else sweep's."""
        return Builder.of(self.model or space.model)

    def __post_init__(self) -> None:
        self.data = DataSource.of(self.data)
        if self.grow is None:
            self.grow = self.fuse == "auto"
        if self.fuse == "auto":  # as many as the device takes, and only as many as train an epoch within the box
            self.fuse, self.group_epoch_s = resolve_fuse("auto"), GROUP_EPOCH_S
        self.fuse = int(self.fuse)

    def deadline(self) -> float | None:
        """Wall-clock time after which no trial starts."""
        return (self.started or time.time()) + self.timeout if self.timeout else None

    def study_name(self, space: SearchSpace) -> str:
        return self.study or space.name

    def stopping_rule(self) -> str:
        """When this run stops, in the words of its start line."""
        if self.trials is None:
            return f"runs until the deadline ({format_seconds(self.timeout)}), however many trials that takes"
        count = f"until the study holds {self.trials} finished trials"
        return f"{count} or {format_seconds(self.timeout)} pass, whichever comes first" if self.timeout else count


def trial_target(trials: int | None, timeout: float | None) -> int | None:
    """The finished trials a run aims at. Without ``trials``, a run with a timeout goes on until the deadline
    (as Optuna's ``optimize(n_trials=None, timeout=...)``), and a run with neither stops at DEFAULT_TRIALS."""
    if trials is not None:
        return trials
    return None if timeout else DEFAULT_TRIALS

"""Fused trials on Optuna's ask-and-tell interface.

The driver asks the sampler for up to K trials at once (TPE's ``constant_liar`` keeps
parallel proposals apart), ``group.train_group`` trains them as one Keras program, and
each branch's outcome is told to its own Optuna trial. Every fused trial stays an ordinary
trial: params, config, seed, per-epoch curve (``trial.report``), ``fail_reason``, its share
of the group's time (``train_seconds``), its data order and ``fused_with``. The group's
running trials keep a heartbeat (``search.heartbeats``).
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
import warnings
from collections.abc import Callable
from typing import Any

from sweep.results import StorageError, best_trial, scored_epoch
from sweep.search.epochs import stalled
from sweep.search.heartbeats import heartbeats_for
from sweep.search.pbt import child_params, child_rates, pick_leader
from sweep.search.plateau import cut_on_plateau
from sweep.search.policy import ends_late, leads, next_epoch_ends_late, places, too_late_to_start
from sweep.search.settings import INTERRUPTED, NOT_RUN
from sweep.search.study import FIRST_RUNG, FIRST_TRIES, RUNG_OF, OptunaSuggester, best_epoch, resident_mb
from sweep.space import SearchSpace
from sweep.training import Branch, signals, train_group

log = logging.getLogger(__name__)

TOO_SLOW = "pruned: at its pace its next epoch would end after the --timeout deadline"
DEADLINE_REASON = "pruned: its last epoch ended after the --timeout deadline"


@dataclasses.dataclass
class Pace:
    """Seconds per epoch of the latest trial to report, kept across a worker's groups: in the last seconds of
    a ``--timeout`` run, the worker knows from its last group that no epoch fits, and opens no other."""

    seconds: float | None = None

    def no_epoch_fits(self, deadline: float | None) -> bool:
        """Whether one epoch at this pace, started now, would end after the deadline. (Trials told pruned
        untrained, as sweep did until 2026-12-05, read to TPE as bad draws: in a 5-minute run on the mlp space
        50 of 100 were, most of them drawn with many epochs.)"""
        return self.seconds is not None and ends_late(self.seconds, 1, time.time(), deadline)


class TrialHooks:
    """The driver's side of a group: ask new trials, tell each branch's outcome."""

    def __init__(
        self,
        study,
        space: SearchSpace,
        seed: int,
        slots: Callable[[int], int],
        heartbeats,
        callbacks: list[Any] = (),
        shuffle_seed: int = 0,
        beyond: Callable[[int], bool] = lambda number: False,
        leaders_first: bool = False,
        grow: bool = False,
        deadline: float | None = None,
        pace: Pace | None = None,
        patience: int | None = None,
        rate_cuts: bool = False,
        pbt: bool = False,
    ):
        self.study, self.space, self.seed, self.slots = study, space, seed, slots
        self.heartbeats, self.callbacks, self.shuffle_seed = heartbeats, list(callbacks), shuffle_seed
        self.beyond, self.leaders_first, self.grow, self.deadline = beyond, leaders_first, grow, deadline
        self.running: dict[int, Branch] = {}
        self.pace, self.patience = pace or Pace(), patience  # patience: see epochs.stalled
        self.rate_cuts = rate_cuts  # a held rate is cut on a plateau (search.plateau)
        self.pbt, self.freed, self.had_a_child = pbt, 0, set()  # population-based training (search.pbt)
        self.firsts: set[int] = set()  # the numbers of the configs tried first among the trials asked
        self.firsts_over = False
        self.group_name: str | None = None
        self.told = 0

    def more(self, free: int) -> list[Branch]:
        signals.check()
        branches = self._children(free) if self.pbt else []
        for _ in range(0 if self._no_new_trials() else self._room(free - len(branches))):
            trial = self._ask()
            if trial is None:
                break
            if trial.user_attrs.keys() & FIRST_TRIES:
                self.firsts.add(trial.number)
            config = self.space.sample(OptunaSuggester(trial))
            seed = self.seed + trial.number  # as a solo trial's: `sweep best` + `sweep train` retrain it
            branches.append(self._start(Branch(trial, f"trial_{trial.number}", config, seed)))
        return branches

    def _ask(self, params: dict[str, Any] | None = None):
        """A new trial of the study (with these ``params``, queued first once its place is granted), or None when
        the study wants no more."""
        from optuna.trial import TrialState

        if not self.slots(1):  # counted afresh before every ask: workers racing for the last trials
            return None
        if params is not None:
            self.study.enqueue_trial(params, skip_if_exists=False)
        with warnings.catch_warnings():  # "heartbeat is supposed to be used with optimize": we beat ourselves
            warnings.simplefilter("ignore", UserWarning)
            trial = self.study.ask()
        if self.beyond(trial.number):  # another worker took the last place first: this one never runs
            trial.set_user_attr("fail_reason", NOT_RUN)
            self.study.tell(trial, state=TrialState.FAIL)  # no callbacks: no training failed
            return None
        self.heartbeats.add(trial._trial_id)  # noqa: SLF001
        return trial

    def _start(self, branch: Branch) -> Branch:
        trial = branch.handle
        self.group_name = self.group_name or f"group-{trial.number}"
        for key, value in (("config", branch.config), ("seed", branch.seed), ("fused_with", self.group_name)):
            trial.set_user_attr(key, value)
        self.running[trial.number] = branch
        return branch

    def _children(self, free: int) -> list[Branch]:
        """PBT (``search.pbt``): the places the pruner freed at this epoch go to children of the group's leader,
        one per leader and epoch; the rest to the sampler's draws."""
        children, freed, self.freed = [], min(free, self.freed), 0
        if not freed:
            return children
        best_curve = self._best_curve()
        if best_curve is None:  # no trial has completed yet: no leader to copy
            return children
        while len(children) < freed and not self.pace.no_epoch_fits(self.deadline):
            leader = pick_leader(self.running.values(), self.had_a_child, best_curve)
            child = leader and self._child_of(leader)
            if child is None:
                break
            children.append(child)
        return children

    def _child_of(self, leader: Branch) -> Branch | None:
        rng = random.Random(self.seed * 7919 + leader.handle.number * 101 + len(leader.curve))
        params = child_params(leader.handle.params, leader.handle.distributions, rng)
        if params is None:
            return None
        self.had_a_child.add((leader.handle.number, len(leader.curve)))
        trial = self._ask(params)
        if trial is None:
            return None
        config = self.space.sample(OptunaSuggester(trial))
        if trial.params != params:  # an older queued trial came first (a retry): it trains as drawn
            return self._start(Branch(trial, f"trial_{trial.number}", config, self.seed + trial.number))
        config["learning_rates"] = child_rates(leader.config, config["learning_rate"], len(leader.curve))
        for epoch, value in enumerate(leader.curve, start=1):  # its model is the leader's up to here
            trial.report(value, epoch)
        trial.set_user_attr("pbt_parent", leader.handle.number)
        trial.set_user_attr("pbt_epoch", len(leader.curve))
        child = Branch(trial, f"trial_{trial.number}", config, leader.seed, parent=leader, inherited=len(leader.curve))
        child.curve = list(leader.curve)
        return self._start(child)

    def _no_new_trials(self) -> bool:
        """No epoch fits before the deadline, or the group has trials to train and a new one could not train as
        many epochs as the best model so far (``policy.too_late_to_start``)."""
        if self.pace.no_epoch_fits(self.deadline):
            return True
        if self.deadline is None or not self.running:  # no deadline; or an empty group, whose cores would idle
            return False
        best = best_trial(self.study)
        best_epochs = scored_epoch(best) if best is not None else None
        return too_late_to_start(self.pace.seconds, best_epochs, time.time(), self.deadline)

    def _room(self, free: int) -> int:
        beside_firsts = self._room_beside_firsts(free)
        if beside_firsts is not None:
            return beside_firsts
        if self.leaders_first and self._a_leader_runs():
            return 0
        return self._room_to_grow(free) if self.grow else free

    def _room_to_grow(self, free: int) -> int:
        """Of ``free`` places, those a growing group has opened so far (``policy.places``)."""
        from optuna.trial import TrialState

        finished = len(self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))
        capacity = free + len(self.running)
        return max(0, places(finished, capacity) - len(self.running))

    def _room_beside_firsts(self, free: int) -> int | None:
        """The configs tried first train in a group of their own, so the best-known models finish as soon as
        they would alone; the sampler's trials fill the group once they are done (the anytime benchmark's
        "starts first" lever). None once they are over."""
        from optuna.trial import TrialState

        if self.firsts_over:
            return None
        waiting = self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
        queued = [trial for trial in waiting if trial.user_attrs.keys() & FIRST_TRIES]
        if queued:
            return min(free, len(queued))
        if self.firsts & self.running.keys():
            return 0
        self.firsts_over = True
        return None

    def _a_leader_runs(self) -> bool:
        """Whether a running trial leads the study's best at equal epochs (``policy.leads``)."""
        best_curve = self._best_curve()
        return best_curve is not None and any(leads(branch.curve, best_curve) for branch in self.running.values())

    def _best_curve(self) -> dict[int, float] | None:
        """The study's best completed trial's val_accuracy by epoch; None before one completes."""
        try:
            return self.study.best_trial.intermediate_values
        except ValueError:
            return None

    def epoch_end(self, branch: Branch, epoch: int, val_accuracy: float) -> bool:
        trial = branch.handle
        trial.report(val_accuracy, epoch)
        now, epochs, trained = time.time(), branch.config["epochs"], epoch - branch.inherited  # by itself
        self.pace.seconds = (now - branch.joined) / trained
        if trial.user_attrs.get(FIRST_RUNG) == epoch < epochs:
            self._tell_rung(branch)
        if epoch >= epochs:  # a trial that ran all its epochs is done
            return True
        if self.patience and stalled(branch.curve, self.patience):
            self.finished(branch)  # stopped early: complete at its best epoch
            return False
        if next_epoch_ends_late(branch.joined, trained, now, self.deadline):
            trial.set_user_attr("fail_reason", TOO_SLOW)
        elif not trial.should_prune():
            if self.rate_cuts:
                cut_on_plateau(branch.config, branch.curve)  # the bucket sets the next epoch's rate from it
            return True
        else:
            self.freed += 1  # with --pbt, a place for a child of the leader
        self._tell(branch, "PRUNED")
        return False

    def _tell_rung(self, centre: Branch) -> None:
        """The centre's model so far, at the space's fewest epochs (``study.FIRST_RUNG``), told complete as a
        trial of its own: the sweep's first answer, as soon as one short trial would give it, for no epoch more.
        `sweep train` retrains it as that short trial (under a cosine schedule, annealing over the centre's
        epochs: ``decay_epochs``)."""
        from optuna.trial import TrialState

        if self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):  # asked, a queued one would come
            return
        trial = self._ask({**centre.handle.params, "epochs": len(centre.curve)})
        if trial is None:
            return
        self.space.sample(OptunaSuggester(trial))  # its params: the queued ones
        config = {**centre.config, "epochs": len(centre.curve)}
        if config.get("lr_schedule", "constant") != "constant":
            config["decay_epochs"] = centre.config["epochs"]
        rung = Branch(trial, f"trial_{trial.number}", config, centre.seed, centre.first_epoch, centre.joined)
        rung.curve, rung.seconds = list(centre.curve), centre.seconds
        trial.set_user_attr(RUNG_OF, centre.handle.number)
        for epoch, value in enumerate(centre.curve, start=1):
            trial.report(value, epoch)
        self.finished(self._start(rung))

    def finished(self, branch: Branch) -> None:
        value, epoch = best_epoch(branch.curve)
        branch.handle.set_user_attr("best_epoch", epoch)
        self._tell(branch, "COMPLETE", value)

    def failed(self, branch: Branch, reason: str) -> None:
        branch.handle.set_user_attr("fail_reason", reason)
        self._tell(branch, "FAIL")

    def interrupt_all(self, reason: str = INTERRUPTED) -> None:
        """A clean stop: every running trial of the group is stored as interrupted, to be retried."""
        for branch in list(self.running.values()):
            branch.handle.set_user_attr("interrupted", True)
            branch.handle.set_user_attr("fail_reason", reason)
            self._tell(branch, "FAIL")

    def stop_at_deadline(self) -> None:
        """The group's epoch ended after the ``--timeout`` deadline: its trials are pruned there and count at
        their best epoch, as a trial whose next epoch would end late is (its pace misjudged the last one, on
        a busy machine). Every trial still running has trained that epoch: it joined the group before it."""
        for branch in list(self.running.values()):
            branch.handle.set_user_attr("fail_reason", DEADLINE_REASON)
            self._tell(branch, "PRUNED")

    def _tell(self, branch: Branch, state: str, value: float | None = None) -> None:
        from optuna.trial import TrialState

        trial = branch.handle
        trial.set_user_attr("train_seconds", round(branch.seconds, 3))
        order = {"seed": self.shuffle_seed, "first_epoch": branch.first_epoch, "size": None}  # None: all images
        trial.set_user_attr("data_order", order)
        trial.set_user_attr("rss_mb", resident_mb())
        if branch.config.get("rate_cuts"):  # the rates it trained with: `sweep best` writes them
            trial.set_user_attr("config", branch.config)
        frozen = self.study.tell(trial, value, state=TrialState[state])
        self.heartbeats.remove(trial._trial_id)  # noqa: SLF001
        self.running.pop(trial.number, None)
        self.told += 1
        for callback in self.callbacks:
            callback(self.study, frozen)


def run_group(
    study,
    space: SearchSpace,
    split,
    settings,
    slots: Callable[[int], int],
    callbacks,
    beyond: Callable[[int], bool] = lambda number: False,
    pace: Pace | None = None,
):
    """Train one fused group to its end; return the number of trials it told."""
    # Distinct per group and per worker, and stored with every trial (``data_order``).
    shuffle_seed = settings.seed + 7919 * settings.worker + len(study.get_trials(deepcopy=False))
    with heartbeats_for(study) as heartbeats:
        ordering = {
            "leaders_first": settings.leaders_first,
            "grow": settings.grow,
            "deadline": settings.deadline(),
            "pace": pace,
            "patience": settings.patience(),
            "rate_cuts": settings.rate_cuts,
            "pbt": settings.pbt,
        }
        hooks = TrialHooks(study, space, settings.seed, slots, heartbeats, callbacks, shuffle_seed, beyond, **ordering)
        started = time.perf_counter()
        try:
            stats = train_group(
                split,
                hooks,
                settings.fuse,
                shuffle_seed,
                deadline=settings.deadline(),
                builder=settings.builder(space),
                epoch_box_s=settings.group_epoch_s,
            )
            hooks.stop_at_deadline()  # at --timeout the group stops at its next epoch boundary
        except KeyboardInterrupt:
            hooks.interrupt_all()
            raise
        except StorageError:  # the database is gone: nothing can be told; heartbeats retry the trials later
            raise
        except BaseException:
            for branch in list(hooks.running.values()):
                hooks.failed(branch, "the group stopped: see the log")
            raise
    if hooks.told:  # a group that opened at the deadline took no trial: nothing to report
        log.info(
            "%s: %d trials in %.0f s, %.0f%% of places live",
            hooks.group_name,
            hooks.told,
            time.perf_counter() - started,
            100 * stats.live_share,
        )
    return hooks.told

"""--fuse auto's time box: a group takes new trials only while its epochs stay short, and, with --timeout, a
trial that at its pace would end after the deadline gives its place to one that can finish."""

from __future__ import annotations

import time

import optuna
import pytest
from helpers import SMALL, SPACES, sweep_cli

from sweep.data import compute_baseline, load_split
from sweep.search.ask_tell import TOO_SLOW, Pace, TrialHooks
from sweep.search.heartbeats import NoHeartbeats
from sweep.search.policy import GROUP_EPOCH_S, next_epoch_ends_late
from sweep.search.settings import SweepSettings
from sweep.space import load_space
from sweep.training import Branch, resolve_fuse
from sweep.training.group import START_PLACES, places_within


@pytest.mark.parametrize(
    ("last_epoch_s", "last_trained", "places"),
    [
        (0.0, 0, START_PLACES),  # nothing timed yet: two places
        (4.0, 8, 8),  # half a second a branch (small MLPs): the whole group
        (1.0, 2, 4),  # fast, but newcomers' costs are unknown: at most twice the branches it timed
        (9.0, 3, 3),  # three seconds a branch: three fit ten seconds
        (40.0, 2, 1),  # twenty seconds a branch (a CNN on a CPU): one at a time, never none
    ],
)
def test_a_time_boxed_group_opens_as_many_places_as_train_an_epoch_within_the_box(last_epoch_s, last_trained, places):
    assert places_within(10.0, 8, last_epoch_s, last_trained) == places


def test_fuse_auto_boxes_the_group_and_a_number_does_not():
    assert SweepSettings(fuse="auto").fuse == resolve_fuse("auto")
    assert SweepSettings(fuse="auto").group_epoch_s == GROUP_EPOCH_S
    assert SweepSettings(fuse=4).group_epoch_s is None  # the size asked for, whatever its epochs take


@pytest.mark.parametrize(
    ("seconds_ago", "epochs_done", "left_s", "late"),
    [
        (20, 1, 30, False),  # 20 s an epoch, 30 s left: one more epoch fits, however many the trial has to go
        (20, 1, 10, True),  # 10 s left
        (20, 4, 4, True),  # 5 s an epoch by now, 4 s left
        (20, 4, 6, False),
        (20, 1, 0, False),  # the deadline has passed: the group stops and the trial is retried, not pruned
        (20, 0, 5, False),  # no epoch yet: no pace
    ],
)
def test_a_trial_is_stopped_where_its_next_epoch_would_end_after_the_deadline(seconds_ago, epochs_done, left_s, late):
    now = time.time()
    assert next_epoch_ends_late(now - seconds_ago, epochs_done, now, now + left_s) == late
    assert not next_epoch_ends_late(now - seconds_ago, epochs_done, now, None)  # no --timeout: never


@pytest.mark.parametrize(("epochs", "goes_on"), [(9, True), (2, True), (9, False)])
def test_the_group_prunes_a_trial_whose_next_epoch_cannot_end_in_time_and_says_why(epochs, goes_on):
    deadline = time.time() + (30 if goes_on else 10)  # the trial has taken 20 s an epoch
    study = optuna.create_study(direction="maximize")
    hooks = TrialHooks(study, load_space(str(SPACES / "tiny.yaml")), 42, lambda n: n, NoHeartbeats(), deadline=deadline)
    branch = Branch(study.ask(), "trial_0", {"epochs": epochs}, 42, joined=time.time() - 20)
    hooks.running[0] = branch

    assert hooks.epoch_end(branch, 1, 0.8) == goes_on
    trial = study.trials[0]
    assert trial.state == (optuna.trial.TrialState.RUNNING if goes_on else optuna.trial.TrialState.PRUNED)
    assert trial.user_attrs.get("fail_reason") == (None if goes_on else TOO_SLOW)


@pytest.mark.parametrize(("pace_s", "started"), [(None, 2), (1.0, 2), (29.0, 2), (31.0, 0)])
def test_no_trial_is_asked_when_its_first_epoch_would_end_after_the_deadline(pace_s, started):
    study = optuna.create_study(direction="maximize")
    space = load_space(str(SPACES / "tiny.yaml"))
    hooks = TrialHooks(study, space, 42, lambda n: n, NoHeartbeats(), deadline=time.time() + 30)
    hooks.pace.seconds = pace_s  # the group's seconds per epoch (None: no epoch timed yet)

    assert len(hooks.more(2)) == started
    assert len(study.trials) == started  # nothing asked, so TPE sees no untrained trial


def test_a_group_opened_after_one_that_ran_out_of_time_asks_no_trial():
    """The worker's next group knows the pace of the last one: in the last seconds of a run it would otherwise ask
    trials whose first epoch ends past the deadline, overrunning it."""
    study = optuna.create_study(direction="maximize")
    space = load_space(str(SPACES / "tiny.yaml"))
    pace, deadline = Pace(), time.time() + 10
    first = TrialHooks(study, space, 42, lambda n: n, NoHeartbeats(), deadline=deadline, pace=pace)
    branch = Branch(study.ask(), "trial_0", {"epochs": 9}, 42, joined=time.time() - 20)
    first.running[0] = branch
    assert not first.epoch_end(branch, 1, 0.8)  # pruned: its next epoch would end late

    second = TrialHooks(study, space, 42, lambda n: n, NoHeartbeats(), deadline=deadline, pace=pace)
    assert second.more(2) == []
    assert len(study.trials) == 1


def test_a_worker_opens_no_group_once_no_epoch_fits_before_the_deadline(tmp_path):
    """A 1,000-epoch trial is pruned where its next epoch would end after the deadline; the worker then stops
    instead of opening group after empty group until the deadline passes."""
    compute_baseline(load_split(max_train=SMALL), cross_validated=False)  # cached first: the 20 s go to training
    space = tmp_path / "long.yaml"
    space.write_text((SPACES / "peaks.yaml").read_text().replace("epochs:        10", "epochs:        1000"))
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    sweep_cli("run", "--space", str(space), "--max-train", str(SMALL), "--fuse", "2", "--timeout", "20s",
              "--storage", url, cwd=tmp_path)  # fmt: skip
    groups = [line for line in (tmp_path / "results" / "peaks.log").read_text().splitlines() if "group of 2:" in line]
    assert len(groups) == 1 and " 2 trials" in groups[0], groups


@pytest.mark.parametrize(
    ("pace_s", "best_epochs", "running", "started"),
    [
        (1.0, 20, True, 2),  # 20 epochs fit in the 30 s left: the group fills its places
        (2.0, 20, True, 0),  # they do not: the trials it trains get the cores
        (2.0, 20, False, 2),  # an empty group asks all the same: the cores would idle otherwise
        (2.0, None, True, 2),  # no model yet: nothing to match
    ],
)
def test_near_the_deadline_a_group_takes_no_trial_that_could_not_train_as_long_as_the_best(
    pace_s, best_epochs, running, started
):
    study = optuna.create_study(direction="maximize")
    if best_epochs:  # the best model so far took that many epochs
        curve = dict(enumerate([0.8] * best_epochs, start=1))
        study.add_trial(
            optuna.trial.create_trial(value=0.8, intermediate_values=curve, user_attrs={"best_epoch": best_epochs})
        )
    space = load_space(str(SPACES / "tiny.yaml"))
    hooks = TrialHooks(study, space, 42, lambda n: n, NoHeartbeats(), deadline=time.time() + 30)
    hooks.pace.seconds = pace_s
    if running:
        hooks.running[-1] = Branch(None, "trial_x", {"epochs": 9}, 42)

    assert len(hooks.more(2)) == started

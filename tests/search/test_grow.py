"""--grow: a fused group opens two places first, then one more for each finished trial, up to --fuse."""

from __future__ import annotations

import optuna
import pytest
from helpers import SMALL, SPACES, sweep_cli
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from sweep.search import SweepSettings
from sweep.search.ask_tell import TrialHooks
from sweep.search.heartbeats import NoHeartbeats
from sweep.search.policy import GROW_FROM, places
from sweep.space import load_space
from sweep.training import Branch


@pytest.mark.parametrize(
    ("finished", "capacity", "opened"),
    [(0, 8, 2), (1, 8, 3), (4, 8, 6), (6, 8, 8), (40, 8, 8), (0, 1, 1)],
)
def test_a_growing_group_opens_one_place_per_finished_trial(finished, capacity, opened):
    assert GROW_FROM == 2
    assert places(finished, capacity) == opened


def hooks_over_a_study(completed: int, running: int, grow: bool, pruned: int = 0) -> TrialHooks:
    """A real study with ``completed`` and ``pruned`` trials, and a group holding ``running`` trials."""
    study = optuna.create_study(direction="maximize")
    for value in range(completed + pruned):
        state = TrialState.COMPLETE if value < completed else TrialState.PRUNED
        study.add_trial(
            optuna.trial.create_trial(
                params={"x": 0.5}, distributions={"x": FloatDistribution(0, 1)}, value=value, state=state
            )
        )
    hooks = TrialHooks(study, load_space(str(SPACES / "tiny.yaml")), 42, lambda count: count, NoHeartbeats(), grow=grow)
    for number in range(running):
        branch = Branch(study.ask(), f"trial_{number}", {"epochs": 2}, 42 + number)
        hooks.running[branch.handle.number] = branch
    return hooks


@pytest.mark.parametrize(
    ("completed", "pruned", "running", "grow", "joining"),
    [
        (0, 0, 0, True, 2),  # a new study: two places of eight
        (0, 0, 2, True, 0),  # both taken: the other six stay shut
        (3, 0, 2, True, 3),  # three trials completed: five places, two of them taken
        (1, 2, 2, True, 3),  # a pruned trial is a result too: five places
        (9, 0, 2, True, 6),  # grown to the full group
        (0, 0, 0, False, 8),  # the default opens every place at once
    ],
)
def test_the_group_takes_trials_into_its_open_places_only(completed, pruned, running, grow, joining):
    hooks = hooks_over_a_study(completed, running, grow, pruned)
    assert len(hooks.more(8 - running)) == joining


@pytest.mark.parametrize(("flag", "later_join"), [("--grow", True), ("--no-grow", False)])
def test_sweep_run_grow_opens_a_place_per_finished_trial_and_lets_the_others_join_later(tmp_path, flag, later_join):
    storage = f"sqlite:///{tmp_path / 's.db'}"
    tiny = ["--space", str(SPACES / "tiny.yaml"), "--max-train", str(SMALL), "--storage", storage, "--fuse", "8"]
    sweep_cli("run", *tiny, "--trials", "7", "--pruner", "none", flag, cwd=tmp_path)
    centre, rung, *drawn = optuna.load_study(study_name="tiny", storage=storage).get_trials()
    assert all(trial.state.is_finished() for trial in (rung, centre, *drawn)) and "rung_of" in rung.user_attrs
    joined = sorted(trial.user_attrs["data_order"]["first_epoch"] for trial in drawn)  # group epoch it joined at
    alone = centre.params["epochs"]  # the centre trains alone (sweep.space.centre); its first rung is told from it
    # growing: 2 places and 1 more for each of the two finished; the fifth drawn trial waits for one of them
    assert joined[:4] == [alone] * 4 and (joined[4] > alone) == later_join


@pytest.mark.parametrize(
    ("fuse", "grow", "grows"), [("auto", None, True), ("auto", False, False), ("4", None, False), ("4", True, True)]
)
def test_groups_grow_by_default_where_sweep_sizes_them(fuse, grow, grows):
    """``--fuse auto`` (the default) sizes the group itself, so it grows; ``--fuse 4`` asks for four places at
    once, and ``--grow`` / ``--no-grow`` say so either way."""
    assert SweepSettings(fuse=fuse, grow=grow).grow is grows

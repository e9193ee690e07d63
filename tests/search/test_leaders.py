"""--leaders-first: a fused group leaves freed places empty while a running trial leads the best trial."""

from __future__ import annotations

import optuna
import pytest
from helpers import SMALL, SPACES, sweep_cli
from optuna.distributions import FloatDistribution

from sweep.search.ask_tell import TrialHooks
from sweep.search.heartbeats import NoHeartbeats
from sweep.search.policy import LEADER_AFTER, leads
from sweep.space import load_space
from sweep.training import Branch

BEST = [0.70, 0.80, 0.84, 0.86, 0.87]  # the study's best trial, epoch by epoch


@pytest.mark.parametrize(
    ("curve", "leading"),
    [
        ([0.71, 0.81, 0.85], True),  # ahead of the best as it stood at epoch 3
        ([0.60, 0.70, 0.84], True),  # level at epoch 3 counts
        ([0.72, 0.82, 0.83], False),  # behind at epoch 3, though ahead before
        ([0.75, 0.85], False),  # too soon to judge: the first epochs rank trials poorly
        ([0.6, 0.7, 0.8, 0.85, 0.88, 0.88, 0.88], True),  # past the best's last epoch: its final best counts
    ],
)
def test_a_trial_leads_when_it_is_level_with_the_best_at_the_same_epoch(curve, leading):
    assert LEADER_AFTER == 3
    assert leads(curve, dict(enumerate(BEST, start=1))) is leading


def hooks_with_a_running_trial(curve: list[float], leaders_first: bool) -> TrialHooks:
    """A real study whose best trial ran BEST, and a group holding one running trial that has run ``curve``."""
    study = optuna.create_study(direction="maximize")
    study.add_trial(
        optuna.trial.create_trial(
            params={"x": 0.5},
            distributions={"x": FloatDistribution(0, 1)},
            value=max(BEST),
            intermediate_values=dict(enumerate(BEST, start=1)),
        )
    )
    space = load_space(str(SPACES / "tiny.yaml"))
    hooks = TrialHooks(study, space, 42, lambda count: count, NoHeartbeats(), leaders_first=leaders_first)
    running = Branch(study.ask(), "trial_1", {"epochs": 9}, 43, curve=list(curve))
    hooks.running[running.handle.number] = running
    return hooks


@pytest.mark.parametrize(
    ("curve", "leaders_first", "joining"),
    [
        ([0.71, 0.81, 0.85], True, 0),  # a leader runs: the freed places stay empty
        ([0.71, 0.81, 0.83], True, 3),  # it fell behind: the group fills again
        ([0.71, 0.81, 0.85], False, 3),  # the default fills every freed place
    ],
)
def test_freed_places_stay_empty_while_a_leader_runs(curve, leaders_first, joining):
    hooks = hooks_with_a_running_trial(curve, leaders_first)
    assert len(hooks.more(3)) == joining


def test_sweep_run_leaders_first(tmp_path):
    storage = f"sqlite:///{tmp_path / 's.db'}"
    tiny = ["--space", str(SPACES / "tiny.yaml"), "--max-train", str(SMALL), "--storage", storage, "--fuse", "2"]
    sweep_cli("run", *tiny, "--trials", "4", "--leaders-first", cwd=tmp_path)
    trials = optuna.load_study(study_name="tiny", storage=storage).get_trials()
    assert len(trials) == 4 and all(trial.state.is_finished() for trial in trials)

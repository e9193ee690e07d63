"""Deadline semantics: `--timeout` alone runs until the deadline; with `--trials`, whichever comes first."""

from __future__ import annotations

import time

import optuna
import pytest
from helpers import SMALL, SPACES

import sweep
import sweep.api
from sweep.search import settings as run_settings
from sweep.search.settings import DEFAULT_TRIALS, SweepSettings, trial_target


@pytest.mark.parametrize(
    ("trials", "timeout", "target"),
    [(None, None, DEFAULT_TRIALS), (None, 8 * 3600.0, None), (50, 8 * 3600.0, 50), (7, None, 7)],
)
def test_the_trial_target_follows_optuna_optimize(trials, timeout, target):
    assert trial_target(trials, timeout) == target


def test_the_start_line_says_when_the_run_stops():
    assert "until the deadline (8h00m)" in SweepSettings(trials=None, timeout=8 * 3600).stopping_rule()
    both = SweepSettings(trials=50, timeout=600).stopping_rule()
    assert "50 finished trials or 10m00s pass, whichever comes first" in both
    assert SweepSettings(trials=20).stopping_rule() == "until the study holds 20 finished trials"


def finished(study) -> list:
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return study.optuna.get_trials(deepcopy=False, states=states)


def test_a_timeout_without_trials_goes_on_past_the_default_count(tmp_path, monkeypatch):
    """With the default count lowered to one trial, only a run that ignores it reaches the deadline."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(run_settings, "DEFAULT_TRIALS", 1)
    storage = f"sqlite:///{tmp_path / 'deadline.db'}"
    sweep.api.baseline(max_train=SMALL)  # computed once per dataset and cached: it would eat a cold run's budget
    started = time.time()
    study = sweep.run(SPACES / "tiny.yaml", timeout=30, storage=storage, max_train=SMALL, fuse=1, progress=False)
    assert time.time() - started >= 30, "the run stopped before its deadline"
    assert len(finished(study)) >= 2, "the run stopped at the default trial count"
    assert "runs until the deadline (0m30s)" in (tmp_path / "results" / "tiny.log").read_text()


def test_trials_and_timeout_stop_at_whichever_comes_first(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    storage = f"sqlite:///{tmp_path / 'count.db'}"
    study = sweep.run(SPACES / "tiny.yaml", trials=2, timeout="1h", storage=storage, max_train=SMALL, fuse=1)
    assert len(finished(study)) == 2

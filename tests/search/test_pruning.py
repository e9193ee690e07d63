"""Pruning: the median rule as Optuna has it, its patient form, hopeless trials pruned against the baseline
before it wakes, successive halving (``asha``) that judges the first trials at once, at its rungs only, and
learning-curve extrapolation (``curve``) that stops a trial whose fitted curve ends below the best model."""

from __future__ import annotations

import optuna
import pytest
from helpers import SMALL, SPACES, assert_exactly, study_trials, sweep_cli
from optuna.trial import TrialState

from sweep.search.extrapolate import CURVE_FROM, CURVE_MARGIN
from sweep.search.policy import (
    ASHA_MIN_EPOCHS,
    ASHA_REDUCTION,
    HOPELESS_AFTER,
    HOPELESS_MARGIN,
    MEDIAN_STARTUP,
    PATIENT_PEERS,
    PATIENT_WARMUP,
    PEERS_AT_EPOCH,
    make_pruner,
)

BASELINE = 0.83


def reported(pruner, curve: list[float], completed: tuple[list[float], ...] = ()) -> tuple[bool, int]:
    """Report ``curve`` epoch by epoch to a fresh study that knows the baseline and holds the ``completed``
    trials' curves; (pruned?, epochs reported)."""
    study = optuna.create_study(direction="maximize", pruner=pruner)
    study.set_user_attr("baseline", {"val_accuracy": BASELINE})
    for done in completed:
        steps = dict(enumerate(done, start=1))
        study.add_trial(optuna.trial.create_trial(value=max(done), intermediate_values=steps))
    return report_until_pruned(study.ask(), curve)


def report_until_pruned(trial, curve: list[float]) -> tuple[bool, int]:
    """Report ``curve`` epoch by epoch, asking the pruner after each, as a trial's training does."""
    for epoch, value in enumerate(curve, start=1):
        trial.report(value, epoch)
        if trial.should_prune():
            return True, epoch
    return False, len(curve)


@pytest.mark.parametrize(
    ("curve", "verdict"),
    [
        ([0.30, 0.35, 0.40], (True, HOPELESS_AFTER)),  # learns nothing: pruned after its second epoch
        ([0.10, BASELINE - HOPELESS_MARGIN + 0.01, 0.80], (False, 3)),  # within the margin by epoch 2: kept
        ([0.30], (False, 1)),  # one epoch is too soon to judge
    ],
)
@pytest.mark.parametrize("name", ["median", "asha"])
def test_a_hopeless_trial_is_pruned_before_any_trial_completes(curve, verdict, name):
    assert reported(make_pruner(name, 10, prune_hopeless=True), curve) == verdict
    # alone, the median rule sleeps and successive halving promotes the first trial to reach each rung
    assert reported(make_pruner(name, 10, prune_hopeless=False), curve) == (False, len(curve))


SHORT, LONG = [0.80] * 5, [0.80] * 5 + [0.90] * 5  # completed trials: five epochs, or ten that end strong
BELOW, BETWEEN = [0.79] * 10, [0.82] * 10  # below every completed trial; above the short ones, below the long ones


@pytest.mark.parametrize(
    ("name", "completed", "curve", "verdict"),
    [
        ("median", [SHORT] * 5, BELOW, (True, 1)),  # sweep reports epochs from 1: n_warmup_steps=1 judges the first
        ("patient", [SHORT] * 5, BELOW, (True, PATIENT_WARMUP)),
        ("median", [SHORT] * 3 + [LONG] * 2, BETWEEN, (True, 6)),  # at epoch 6 the "median" is the long trials' 0.90
        ("patient", [SHORT] * 3 + [LONG] * 2, BETWEEN, (False, 10)),  # fewer than PATIENT_PEERS reached epoch 6
        ("patient", [SHORT] * 3 + [LONG] * PATIENT_PEERS, BETWEEN, (True, 6)),  # enough peers there: judged
    ],
)
def test_the_patient_median_waits_for_epochs_and_for_peers(name, completed, curve, verdict):
    assert reported(make_pruner(name, 10), curve, tuple(completed)) == verdict


FLATTENING = [0.80, 0.83, 0.845, 0.85, 0.853, 0.855, 0.856]  # rises ever more slowly, towards about 0.86


@pytest.mark.parametrize(
    ("name", "best", "verdict"),
    [
        ("curve", 0.90, (True, CURVE_FROM)),  # its fitted 15th epoch stays far below the best model: stopped
        ("curve", FLATTENING[CURVE_FROM - 1] + CURVE_MARGIN, (False, len(FLATTENING))),  # already level: kept
        ("median", 0.90, (False, len(FLATTENING))),  # one completed trial: the median rule alone does not judge
    ],
)
def test_the_curve_rule_stops_a_trial_whose_fitted_curve_ends_below_the_best_model(name, best, verdict):
    study = optuna.create_study(direction="maximize", pruner=make_pruner(name, 15, prune_hopeless=False))
    study.add_trial(optuna.trial.create_trial(value=best, intermediate_values=dict.fromkeys(range(1, 16), best)))
    trial = study.ask()
    trial.set_user_attr("config", {"epochs": 15})
    assert report_until_pruned(trial, FLATTENING) == verdict


def judged(name: str, curve: list[float], running: tuple[list[float], ...]) -> tuple[bool, int]:
    """As ``reported``, but the peers report through the pruner one epoch at a time and stay running, as the
    other branches of a fused group do: successive halving ranks every trial that reached a rung, finished or
    not, and knows a rung only from what its own ``should_prune`` recorded."""
    study = optuna.create_study(direction="maximize", pruner=make_pruner(name, 10))
    for peer in running:
        report_until_pruned(study.ask(), peer)
    return report_until_pruned(study.ask(), curve)


RUNG_1, RUNG_2 = ASHA_MIN_EPOCHS, ASHA_MIN_EPOCHS * ASHA_REDUCTION  # epochs 1 and 3
LEADERS = tuple([0.85 + 0.01 * index] * 3 for index in range(ASHA_REDUCTION))  # three running trials, three epochs


@pytest.mark.parametrize(
    ("name", "curve", "verdict"),
    [
        ("asha", [0.80] * 5, (True, RUNG_1)),  # behind every running trial at epoch 1: stopped, though none completed
        ("median", [0.80] * 5, (True, 1)),  # behind the running trials' median at epoch 1, though none completed
        ("asha", [0.88] + [0.80] * 4, (True, RUNG_2)),  # ahead at epoch 1, behind at epoch 3: stopped at the rung
        ("asha", [0.88, 0.70, 0.88, 0.70, 0.70], (False, 5)),  # behind only between and after rungs: never judged
    ],
)
def test_successive_halving_judges_the_first_group_at_once_and_at_its_rungs_only(name, curve, verdict):
    assert judged(name, curve, LEADERS) == verdict


@pytest.mark.parametrize(
    ("curve", "peers", "completed", "verdict"),
    [
        ([0.80] * 5, PEERS_AT_EPOCH - 1, 0, (False, 5)),  # too few trials reached its epochs to judge it
        ([0.86] * 5, PEERS_AT_EPOCH, 0, (False, 5)),  # level with the middle running trial: kept
        ([0.80] * 5, PEERS_AT_EPOCH, MEDIAN_STARTUP, (False, 5)),  # Optuna's rule now: ahead of the completed 0.79s
    ],
)
def test_before_five_trials_complete_the_median_is_taken_over_the_trials_at_the_same_epoch(
    curve, peers, completed, verdict
):
    """The median rule before it wakes: against every trial that reported at the epoch, running or finished,
    once PEERS_AT_EPOCH have; once MEDIAN_STARTUP trials completed, against the completed ones only."""
    study = optuna.create_study(direction="maximize", pruner=make_pruner("median", 10, prune_hopeless=False))
    for _ in range(completed):
        study.add_trial(optuna.trial.create_trial(value=0.79, intermediate_values=dict.fromkeys(range(1, 6), 0.79)))
    for peer in LEADERS[:peers]:
        report_until_pruned(study.ask(), peer)
    assert report_until_pruned(study.ask(), curve) == verdict


def test_sweep_run_with_asha_stops_trials_at_rungs_only(tmp_path):
    storage = f"sqlite:///{tmp_path / 's.db'}"
    args = ["--space", str(SPACES / "steady.yaml"), "--trials", "6", "--max-train", str(SMALL), "--seed", "3"]
    sweep_cli("run", *args, "--storage", storage, "--pruner", "asha", cwd=tmp_path)
    trials = study_trials(storage, "steady")
    assert_exactly(trials, 6)  # pruned trials count, as under the median rule
    stopped_at = {len(t.intermediate_values) for t in trials if t.state == TrialState.PRUNED}
    assert stopped_at and stopped_at <= {RUNG_1, RUNG_2}  # steady's six epochs: rungs 1 and 3 only
    assert any(t.state == TrialState.COMPLETE for t in trials)


HOPELESS_RUNS = [([], TrialState.PRUNED, 2), (["--prune-hopeless"], TrialState.PRUNED, 2),  # on by default
                 (["--no-prune-hopeless"], TrialState.COMPLETE, 4)]  # fmt: skip


@pytest.mark.parametrize(("flags", "state", "epochs"), HOPELESS_RUNS)
def test_sweep_run_prune_hopeless(tmp_path, flags, state, epochs):
    storage = f"sqlite:///{tmp_path / 's.db'}"
    args = ["--space", str(SPACES / "hopeless.yaml"), "--trials", "1", "--max-train", str(SMALL), "--storage", storage]
    sweep_cli("run", *args, *flags, cwd=tmp_path)
    [trial] = optuna.load_study(study_name="hopeless", storage=storage).get_trials()
    assert trial.state == state and len(trial.intermediate_values) == epochs


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--prune-hopeless", "--pruner", "hyperband"], "--pruner hyperband"),
        (["--prune-hopeless", "--pruner", "none"], "--pruner none"),
        (["--prune-hopeless", "--engine", "keras-tuner"], "--engine keras-tuner"),
        (["--pruner", "asha", "--engine", "keras-tuner"], "--pruner asha"),
        (["--leaders-first", "--engine", "keras-tuner"], "--leaders-first"),
        (["--leaders-first", "--fuse", "1"], "not --fuse 1"),
        (["--grow", "--engine", "keras-tuner"], "--grow"),
        (["--grow", "--fuse", "1"], "not --fuse 1"),
    ],
)
def test_an_option_that_would_do_nothing_is_refused_in_one_line(tmp_path, options, named):
    storage = f"sqlite:///{tmp_path / 's.db'}"
    result = sweep_cli("run", "--trials", "1", "--storage", storage, *options, cwd=tmp_path, check=False)
    assert result.returncode == 2 and named in result.stderr and "drop" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "s.db").exists()

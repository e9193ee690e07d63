"""Fused trials: many trials as one Keras program, each still an ordinary Optuna trial.

Measured on this machine (TensorFlow and JAX on CPU, 2,048 training images): a fused branch's
per-epoch validation accuracy equals its solo retraining's to the last printed digit, for every
batch size of a mixed group. The stated tolerance is ``RETRAIN_TOLERANCE``; it leaves room for
float reassociation on other machines.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
from helpers import SPACES, assert_exactly, study_trials, sweep_cli, wait_for_a_running_trial_after
from optuna.trial import TrialState

from sweep.data import load_split
from sweep.training.fused import build_branch, fuse
from sweep.training.group import Branch, train_group
from sweep.training.model import epoch_learning_rates
from sweep.training.solo import DataOrder, train

RETRAIN_TOLERANCE = 0.002
GROUP_IMAGES = 2048  # training images in the group tests
HEARTBEAT = {"SWEEP_HEARTBEAT_SECONDS": "1"}
STEADY = ["--space", str(SPACES / "steady.yaml"), "--max-train", "4000", "--pruner", "none"]
DENSE = {"layer_type": "dense", "dropout": 0.0, "activation": "relu", "epochs": 2}
MIXED = [
    {**DENSE, "hidden_layers": 1, "units": [64], "optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.9,
     "nesterov": False, "batch_size": 32},
    {**DENSE, "hidden_layers": 2, "units": [128, 32], "optimizer": "adam", "learning_rate": 0.001, "batch_size": 64},
    {**DENSE, "hidden_layers": 1, "units": [32], "optimizer": "adagrad", "learning_rate": 0.05, "batch_size": 128},
]  # fmt: skip
DIVERGING = {**DENSE, "hidden_layers": 1, "units": [64], "activation": "linear", "optimizer": "sgd",
             "learning_rate": 10.0, "momentum": 0.9, "nesterov": False, "batch_size": 32}  # fmt: skip


class Recorder:
    """GroupHooks that hand out fixed configs and keep what the group reports."""

    def __init__(self, configs):
        self.queue = [Branch(i, f"trial_{i}", config, 100 + i) for i, config in enumerate(configs)]
        self.curves, self.finished_ids, self.failures, self.branches = {}, [], {}, {}

    def more(self, free):
        taken, self.queue = self.queue[:free], self.queue[free:]
        self.branches.update({branch.handle: branch for branch in taken})
        return taken

    def epoch_end(self, branch, epoch, val_accuracy):
        self.curves.setdefault(branch.handle, []).append(val_accuracy)
        return True

    def finished(self, branch):
        self.finished_ids.append(branch.handle)

    def failed(self, branch, reason):
        self.failures[branch.handle] = reason


@pytest.fixture(scope="module")
def group_split():
    return load_split(max_train=GROUP_IMAGES)


def test_mixed_optimizers_and_batch_sizes_train_each_branch_as_configured(group_split):
    hooks = Recorder([*MIXED, DIVERGING])
    stats = train_group(group_split, hooks, capacity=4, shuffle_seed=7)

    assert hooks.failures == {3: "diverged: loss became nan in epoch 1"}  # it fails alone
    assert sorted(hooks.finished_ids) == [0, 1, 2] and stats.trials == 4
    assert stats.fusions == 4  # batch 32 (with the diverging branch), 64 and 128; then batch 32 without it
    for index, config in enumerate(MIXED):
        optimizer = hooks.branches[index].optimizer
        assert type(optimizer).__name__.lower() == config["optimizer"]
        assert float(optimizer.learning_rate) == pytest.approx(config["learning_rate"])
        assert not optimizer.gradient_accumulation_steps
        updates = int(optimizer.iterations)  # one update per batch of the configured size
        assert updates == config["epochs"] * -(-GROUP_IMAGES // config["batch_size"])
    assert float(hooks.branches[0].optimizer.momentum) == pytest.approx(0.9)

    # Each fused branch is the very model its trial's solo retraining trains: same weights, same batches.
    for index, config in enumerate(MIXED):
        solo = train(config, group_split, seed=100 + index, order=DataOrder(7, hooks.branches[index].first_epoch))
        assert solo.curve == pytest.approx(hooks.curves[index], abs=RETRAIN_TOLERANCE)


@pytest.mark.parametrize(("box_s", "joined_at"), [(1e-6, [0, 0, 2, 4]), (1e6, [0, 0, 1, 1])])
def test_a_slow_time_boxed_group_takes_one_trial_at_a_time_and_a_fast_one_fills_up(group_split, box_s, joined_at):
    configs = [{**config, "epochs": 2} for config in MIXED[1:]] * 2  # four two-epoch trials
    hooks = Recorder(configs)
    train_group(group_split, hooks, capacity=4, shuffle_seed=7, epoch_box_s=box_s)
    assert sorted(hooks.finished_ids) == [0, 1, 2, 3]
    assert [hooks.branches[index].first_epoch for index in range(4)] == joined_at


def test_a_cosine_branch_anneals_its_own_rate_and_retrains_alone_to_its_curve(group_split):
    cosine = {**MIXED[1], "lr_schedule": "cosine", "epochs": 3}
    hooks = Recorder([cosine, MIXED[2]])  # beside a branch whose rate is held
    train_group(group_split, hooks, capacity=2, shuffle_seed=7)

    rates = epoch_learning_rates(cosine)
    assert rates[0] == cosine["learning_rate"] and rates == sorted(rates, reverse=True) and rates[-1] > 0
    assert float(hooks.branches[0].optimizer.learning_rate) == pytest.approx(rates[-1])
    assert float(hooks.branches[1].optimizer.learning_rate) == pytest.approx(MIXED[2]["learning_rate"])
    solo = train(cosine, group_split, seed=100, order=DataOrder(7, 0), keep_model=True)
    assert float(solo.model.optimizer.learning_rate) == pytest.approx(rates[-1])
    assert solo.curve == pytest.approx(hooks.curves[0], abs=RETRAIN_TOLERANCE)


def test_one_wide_matmul_for_the_first_layers_trains_the_same_branches(group_split):
    conv = {**DENSE, "layer_type": "conv", "hidden_layers": 1, "filters": [8], "kernel_size": [3], "units": [16],
            "optimizer": "sgd", "learning_rate": 0.01, "batch_size": 32}  # fmt: skip
    configs = [{**config, "dropout": 0.2, "batch_size": 32} for config in MIXED[:2]] + [conv]
    programs, branches = {}, {}
    for wide in (False, True):
        built = [build_branch(config, 100 + i, f"trial_{i}", group_split) for i, config in enumerate(configs)]
        branches[wide] = [model for model, _ in built]
        programs[wide] = fuse(branches[wide], [opt for _, opt in built], group_split.input_shape, wide_first_layer=wide)
        programs[wide].fit(group_split.x_train, group_split.y_train, batch_size=32, shuffle=False, verbose=0)

    assert "wide_first_layer" in [layer.name for layer in programs[True].layers]  # the two Dense branches share it
    for plain, wide in zip(branches[False], branches[True], strict=True):  # each branch keeps and trains its own
        for before, after in zip(plain.weights, wide.weights, strict=True):
            assert after.numpy() == pytest.approx(before.numpy(), abs=1e-5)
    x_val = group_split.x_val[:512]
    assert programs[True].predict(x_val, verbose=0) == pytest.approx(
        programs[False].predict(x_val, verbose=0), abs=1e-5
    )


def test_the_fused_trainer_runs_under_jax_and_matches_solo(tmp_path):
    script = """
import json
from sweep.data import load_split
from sweep.training.group import train_group
from sweep.training.solo import DataOrder, train
from test_fused import MIXED, Recorder
split = load_split(max_train=1024)
configs = [{**config, "epochs": 1} for config in MIXED[:2]]
hooks = Recorder(configs)
train_group(split, hooks, capacity=2, shuffle_seed=3)
solo = [train(c, split, seed=100 + i, order=DataOrder(3, 0)).curve for i, c in enumerate(configs)]
print(json.dumps({"fused": [hooks.curves[0], hooks.curves[1]], "solo": solo}))
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=os.path.dirname(__file__),
        env={**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    curves = json.loads(result.stdout.strip().splitlines()[-1])
    for fused, solo in zip(curves["fused"], curves["solo"], strict=True):
        assert fused == pytest.approx(solo, abs=RETRAIN_TOLERANCE)


def test_a_fused_sweep_stores_ordinary_trials_that_retrain_alone(tmp_path, sqlite_url):
    tiny = ["--space", str(SPACES / "tiny.yaml"), "--max-train", str(GROUP_IMAGES)]
    sweep_cli("run", *tiny, "--fuse", "4", "--trials", "6", "--storage", sqlite_url, cwd=tmp_path)
    trials = optuna.load_study(study_name="tiny", storage=sqlite_url).get_trials()
    assert len(trials) == 6 and {t.state for t in trials} <= {TrialState.COMPLETE, TrialState.PRUNED}
    for trial in trials:
        attrs = trial.user_attrs
        assert attrs["fused_with"].startswith("group-") and set(attrs["data_order"]) == {"seed", "first_epoch", "size"}
        assert attrs["config"]["batch_size"] == trial.params["batch_size"]
        seeded = attrs.get("rung_of", trial.number)  # a first rung is the centre's model: its seed
        assert attrs["seed"] == 42 + seeded and attrs["train_seconds"] > 0
        assert sorted(trial.intermediate_values) == list(range(1, len(trial.intermediate_values) + 1))
        if trial.state == TrialState.COMPLETE:
            assert len(trial.intermediate_values) == attrs["config"]["epochs"]
            best = max(trial.intermediate_values, key=trial.intermediate_values.get)  # the first of equals
            assert (trial.value, attrs["best_epoch"]) == (trial.intermediate_values[best], best)
    assert len({t.user_attrs["fused_with"] for t in trials}) == 1  # one group took all six, re-formed as trials ended

    best_file = tmp_path / "best.json"
    sweep_cli("best", "--study", "tiny", "--storage", sqlite_url, "--out", str(best_file), cwd=tmp_path)
    best = json.loads(best_file.read_text())
    assert best["data_order"] and best["seed"] == 42 + best["trial"]
    retrained = sweep_cli("train", str(best_file), "--max-train", str(GROUP_IMAGES), cwd=tmp_path).stdout
    val_accuracy = float(retrained.split("val_accuracy")[1].split()[0])
    assert val_accuracy == pytest.approx(best["val_accuracy"], abs=RETRAIN_TOLERANCE)


def start_fused_sweep(folder, url, trials: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "sweep", "run", *STEADY, "--fuse", "3", "--trials", str(trials), "--storage", url]
    return subprocess.Popen(
        command, cwd=folder, env={**os.environ, **HEARTBEAT}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for_the_group_after_the_centre(url: str, process) -> set[int]:
    """The numbers of the first group of three: the space's centre trains alone first (study.enqueue_starts)."""
    return wait_for_a_running_trial_after(url, completed=1, process=process, running=3)


def steady_trials(url: str) -> list:
    return optuna.load_study(study_name="steady", storage=url).get_trials()


def test_kill_9_mid_group_fails_and_retries_every_trial_of_the_group(tmp_path, sqlite_url):
    process = start_fused_sweep(tmp_path, sqlite_url, trials=4)
    group = wait_for_the_group_after_the_centre(sqlite_url, process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    dead = [t for t in steady_trials(sqlite_url) if t.number in group]

    time.sleep(4)  # longer than the grace period: the group's heartbeats are stale
    sweep_cli("run", *STEADY, "--fuse", "3", "--trials", "4", "--storage", sqlite_url, cwd=tmp_path, env=HEARTBEAT)
    trials = steady_trials(sqlite_url)
    assert {t.number for t in trials if t.state == TrialState.FAIL} == group
    for killed in dead:
        (retry,) = [t for t in trials if t.system_attrs.get("failed_trial") == killed.number]
        assert retry.params == killed.params and retry.state == TrialState.COMPLETE
    assert len(trials) == 7 and not [t for t in trials if t.state == TrialState.RUNNING]


def test_sigterm_stores_the_whole_group_as_interrupted_and_resume_requeues_each(tmp_path, sqlite_url):
    process = start_fused_sweep(tmp_path, sqlite_url, trials=4)
    group = wait_for_the_group_after_the_centre(sqlite_url, process)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 143, err[-2000:]
    interrupted = [t for t in steady_trials(sqlite_url) if t.state == TrialState.FAIL]
    assert {t.number for t in interrupted} == group
    assert all(t.user_attrs["interrupted"] for t in interrupted)

    sweep_cli("run", *STEADY, "--fuse", "3", "--trials", "4", "--storage", sqlite_url, cwd=tmp_path)
    trials = steady_trials(sqlite_url)
    retried = {t.user_attrs.get("retry_of"): t for t in trials if "retry_of" in t.user_attrs}
    assert set(retried) == group
    assert all(retried[t.number].params == t.params for t in interrupted)
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 4


def test_two_fused_workers_share_one_postgres_study_to_exact_counts(tmp_path, postgres_url):
    tiny = ["--space", str(SPACES / "tiny.yaml"), "--max-train", str(GROUP_IMAGES)]
    sweep_cli("run", *tiny, "--workers", "2", "--fuse", "4", "--trials", "8", "--storage", postgres_url, cwd=tmp_path)
    trials = study_trials(postgres_url)
    assert_exactly(trials, 8)
    ran = [t for t in trials if t.state != TrialState.FAIL]  # a FAIL here was asked after the count was full
    assert len({t.user_attrs["fused_with"] for t in ran}) == 2  # one group per worker


def test_at_the_deadline_a_group_stops_at_the_epoch_boundary_and_its_trials_count_at_their_best_epoch(
    tmp_path, group_split
):
    from sweep.search.ask_tell import DEADLINE_REASON, run_group
    from sweep.search.driver import SweepSettings, open_study, requeue_interrupted
    from sweep.search.progress import Progress
    from sweep.space.spec import load_space

    space = load_space(SPACES / "steady.yaml")  # six epochs per trial
    settings = SweepSettings(space=str(space.path), storage=f"sqlite:///{tmp_path / 'sweep.db'}", fuse=3)
    settings.timeout, settings.started = 1, time.time() - 60  # the deadline has passed: one epoch, then stop
    study = open_study(settings, space)
    granted = iter([1, 1, 1])
    told = run_group(study, space, group_split, settings, lambda wanted: next(granted, 0), callbacks=[])

    trials = study.get_trials()
    assert told == 3 and [t.state for t in trials] == [TrialState.PRUNED] * 3
    for trial in trials:
        assert trial.user_attrs["fail_reason"] == DEADLINE_REASON and "interrupted" not in trial.user_attrs
        assert list(trial.intermediate_values) == [1]  # its first epoch is its model
    line = Progress().line(study, trials[0])  # the console says why it stopped
    assert line.startswith(f"trial 0 pruned ({DEADLINE_REASON})") and "(pruned 3, failed 0)" in line
    assert requeue_interrupted(study) == []  # a model, not a loss: the next run asks new trials

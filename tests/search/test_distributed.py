"""Many workers, one study: real PostgreSQL and Redis on loopback, as Optuna's distributed design intends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import optuna
from helpers import SMALL, SPACES, assert_exactly, study_trials, sweep_cli
from optuna.trial import TrialState

TINY = ["--space", str(SPACES / "tiny.yaml"), "--max-train", str(SMALL)]


def test_three_workers_run_one_postgres_study_to_exactly_n_trials(tmp_path, postgres_url):
    run = sweep_cli("run", *TINY, "--workers", "3", "--trials", "4", "--storage", postgres_url, cwd=tmp_path)
    assert_exactly(study_trials(postgres_url), 4)  # three workers race for four trials: none too many
    log = (tmp_path / "results" / "tiny.log").read_text()
    assert all(f"[worker {index}]" in log for index in range(3))
    assert "BASELINE" in run.stdout


def test_two_workers_share_a_redis_journal(tmp_path, redis_url):
    sweep_cli("run", *TINY, "--workers", "2", "--trials", "4", "--storage", redis_url, cwd=tmp_path)
    assert_exactly(study_trials(redis_url), 4)


def test_a_killed_worker_trial_is_failed_by_heartbeat_and_retried_by_a_survivor(tmp_path, postgres_url):
    steady = ["--space", str(SPACES / "steady.yaml"), "--max-train", "4000", "--pruner", "none", "--fuse", "1"]
    command = [sys.executable, "-m", "sweep", "run", *steady, "--trials", "4", "--storage", postgres_url]
    env = {**os.environ, "SWEEP_HEARTBEAT_SECONDS": "1"}
    workers = [
        subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    victim, survivor = workers
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:  # wait until both workers are mid-trial
        try:
            running = [
                t
                for t in study_trials(postgres_url, "steady")
                if t.state == TrialState.RUNNING and t.intermediate_values
            ]
        except KeyError:
            running = []
        if len(running) == 2:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the two workers never ran side by side")
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    out, err = survivor.communicate(timeout=300)
    assert survivor.returncode == 0, err[-2000:]

    trials = study_trials(postgres_url, "steady")
    (dead,) = [t for t in trials if t.state == TrialState.FAIL]
    assert dead.number in {t.number for t in running}
    (retry,) = [t for t in trials if t.system_attrs.get("failed_trial") == dead.number]
    assert retry.params == dead.params and retry.state == TrialState.COMPLETE
    assert_exactly(trials, 4)


def test_unreachable_database_is_one_line_naming_the_host_without_the_password(tmp_path):
    result = sweep_cli(
        "run", *TINY, "--storage", "postgresql://sweep:hunter2@127.0.0.1:1/night", cwd=tmp_path, check=False
    )
    assert result.returncode == 1
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("sweep: error:") and "127.0.0.1" in line and "start PostgreSQL" in line
    assert "hunter2" not in result.stderr + result.stdout and "Traceback" not in result.stderr


def test_several_workers_on_sqlite_are_refused_with_the_alternative(tmp_path, sqlite_url):
    result = sweep_cli("run", *TINY, "--workers", "2", "--storage", sqlite_url, cwd=tmp_path, check=False)
    assert result.returncode == 1 and "journal:///" in result.stderr and "postgresql://" in result.stderr


def test_worker_environment_shares_cores_and_spreads_gpus():
    from sweep.search.workers import worker_environment

    assert worker_environment(0, 2, cores=2, gpus=[])["TF_NUM_INTRAOP_THREADS"] == "1"
    assert worker_environment(0, 1, cores=16, gpus=[])["TF_NUM_INTRAOP_THREADS"] == "16"
    assert [worker_environment(i, 4, cores=16, gpus=["0", "1"])["CUDA_VISIBLE_DEVICES"] for i in range(4)] == [
        "0",
        "1",
        "0",
        "1",
    ]


def test_a_solo_trial_asked_after_the_count_was_taken_fails_unrun_and_is_no_fault(sqlite_url):
    """Two workers that each saw one open place: the one whose trial number comes later stands down."""
    from sweep.data import load_split
    from sweep.search.driver import NOT_RUN, FailureGuard, Objective, beyond_target
    from sweep.space.spec import load_space

    space = load_space(SPACES / "tiny.yaml")
    study = optuna.create_study(study_name="tiny", storage=sqlite_url, direction="maximize")
    taken = [study.ask(), study.ask()]  # the other workers' trials, still running: the count of 2 is taken
    objective = Objective(space, load_split(max_train=500), beyond=lambda number: beyond_target(study, 2, number))
    guard = FailureGuard(limit=1)
    study.optimize(objective, n_trials=1, catch=(Exception,), callbacks=[guard])

    (late,) = [t for t in study.get_trials() if t.number not in {t.number for t in taken}]
    assert late.state == TrialState.FAIL and late.user_attrs["fail_reason"] == NOT_RUN
    assert "config" not in late.user_attrs  # it never trained
    assert not guard.tripped  # no fault of the space

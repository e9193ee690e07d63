"""Overnight sweeps: a kill -9 loses nothing, a SIGTERM stops cleanly, diverging trials fail alone."""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import subprocess
import sys
import time

import optuna
import pandas as pd
import pytest
from helpers import SPACES, sweep_cli, wait_for_a_running_trial_after
from optuna.trial import TrialState

from sweep.results.storages import open_storage
from sweep.search.progress import Progress
from sweep.search.settings import INTERRUPTED

HEARTBEAT = {"SWEEP_HEARTBEAT_SECONDS": "1"}  # stale after 3 s instead of 30 s
STEADY = [
    "--space",
    str(SPACES / "steady.yaml"),
    "--max-train",
    "4000",
    "--pruner",
    "none",
    "--fuse",
    "1",
]  # one at a time


def start_sweep(folder, url, trials: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sweep", "run", *STEADY, "--trials", str(trials), "--storage", url],
        cwd=folder,
        env={**os.environ, **HEARTBEAT},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def by_state(url: str):
    trials = optuna.load_study(study_name="steady", storage=url).get_trials()
    return trials, {state: [t for t in trials if t.state == state] for state in TrialState}


def test_kill_9_mid_trial_then_resume_loses_nothing(tmp_path, sqlite_url):
    process = start_sweep(tmp_path, sqlite_url, trials=4)
    wait_for_a_running_trial_after(sqlite_url, completed=2, process=process)
    process.send_signal(signal.SIGKILL)  # a power cut: no handler runs
    process.wait()
    before, states = by_state(sqlite_url)
    completed_before = {t.number: (t.params, t.value) for t in states[TrialState.COMPLETE]}
    (killed,) = states[TrialState.RUNNING]

    time.sleep(4)  # longer than the grace period: the killed worker's heartbeat is stale
    sweep_cli("run", *STEADY, "--trials", "4", "--storage", sqlite_url, cwd=tmp_path, env=HEARTBEAT)

    after, states = by_state(sqlite_url)
    assert not states[TrialState.RUNNING] and not states[TrialState.WAITING]
    assert {t.number: (t.params, t.value) for t in after if t.number in completed_before} == completed_before
    assert [t.number for t in states[TrialState.FAIL]] == [killed.number]
    (retry,) = [t for t in after if t.system_attrs.get("failed_trial") == killed.number]
    assert retry.params == killed.params and retry.state == TrialState.COMPLETE
    assert len(states[TrialState.COMPLETE]) == 4 and len(after) == 5
    assert optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(retry) == killed.number
    table = pd.read_csv(
        io.StringIO(sweep_cli("table", "--study", "steady", "--storage", sqlite_url, "--format", "csv").stdout)
    )
    assert table.loc[table["trial"] == str(retry.number), "retry_of"].tolist() == [killed.number]


def test_a_trial_that_never_beat_is_retried_instead_of_waited_for(tmp_path, sqlite_url):
    """A worker killed between Optuna's ``ask`` and its first heartbeat leaves a RUNNING trial that Optuna's
    stale check skips; the resumed run would wait for it for ever."""
    sweep_cli("run", *STEADY, "--trials", "1", "--storage", sqlite_url, cwd=tmp_path, env=HEARTBEAT)
    study = optuna.load_study(study_name="steady", storage=open_storage(sqlite_url))
    orphan = study.ask()  # as the killed worker left it: RUNNING, no heartbeat
    with sqlite3.connect(sqlite_url.split(":///", 1)[1]) as database:  # and asked a minute ago
        database.execute("UPDATE trials SET datetime_start = datetime(datetime_start, '-1 minute') WHERE number = 1")

    sweep_cli("run", *STEADY, "--trials", "2", "--storage", sqlite_url, cwd=tmp_path, env=HEARTBEAT, timeout=300)

    after, states = by_state(sqlite_url)
    assert [t.number for t in states[TrialState.FAIL]] == [orphan.number]
    assert len(states[TrialState.COMPLETE]) == 2 and not states[TrialState.RUNNING] and not states[TrialState.WAITING]
    assert optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(after[-1]) == orphan.number


def test_sigterm_stops_cleanly_with_the_table_and_resume_retries(tmp_path, sqlite_url):
    process = start_sweep(tmp_path, sqlite_url, trials=3)
    wait_for_a_running_trial_after(sqlite_url, completed=1, process=process)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 143, err[-2000:]
    assert "stopped by SIGTERM" in err and "BASELINE" in out and "rank" in out
    _, states = by_state(sqlite_url)
    assert not states[TrialState.RUNNING]
    (interrupted,) = states[TrialState.FAIL]
    assert interrupted.user_attrs["interrupted"] and "signal" in interrupted.user_attrs["fail_reason"]

    sweep_cli("run", *STEADY, "--trials", "3", "--storage", sqlite_url, cwd=tmp_path)
    after, states = by_state(sqlite_url)
    (retry,) = [t for t in after if t.user_attrs.get("retry_of") == interrupted.number]
    assert retry.params == interrupted.params and retry.state == TrialState.COMPLETE
    assert len(states[TrialState.COMPLETE]) == 3 and not states[TrialState.RUNNING]


def test_the_console_counts_interrupted_trials_apart_from_failed_ones():
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    trial.set_user_attr("interrupted", True)
    trial.set_user_attr("fail_reason", INTERRUPTED)
    line = Progress().line(study, study.tell(trial, state=TrialState.FAIL))
    assert line.startswith(f"trial 0 interrupted ({INTERRUPTED})") and "(pruned 0, failed 0, interrupted 1)" in line


def test_diverging_trials_fail_with_their_reason_and_the_sweep_goes_on(tmp_path, sqlite_url):
    run = sweep_cli(
        "run",
        "--space",
        str(SPACES / "diverge.yaml"),
        "--trials",
        "2",
        "--max-train",
        "2000",
        "--sampler",
        "random",
        "--max-failures",
        "10",
        "--storage",
        sqlite_url,
        cwd=tmp_path,
    )
    trials = optuna.load_study(study_name="diverge", storage=sqlite_url).get_trials()
    failed = [t for t in trials if t.state == TrialState.FAIL]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 2 and all(t.params["learning_rate"] == 0.01 for t in complete)
    assert failed, "the random sampler draws the diverging rate too (seeded)"
    assert all(t.params["learning_rate"] == 10.0 and "diverged" in t.user_attrs["fail_reason"] for t in failed)
    assert "fail_reason" in run.stdout


@pytest.mark.parametrize("fuse", ["1", "4"])
def test_too_many_failures_in_a_row_stop_the_sweep_with_a_message(tmp_path, sqlite_url, fuse):
    broken = tmp_path / "explode.yaml"
    broken.write_text((SPACES / "diverge.yaml").read_text().replace("choices: [0.01, 10.0]", "choices: [10.0]"))
    result = sweep_cli(
        "run",
        "--space",
        str(broken),
        "--trials",
        "5",
        "--max-train",
        "1000",
        "--max-failures",
        "2",
        "--fuse",
        fuse,
        "--storage",
        sqlite_url,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 1
    assert "2 failed trials in a row" in result.stderr and "diverged" in result.stderr
    trials = optuna.load_study(study_name="diverge", storage=sqlite_url).get_trials()
    # One at a time, the guard stops before a third trial starts. Fused, the space's centre trains alone first
    # (sweep.space.centre), then a group of four, whose trials all ran at once.
    assert [t.state for t in trials] == [TrialState.FAIL] * (2 if fuse == "1" else 5)


@pytest.mark.parametrize(
    ("text", "seconds"), [("8h", 28800), ("90m", 5400), ("45s", 45), ("1h30m", 5400), ("3600", 3600)]
)
def test_timeouts_read_as_people_write_them(text, seconds):
    from sweep.cli import Duration

    assert Duration().convert(text, None, None) == seconds

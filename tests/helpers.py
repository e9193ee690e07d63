"""Helpers the tests share: paths, the real `sweep` command in a subprocess, and waits on real storages."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

TESTS = Path(__file__).resolve().parent
SPACES = TESTS / "spaces"
NOTEBOOK = TESTS.parent / "docs" / "pages" / "notebook.ipynb"  # the walk-through, committed without outputs
SMALL = 2000  # training images for quick trials; validation stays the full 12,000
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/0"
FINAL = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def sweep_cli(
    *args: str, cwd: Path | None = None, check: bool = True, timeout: float = 600, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run the real `sweep` command in a subprocess, as a user would."""
    result = subprocess.run(
        [sys.executable, "-m", "sweep", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if check and result.returncode != 0:
        raise AssertionError(f"sweep {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result


def unavailable(service: str, error: Exception):
    """Outside CI a developer may lack the service; CI must have it, so there it fails."""
    message = f"{service} is not reachable on 127.0.0.1 ({error}); start it (see .ci/run)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def study_trials(url: str, name: str = "tiny"):
    from sweep.results.storages import open_storage

    return optuna.load_study(study_name=name, storage=open_storage(url)).get_trials()


def assert_exactly(trials, count: int) -> None:
    numbers = [t.number for t in trials]
    assert sorted(numbers) == list(range(len(trials))), "no duplicate or missing trial numbers"
    assert all(t.state in FINAL for t in trials), "every trial ends in a final state"
    assert len([t for t in trials if t.state != TrialState.FAIL]) == count


def wait_for_a_running_trial_after(url: str, completed: int, process, running: int = 1, limit: float = 240) -> set[int]:
    """Block until `completed` trials are done and `running` trials are mid-way through their epochs
    (one trial alone, or a fused group); return those running trials' numbers.

    Polls the SQLite file directly, every 50 ms, and returns at once: on a fast machine an epoch of these
    trials takes a fraction of a second, and loading the study through Optuna, here or before the signal,
    could miss the window. Load the trials once the signal has landed."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        assert process.poll() is None, process.communicate()[1][-2000:]
        done, midway = running_counts(url)
        if done >= completed and len(midway) >= running:
            return midway
        time.sleep(0.05)
    raise AssertionError("the sweep never got mid-trial")


def running_counts(url: str) -> tuple[int, set[int]]:
    """Completed trials, and the running ones with one to three of six epochs reported: three or more
    are left for the signal to land in."""
    path = url.removeprefix("sqlite:///")
    if not os.path.exists(path):
        return 0, set()
    query = (
        "SELECT t.number, t.state, COUNT(v.trial_intermediate_value_id) FROM trials t "
        "LEFT JOIN trial_intermediate_values v ON v.trial_id = t.trial_id GROUP BY t.trial_id"
    )
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)) as connection:
            rows = connection.execute(query).fetchall()
    except sqlite3.OperationalError:  # the schema is still being created
        return 0, set()
    done = sum(state == "COMPLETE" for _, state, _ in rows)
    return done, {number for number, state, epochs in rows if state == "RUNNING" and 1 <= epochs <= 3}

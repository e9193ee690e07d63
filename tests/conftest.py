"""Shared fixtures: the real dataset, small slices of it, temporary real storages (SQLite, PostgreSQL, Redis)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SPACES = TESTS / "spaces"
SMALL = 2000  # training images for quick trials; validation stays the full 12,000
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="session", autouse=True)
def baseline_cache(tmp_path_factory):
    """One baseline computation per test session, in a folder of its own."""
    folder = tmp_path_factory.mktemp("cache")
    os.environ["SWEEP_CACHE_DIR"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_sweep(tmp_path_factory) -> tuple[Path, str, subprocess.CompletedProcess]:
    """One real `sweep run` of 4 trials over the tiny space into SQLite, shared by every test that reads a
    finished study (table, best, report, export, dashboard): (folder, storage URL, the run's output).
    Tests must not write to its database; copy the file first (see test_rerun_continues...)."""
    folder = tmp_path_factory.mktemp("tiny_sweep")
    url = f"sqlite:///{folder / 'sweep.db'}"
    args = ["--space", str(SPACES / "tiny.yaml"), "--trials", "4", "--max-train", str(SMALL), "--storage", url]
    return folder, url, sweep_cli("run", *args, cwd=folder)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'sweep.db'}"


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


@pytest.fixture
def postgres_url():
    """A fresh database per test, dropped afterwards."""
    import psycopg

    name = f"sweep_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(f"{POSTGRES}/test", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        unavailable("PostgreSQL", error)
    admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{POSTGRES}/{name}"
    admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def redis_url():
    """A fresh key prefix per test, deleted afterwards."""
    import redis

    client = redis.Redis.from_url(REDIS, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.ConnectionError as error:
        unavailable("Redis", error)
    prefix = f"sweep-test-{uuid.uuid4().hex[:10]}"
    yield f"{REDIS}?prefix={prefix}"
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)

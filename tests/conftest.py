"""Shared fixtures: the real dataset, small slices of it, temporary real storages (SQLite, PostgreSQL, Redis),
the executed walk-through notebook and headless Chromium."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from helpers import NOTEBOOK, POSTGRES, REDIS, SMALL, SPACES, sweep_cli, unavailable

from sweep.search.workers import worker_environment

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Each xdist worker, and every `sweep` it starts, takes its share of the cores, as `sweep run --workers`
    # gives its own workers: two workers on 2 cores with TensorFlow's default pools each spin threads for both
    # cores and slow each other down.
    index = int(os.environ["PYTEST_XDIST_WORKER"].removeprefix("gw"))
    os.environ.update(worker_environment(index, int(os.environ["PYTEST_XDIST_WORKER_COUNT"]), gpus=[]))


@pytest.fixture(scope="session")
def shared_folder(tmp_path_factory) -> Path:
    """A folder every xdist worker of this run sees (the run's base temp folder); alone, the session's own."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextlib.contextmanager
def only_one_worker_at_a_time(lock_file: Path):
    """Workers that need the same expensive thing take turns: the first makes it, the others read it."""
    with open(lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session", autouse=True)
def baseline_cache(shared_folder):
    """One baseline computation per test run, shared by the workers (the cache writes whole files only)."""
    folder = shared_folder / "baseline-cache"
    folder.mkdir(exist_ok=True)
    os.environ["SWEEP_CACHE_DIR"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_sweep(shared_folder) -> tuple[Path, str, subprocess.CompletedProcess]:
    """One real `sweep run` of 4 trials over the tiny space into SQLite, shared by every test that reads a
    finished study (table, best, report, export, dashboard): (folder, storage URL, the run's output).
    The first worker runs it; the others wait and read its outcome. Tests must not write to its database;
    copy the file first (see test_rerun_continues...)."""
    folder = shared_folder / "tiny_sweep"
    url = f"sqlite:///{folder / 'sweep.db'}"
    outcome = folder / "outcome.json"
    with only_one_worker_at_a_time(shared_folder / "tiny_sweep.lock"):
        if not outcome.exists():
            folder.mkdir(exist_ok=True)
            args = ["--space", str(SPACES / "tiny.yaml"), "--trials", "4", "--max-train", str(SMALL), "--storage", url]
            run = sweep_cli("run", *args, cwd=folder)
            outcome.write_text(json.dumps([run.args, run.returncode, run.stdout, run.stderr]))
    return folder, url, subprocess.CompletedProcess(*json.loads(outcome.read_text()))


@pytest.fixture(scope="session")
def executed_notebook(shared_folder) -> Path:
    """The walk-through notebook executed top to bottom in a real kernel (nbclient, ipykernel), once per run:
    the executed copy, in the folder that was its working directory (the studies it wrote are there).
    tests/test_api.py reads its outputs and studies, tests/docs/ renders it into the site. Read only."""
    folder = shared_folder / "walkthrough"
    executed = folder / "executed.ipynb"
    with only_one_worker_at_a_time(shared_folder / "walkthrough.lock"):
        if not executed.exists():
            import nbformat
            from nbclient import NotebookClient

            folder.mkdir(exist_ok=True)
            notebook = nbformat.read(NOTEBOOK, as_version=4)
            resources = {"metadata": {"path": str(folder)}}
            NotebookClient(notebook, timeout=600, kernel_name="python3", resources=resources).execute()
            nbformat.write(notebook, executed)
    return executed


@pytest.fixture(scope="module")
def browse(tmp_path_factory):
    """Headless Chromium on a local page, for the HTML report and the documentation site; installed with apt-get
    when missing and possible, as .ci/run does: ``browse(page, "--dump-dom")`` returns what Chromium printed."""
    found = next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    if not found and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], capture_output=True, timeout=900)
        found = shutil.which("chromium")
    if not found:
        pytest.skip("Chromium is not installed and apt-get cannot install it here (not root, or no apt)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}",
        "--proxy-server=127.0.0.1:9",  # a dead proxy: a page that needed the network would not draw
        "--virtual-time-budget=5000",  # let plotly draw before the DOM is dumped or the screenshot taken
    ]  # fmt: skip

    def run(page: Path, *args: str) -> str:
        command = [found, *flags, *args, page.resolve().as_uri()]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout

    return run


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'sweep.db'}"


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


# Longest first: pytest-xdist hands whole modules (--dist loadscope) to its workers in collection order, so the
# modules that train go out first and the quick ones (space checks, the import graph) fill the gaps at the end,
# instead of one worker finishing a long module alone while the other waits.
HEAVIEST_FIRST = ("training", "search", "results", "data", "test_api.py", "space", "test_architecture.py", "docs")


def pytest_collection_modifyitems(config, items):
    tests = Path(__file__).parent

    def weight(item) -> int:
        top = item.path.relative_to(tests).parts[0]
        return HEAVIEST_FIRST.index(top) if top in HEAVIEST_FIRST else len(HEAVIEST_FIRST)

    items.sort(key=weight)  # stable: each module keeps its own order

"""Sessions: tests (the suite), lint (ruff), sweep (the main job), bench (benchmarks), docs (the site).

Virtualenvs are reused and built with uv when it is there (``pip install "nox[uv]"``),
so a second run starts in seconds.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "tests"]

DEBIAN_DATASET = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


def install(session: nox.Session, extras: str = "") -> None:
    # uv leaves .pyc files unwritten, and where PYTHONDONTWRITEBYTECODE is set every `sweep` process then
    # compiles TensorFlow, pandas and Optuna from source again: `sweep table` took 7 s instead of 2.5 s.
    session.install("-e", f".{extras}", env={"UV_COMPILE_BYTECODE": "1"})
    ensure_dataset(session)


def ensure_dataset(session: nox.Session) -> None:
    """Debian's dataset package where apt and root are there; otherwise Keras downloads it at first use."""
    if DEBIAN_DATASET.exists() or os.environ.get("SWEEP_DATA_DIR"):
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        session.run("apt-get", "update", "-qq", external=True)
        session.run("apt-get", "install", "-y", "-qq", "dataset-fashion-mnist", external=True)


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite: real data slices, real SQLite, PostgreSQL and Redis on loopback."""
    install(session, "[dev]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "sweep", "tests", "docs", "noxfile.py")
    session.run("ruff", "format", "--check", "--diff", "sweep", "tests", "docs", "noxfile.py")


@nox.session
def sweep(session: nox.Session) -> None:
    """The main job: a real sweep over the notes' space into results/sweep.db, then its table."""
    install(session)
    args = session.posargs or ["--space", "notes", "--trials", "20", "--timeout", "20m"]
    session.run("sweep", "run", *args)
    session.run("sweep", "best", "--out", "results/best.json")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks under tests/bench/; each writes its table to results/reference/."""
    install(session, "[dev]")
    # one benchmark at a time (-n 0): each measures time, and a parallel neighbour would skew it
    session.run("pytest", "tests/bench", "-n", "0", "-s", "-p", "no:cacheprovider", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site into docs/site/; --strict turns a broken link or reference into a failure.

    The build executes the walk-through notebook (docs/hooks/notebook.py), so it trains for a minute or two."""
    install(session, "[docs]")
    quiet = {"NO_MKDOCS_2_WARNING": "1"}  # mkdocs-material's banner about MkDocs 2, printed on every build
    session.run("mkdocs", "build", "--strict", "--config-file", "docs/mkdocs.yml", *session.posargs, env=quiet)

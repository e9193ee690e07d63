"""One entry to a run, for both faces: the engine, one worker or many, the log file and the progress display.

``sweep run`` and ``sweep.run`` both come here, so the terminal and the notebook cannot give different
answers. The caller owns the signals (the CLI installs handlers; a notebook's kernel keeps its own).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from sweep.search.progress import Progress, ProgressBar, setup_logging, wants_bar
from sweep.search.settings import SweepSettings, SweepStopped
from sweep.training import load_keras_quietly, share_gpu_memory, signals

log = logging.getLogger(__name__)


def launch(
    settings: SweepSettings,
    engine: str = "optuna",
    tuner: str = "hyperband",
    workers: int = 1,
    progress: bool | None = None,
    console: bool = False,
    log_file: Path | None = None,
):
    """Run the sweep ``settings`` describe; return the Optuna study.

    ``progress``: a live bar (default: where someone watches). ``console``: sweep's own log lines on stderr,
    as the CLI shows them. Everything else (Optuna, TensorFlow's native lines) goes to ``log_file``.
    Raises ``signals.Interrupted`` after a clean stop, ``Recycle`` when a fresh process should continue.
    """
    from sweep.results import DEFAULT_STORAGE, mask
    from sweep.search.driver import run_sweep

    share_gpu_memory()
    if workers > 1 and engine == "keras-tuner":
        raise ValueError("--workers starts Optuna workers; --engine keras-tuner searches in one process")
    setup_logging(log_file, console=console)
    name = settings.study_name(settings.search_space())
    log.info("study %r in %s: %s", name, mask(settings.storage or DEFAULT_STORAGE), settings.stopping_rule())
    if workers > 1:
        return _run_workers(settings, workers, log_file)
    line = Progress(settings.timeout, settings.trials, settings.started)
    with _progress_callbacks(line, wants_bar() if progress is None else progress, console) as callbacks:
        if engine == "keras-tuner":
            load_keras_quietly()  # the tuner module imports Keras at once; Optuna's path loads it at the first fit
            from sweep.search.tuner import run_keras_tuner

            return run_keras_tuner(settings, tuner, callbacks=callbacks)
        return run_sweep(settings, callbacks=callbacks)


def _run_workers(settings: SweepSettings, workers: int, log_file: Path | None):
    from sweep.search.study import open_study
    from sweep.search.workers import run_workers

    code = run_workers(settings, workers, log_file)
    if code in signals.EXIT_CODES.values():
        signum = next(signum for signum, exit_code in signals.EXIT_CODES.items() if exit_code == code)
        raise signals.Interrupted(signum)
    if code != 0:
        raise SweepStopped(f"a worker stopped with exit code {code}; see {log_file or 'the log'}")
    return open_study(settings)


@contextlib.contextmanager
def _progress_callbacks(line: Progress, bar: bool, console: bool) -> Iterator[list]:
    """The per-trial log line, and where someone watches a live bar (log lines print above it)."""
    if not bar:
        yield [line]
        return
    from tqdm.contrib.logging import logging_redirect_tqdm

    live = ProgressBar(line)
    try:
        with logging_redirect_tqdm() if console else contextlib.nullcontext():
            yield [line, live]
    finally:
        live.close()

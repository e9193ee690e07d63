"""Several worker processes on this machine, all talking to one shared Optuna storage.

There is no coordinator: each worker runs the ordinary trial loop of ``run_sweep``
against the storage, as Optuna's distributed design intends. The parent computes the
baseline once, starts the workers with a fair share of CPU threads (and one GPU each,
round-robin, where there are GPUs), forwards stop signals and waits.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import signal
import time

from sweep.results import DEFAULT_STORAGE, StorageError, mask, shares_badly
from sweep.training import GPU_SHARING, signals, visible_gpus

log = logging.getLogger(__name__)

RECYCLE_EXIT = 75  # a worker that ran its share of trials; the parent starts a fresh one in its place


def worker_environment(index: int, count: int, cores: int | None = None, gpus: list[str] | None = None) -> dict:
    """Environment for worker ``index`` of ``count``: its share of threads and its GPU."""
    threads = str(max(1, (cores or os.cpu_count() or 1) // count))
    env = {"TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": threads}
    gpus = visible_gpus() if gpus is None else gpus
    if gpus:  # more workers than GPUs share them, each taking memory as it needs it
        env["CUDA_VISIBLE_DEVICES"] = gpus[index % len(gpus)]
        env.update({name: os.environ.get(name, value) for name, value in GPU_SHARING.items()})
    return env


def check_shareable(storage: str | None, count: int) -> None:
    if count > 1 and shares_badly(storage or DEFAULT_STORAGE):
        raise StorageError(
            f"{count} workers cannot share {mask(storage or DEFAULT_STORAGE)}: SQLite serialises writers "
            "(Optuna's FAQ advises against it); use --storage journal:///results/sweep.log on one machine "
            "or postgresql://USER@HOST/DB across machines"
        )


def run_workers(settings, count: int, log_file=None) -> int:
    """Start ``count`` workers for ``settings`` and wait; return the exit code for the CLI."""
    from sweep.search.study import open_study, record_baseline

    check_shareable(settings.storage, count)
    split = settings.data.split(settings.max_train)  # bad data is refused before a study exists
    study = open_study(settings)
    record_baseline(study, split, settings.data)
    settings = dataclasses.replace(settings, started=settings.started or time.time())  # one clock for all
    workers = [_start(dataclasses.replace(settings, worker=i), count, log_file) for i in range(count)]
    signals.install(immediate=True)
    log.info("started %d workers on study %r in %s", count, study.study_name, mask(settings.storage or ""))
    try:
        while any(worker.is_alive() or worker.exitcode == RECYCLE_EXIT for worker in workers):
            for index, worker in enumerate(workers):
                worker.join(timeout=1)
                if worker.exitcode == RECYCLE_EXIT:  # its share done: a fresh process, the same settings
                    workers[index] = _start(worker.settings, count, log_file)
    except KeyboardInterrupt as stop:
        return _stop_all(workers, stop)
    return 0 if all(worker.exitcode == 0 for worker in workers) else 1


def _start(settings, count: int, log_file):
    """One worker process, with a fresh Keras runtime (spawn, not fork)."""
    worker = multiprocessing.get_context("spawn").Process(target=_worker, args=(settings, count, log_file))
    worker.settings = settings
    worker.start()
    return worker


def _stop_all(workers, stop: KeyboardInterrupt) -> int:
    """Forward the stop; each worker fails its current trial cleanly and exits."""
    for worker in workers:
        if worker.is_alive():
            os.kill(worker.pid, signal.SIGTERM)
    for worker in workers:
        worker.join()
    return stop.exit_code if isinstance(stop, signals.Interrupted) else 130


def _worker(settings, count: int, log_file) -> None:
    """One worker process: its environment first, then the ordinary trial loop."""
    os.environ.update(worker_environment(settings.worker, count))
    from sweep.search.driver import Recycle, SweepStopped, run_sweep
    from sweep.search.progress import Progress, setup_logging

    setup_logging(log_file, prefix=f"[worker {settings.worker}] ")
    signals.install()
    try:
        run_sweep(settings, callbacks=[Progress(settings.timeout, settings.trials, settings.started)])
    except Recycle:
        raise SystemExit(RECYCLE_EXIT) from None
    except KeyboardInterrupt as stop:
        raise SystemExit(stop.exit_code if isinstance(stop, signals.Interrupted) else 130) from None
    except (SweepStopped, StorageError) as error:
        log.error("%s", error)
        raise SystemExit(1) from None

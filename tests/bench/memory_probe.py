"""Run N small trials in this one process and record resident memory after each.

Usage: python memory_probe.py TRIALS OUT_JSON
"""

import json
import sys
import tempfile
from pathlib import Path

from sweep.driver import SweepSettings, run_sweep


def resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def main(trials: str, out_file: str) -> None:
    samples = []
    folder = tempfile.mkdtemp()
    settings = SweepSettings(
        space=sys.argv[3],
        storage=f"sqlite:///{folder}/memory.db",
        trials=int(trials),
        max_train=1000,
        pruner="none",
        max_failures=1000,
    )
    run_sweep(settings, callbacks=[lambda study, trial: samples.append(resident_mb())])
    Path(out_file).write_text(json.dumps(samples))


if __name__ == "__main__":
    main(*sys.argv[1:3])

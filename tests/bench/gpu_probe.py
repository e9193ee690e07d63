"""GPU against CPU on the throughput configs, under KERAS_BACKEND=jax (the GPU machines carry JAX, not TF).

Usage: KERAS_BACKEND=jax python tests/bench/gpu_probe.py OUT_JSON
Runs every config of _common.CONFIGS on the default device (the GPU when JAX sees one), then
the same in a subprocess with JAX_PLATFORMS=cpu, and writes both timings. Prepared for
tests/bench/gpu.sh; see that file for how it is carried to a GPU machine.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def measure() -> dict:
    import jax
    from _common import CONFIGS, params_to_config

    from sweep.data import load_split
    from sweep.training.solo import train

    split = load_split()
    train(params_to_config(CONFIGS["reference"]), load_split(max_train=2000))  # warm-up
    results = {"device": str(jax.devices()[0])}
    for name, params in CONFIGS.items():
        result = train(params_to_config(params), split)
        results[name] = {"seconds": result.fit_seconds, "val_accuracy": result.val_accuracy}
        print(results["device"], name, results[name], file=sys.stderr, flush=True)  # partial figures survive a timeout
    return results


def main(out_file: str) -> None:
    if os.environ.get("SWEEP_GPU_PROBE_CHILD"):
        print(json.dumps(measure()))
        return
    accelerated = measure()
    cpu = subprocess.run(
        [sys.executable, __file__, out_file],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "JAX_PLATFORMS": "cpu", "SWEEP_GPU_PROBE_CHILD": "1"},
    )
    Path(out_file).write_text(
        json.dumps({"accelerator": accelerated, "cpu": json.loads(cpu.stdout.strip().splitlines()[-1])}, indent=1)
    )


if __name__ == "__main__":
    main(sys.argv[1])

"""Train the reference model once with the given speed settings; print JSON with time and accuracy.

Usage: python choices_probe.py STEPS_PER_EXECUTION JIT_COMPILE VALIDATION_BATCH
(thread counts come from the environment, as `sweep run --workers` sets them)
"""

import json
import sys

from sweep.data import load_split
from sweep.space.spec import REFERENCE_CONFIG
from sweep.training.solo import Speed, train


def main(steps: str, jit: str, validation_batch: str) -> None:
    speed = Speed(int(steps), {"auto": "auto", "true": True, "false": False}[jit], int(validation_batch))
    train(REFERENCE_CONFIG, load_split(max_train=2000), speed=speed)  # warm-up: tracing, thread pools
    result = train(REFERENCE_CONFIG, load_split(), speed=speed)
    print(json.dumps({"seconds": result.fit_seconds, "val_accuracy": result.val_accuracy}))


if __name__ == "__main__":
    main(*sys.argv[1:])

"""Fused groups of K = 1, 8, 32, 128 trials on one device, under KERAS_BACKEND=jax.

Usage: KERAS_BACKEND=jax python tests/bench/gpu_fused.py OUT_JSON [BUDGET_SECONDS]
The same configs, drawn from the notes' space (mixed batch sizes, optimizers, widths), train
``EPOCHS`` epochs each on the full 48,000 images; K grows until the budget would be exceeded.
The first epoch includes XLA compilation; the last is the steady state.
"""

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

EPOCHS = 2
SIZES = (1, 8, 32, 128)


class Hooks:
    """Hands out the drawn configs and times each group epoch; prunes nothing."""

    def __init__(self, configs):
        from sweep.training.group import Branch

        self.queue = [Branch(i, f"trial_{i}", config, 100 + i) for i, config in enumerate(configs)]
        self.epoch_ends, self.accuracies, self.failed_count = [], {}, 0

    def more(self, free):
        taken, self.queue = self.queue[:free], self.queue[free:]
        return taken

    def epoch_end(self, branch, epoch, accuracy):
        if self.epoch_ends and self.epoch_ends[-1][0] == epoch:  # the epoch's last bucket ends it
            self.epoch_ends.pop()
        self.epoch_ends.append((epoch, time.perf_counter()))
        self.accuracies[branch.handle] = accuracy
        return True

    def finished(self, branch):
        pass

    def failed(self, branch, reason):
        self.failed_count += 1


def measure(size: int, split, configs) -> dict:
    import jax

    from sweep.training.group import train_group

    hooks = Hooks([{**config, "epochs": EPOCHS} for config in configs[:size]])
    started = time.perf_counter()
    stats = train_group(split, hooks, size, shuffle_seed=0)
    seconds = time.perf_counter() - started
    first = hooks.epoch_ends[0][1] - started
    last = hooks.epoch_ends[-1][1] - hooks.epoch_ends[-2][1] if len(hooks.epoch_ends) > 1 else first
    memory = jax.devices()[0].memory_stats() or {}
    return {
        "K": size,
        "seconds": round(seconds, 2),
        "first_epoch_s": round(first, 2),
        "steady_epoch_s": round(last, 2),
        "trial_epochs_per_hour": round(size * EPOCHS / seconds * 3600),
        "steady_trial_epochs_per_hour": round(size / last * 3600),
        "mean_val_accuracy": round(sum(hooks.accuracies.values()) / max(len(hooks.accuracies), 1), 4),
        "failed": hooks.failed_count,
        "live_share": round(stats.live_share, 3),
        "peak_gpu_mb": round(memory.get("peak_bytes_in_use", 0) / 2**20),
    }


def main(out_file: str, budget: float = 300.0) -> None:
    import jax
    from _common import params_to_config
    from drawn import draw_params

    from sweep.data import load_split

    split = load_split()
    configs = [params_to_config(p) for p in draw_params(max(SIZES), seed=0)]
    results, started = (
        {"device": str(jax.devices()[0]), "epochs": EPOCHS, "runs": []},
        time.time(),
    )
    for size in SIZES:
        run = measure(size, split, configs)
        results["runs"].append(run)
        print(json.dumps(run), file=sys.stderr, flush=True)
        Path(out_file).write_text(json.dumps(results, indent=1))
        if time.time() - started + 4 * run["seconds"] > budget:  # the next K is 4x the trials: stay in budget
            break


if __name__ == "__main__":
    main(sys.argv[1], *(float(a) for a in sys.argv[2:3]))

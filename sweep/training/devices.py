"""What this machine computes on, read without importing a framework: GPUs and the fused-group size."""

from __future__ import annotations

import os
import shutil
import subprocess

# Trials per fused group when --fuse is auto, chosen from results/reference/fused.md and gpu.md.
FUSE_ON_CPU = 8
FUSE_ON_GPU = 64

# Several processes (workers, groups) on one GPU: each takes memory as it needs it rather than
# most of the card at start-up, which is JAX's and TensorFlow's default.
GPU_SHARING = {"XLA_PYTHON_CLIENT_PREALLOCATE": "false", "TF_FORCE_GPU_ALLOW_GROWTH": "true"}


def visible_gpus() -> list[str]:
    """GPU indices this machine shows, without importing a framework."""
    if "CUDA_VISIBLE_DEVICES" in os.environ:
        return [gpu for gpu in os.environ["CUDA_VISIBLE_DEVICES"].split(",") if gpu.strip()]
    if not shutil.which("nvidia-smi"):
        return []
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(listing.splitlines()) if line.startswith("GPU ")]


def share_gpu_memory() -> None:
    """Let this process and its workers share GPUs (a user's own setting wins)."""
    for name, value in GPU_SHARING.items():
        os.environ.setdefault(name, value)


def resolve_fuse(fuse: int | str) -> int:
    """``auto``: a small group on CPU (per-step overhead shared), a large one on a GPU (kept busy)."""
    if fuse != "auto":
        return int(fuse)
    return FUSE_ON_GPU if visible_gpus() else FUSE_ON_CPU

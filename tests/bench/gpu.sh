#!/usr/bin/env bash
# The GPU check, prepared to run once on a lent GPU machine (JAX and CUDA there, no TensorFlow).
#
# Here, once (the device README's recipe), from the repository root:
#   echo /.whl/ >> .git/info/exclude; echo /.data/ >> .git/info/exclude
#   mkdir -p .data && cp /usr/share/datasets/fashion-mnist/*.gz .data/
#   for p in keras==3.15.1 optuna==5.0.0 namex optree rich h5py absl-py ml-dtypes alembic colorlog \
#            sqlalchemy mako greenlet tqdm pyyaml click pandas scikit-learn joblib threadpoolctl; do
#     python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl "$p"
#   done
# Then with the device tool: run(command="bash tests/bench/gpu.sh", carry=[".whl", ".data"], timeout_s=500)
# and turn $OUT/gpu.json into results/reference/gpu.md.
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH="/tmp/site:$PWD" KERAS_BACKEND=jax SWEEP_DATA_DIR="$PWD/.data" SWEEP_CACHE_DIR=/tmp/sweep-cache
nvidia-smi -L || true
# One trial at a time, GPU against CPU (run 1 is in results/reference/gpu-run1.json); skip with SWEEP_GPU_FUSED_ONLY=1.
if [ -z "${SWEEP_GPU_FUSED_ONLY:-}" ]; then
  PYTHONUNBUFFERED=1 python3 tests/bench/gpu_probe.py "${OUT:-/tmp}/gpu.json"
  cat "${OUT:-/tmp}/gpu.json"
fi
# Fused groups of K = 1, 8, 32, 128 trials, as long as the budget (seconds) lasts.
PYTHONUNBUFFERED=1 python3 tests/bench/gpu_fused.py "${OUT:-/tmp}/gpu_fused.json" "${SWEEP_GPU_BUDGET:-330}"
cat "${OUT:-/tmp}/gpu_fused.json"

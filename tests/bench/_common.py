"""Shared by the benchmarks: the machine's description and where tables go."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "results" / "reference"

# Four fixed configs of the notes' space: the chapter's reference model and three others.
CONFIGS = {
    "reference": {
        "hidden_layers": 1,
        "units_0": 100,
        "activation": "sigmoid",
        "optimizer": "rmsprop",
        "learning_rate": 0.001,
        "batch_size": 32,
        "epochs": 5,
    },
    "relu-300-100-adam": {
        "hidden_layers": 2,
        "units_0": 300,
        "units_1": 100,
        "activation": "relu",
        "optimizer": "adam",
        "learning_rate": 0.001,
        "batch_size": 64,
        "epochs": 5,
    },
    "tanh-256-sgd": {
        "hidden_layers": 1,
        "units_0": 256,
        "activation": "tanh",
        "optimizer": "sgd",
        "learning_rate": 0.05,
        "batch_size": 32,
        "epochs": 5,
    },
    "sigmoid-128-64-32-adagrad": {
        "hidden_layers": 3,
        "units_0": 128,
        "units_1": 64,
        "units_2": 32,
        "activation": "sigmoid",
        "optimizer": "adagrad",
        "learning_rate": 0.05,
        "batch_size": 128,
        "epochs": 5,
    },
}


def machine() -> str:
    import keras

    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, no GPU; "
        f"Python {platform.python_version()}, Keras {keras.__version__} ({backend}); {date.today()}"
    )


def write_table(name: str, title: str, table: pd.DataFrame, notes: str = "") -> Path:
    """Print the table and commit-ready markdown under results/reference/."""
    REFERENCE.mkdir(parents=True, exist_ok=True)
    path = REFERENCE / f"{name}.md"
    text = f"# {title}\n\nMachine: {machine()}\n\n{table.to_markdown(index=False, floatfmt='.4g')}\n"
    if notes:
        text += f"\n{notes.strip()}\n"
    path.write_text(text)
    print(f"\n{text}")
    return path


def python(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=cwd, env={**os.environ, **(env or {})}
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def params_to_config(params: dict) -> dict:
    from sweep.space.spec import complete_config

    layers = params["hidden_layers"]
    drawn = {k: v for k, v in params.items() if not k.startswith("units_")}
    return complete_config({**drawn, "units": [params[f"units_{i}"] for i in range(layers)]})


def read_json(path: Path):
    return json.loads(Path(path).read_text())

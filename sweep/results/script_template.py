"""``train_best.py``: the exported configuration as a standalone script that needs only numpy and Keras.

The layer lines are written from the model ``sweep.training.model.build_model`` builds for the config, so the
script trains the same architecture without a copy of the project's modules. A model of the user's own
builder is built by importing that builder, which the script's docstring names.
"""

from __future__ import annotations

import json
import string
from typing import Any

from sweep.training import epoch_learning_rates

# Keras layer class -> the constructor arguments the script spells out (positional first, then keywords).
LAYER_ARGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Reshape": (("target_shape",), ()),
    "Conv2D": (("filters", "kernel_size"), ("padding", "activation")),
    "MaxPooling2D": (("pool_size",), ()),
    "Flatten": ((), ()),
    "Dropout": (("rate",), ()),
    "Dense": (("units",), ("activation",)),
}

# The model: sweep's own, spelled out layer by layer; or the user's builder, imported.
OUR_MODEL = """def build_model():
    model = keras.Sequential(
        [
$layer_lines
        ]
    )"""
OWN_MODEL = """CONFIG = $config


def build_model():
    sys.path.insert(0, os.getcwd())  # the builder's module, found as the sweep found it
    from $module import $function as build

    model = build(CONFIG, $input_shape, $classes)"""

TEMPLATE = string.Template('''\
"""Train the best configuration of study $study (trial $trial) from scratch, with plain Keras.

Written by `sweep export`. Needs only numpy and keras:

    python train_best.py [--max-train N|all] [--data-dir DIR] [--data FILE.npz]

The sweep measured val_accuracy $val_accuracy for this configuration$train_note. The script trains on the
same rows by default; --max-train all trains on every training row (a different score from the sweep's).
It ran on $data_name (fingerprint $data_fingerprint).$model_note The validation split is the project's:
scikit-learn's train_test_split(test_size=0.2, random_state=42) of the training images,
reproduced here with numpy alone.

The configuration:

$config_lines
"""

import argparse
import gzip
import os
import sys
from pathlib import Path

import keras
import numpy as np

EPOCHS = $epochs
BATCH_SIZE = $batch_size
VALIDATION_SHARE = 0.2
SPLIT_SEED = 42
SEED = $seed
LEARNING_RATES = $learning_rates  # the rate of each epoch (cosine, or a held rate cut on plateaus); None: held
DATA_ORDER = $data_order  # a fused trial: epoch j saw permutation(seed, first_epoch + j)[:size]
DATA_DIRS = [Path("/usr/share/datasets/fashion-mnist"), Path("~/.keras/datasets/fashion-mnist").expanduser()]
TRAIN_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
DATA_FILE = $data_file  # None: Fashion-MNIST; else the .npz (x_train, y_train) the sweep ran on
SCALE = $scale  # inputs are divided by this, as in the sweep
TRAIN_IMAGES = $train_images  # the training rows the sweep's trials trained on (None: every row)


def find_data_dir(explicit=None):
    """The first folder holding the Fashion-MNIST .gz files, or None to let Keras download them."""
    folders = ([Path(explicit).expanduser()] if explicit else []) + DATA_DIRS
    for folder in folders:
        if all((folder / name).is_file() for name in TRAIN_FILES):
            return folder
    if explicit:
        raise SystemExit(f"{explicit}: the Fashion-MNIST files {TRAIN_FILES} are not there")
    return None


def read_idx(path, header_bytes):
    """One gzipped IDX file as a flat uint8 array (the header is skipped)."""
    with gzip.open(path, "rb") as stream:
        return np.frombuffer(stream.read(), dtype=np.uint8, offset=header_bytes)


def load_fashion_mnist(data_dir=None):
    """The 60,000 training images (28x28, uint8) and their labels."""
    folder = find_data_dir(data_dir)
    if folder is None:
        (images, labels), _ = keras.datasets.fashion_mnist.load_data()
        return images, labels
    images = read_idx(folder / TRAIN_FILES[0], 16).reshape(-1, 28, 28)
    labels = read_idx(folder / TRAIN_FILES[1], 8)
    return images, labels


def load_training_data(data_file, data_dir):
    """The training images and labels: the sweep's own .npz, or Fashion-MNIST."""
    if data_file is None:
        return load_fashion_mnist(data_dir)
    if not Path(data_file).is_file():
        raise SystemExit(
            f"{data_file}: not found. This configuration was tuned on $data_name (fingerprint $data_fingerprint): "
            "pass --data with that .npz file"
        )
    with np.load(data_file) as archive:
        return archive["x_train"], archive["y_train"]


def split_80_20(images, labels):
    """train_test_split(images, labels, test_size=0.2, random_state=42) without scikit-learn.

    scikit-learn shuffles with np.random.RandomState(42).permutation and puts the first
    ceil(20%) of the shuffled indices in the validation set, the rest in the training set.
    """
    permutation = np.random.RandomState(SPLIT_SEED).permutation(len(labels))
    validation_size = int(np.ceil(VALIDATION_SHARE * len(labels)))
    validation, train = permutation[:validation_size], permutation[validation_size:]
    return images[train], labels[train], images[validation], labels[validation]


$build_function
    model.compile(
        optimizer=$optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--max-train",
        type=lambda value: value if value == "all" else int(value),
        default=TRAIN_IMAGES,
        help="the first N training images, or all [default: the sweep's %(default)s]",
    )
    parser.add_argument("--data-dir", default=os.environ.get("SWEEP_DATA_DIR"), help="folder with the .gz files")
    parser.add_argument("--data", default=DATA_FILE, help="the .npz (x_train, y_train) the sweep ran on")
    args = parser.parse_args()

    images, labels = load_training_data(args.data, args.data_dir)
    images = images.astype(np.float32) / np.float32(SCALE)
    x_train, y_train, x_val, y_val = split_80_20(images, labels)
    if args.max_train not in (None, "all"):
        x_train, y_train = x_train[: args.max_train], y_train[: args.max_train]
    same = TRAIN_IMAGES in (None, len(y_train))
    rows = "the sweep's rows" if same else f"not the sweep's {TRAIN_IMAGES}: the score will differ from the sweep's"
    print(f"{len(y_train)} training images ({rows}), {len(y_val)} validation images")

    keras.utils.set_random_seed(SEED)  # the seed `sweep export` trained model.keras with
    model = build_model()
    fit = dict(batch_size=BATCH_SIZE, validation_data=(x_val, y_val), verbose=2)
    if LEARNING_RATES:
        fit["callbacks"] = [keras.callbacks.LearningRateScheduler(lambda epoch: LEARNING_RATES[epoch])]
    if DATA_ORDER is None:
        model.fit(x_train, y_train, epochs=EPOCHS, **fit)
    for epoch in range(EPOCHS if DATA_ORDER else 0):  # the batches the fused trial saw, in its order
        rng = np.random.default_rng([DATA_ORDER["seed"], DATA_ORDER["first_epoch"] + epoch])
        order = rng.permutation(len(y_train))[: DATA_ORDER.get("size")]  # whole batches, as the group trained
        model.fit(x_train[order], y_train[order], epochs=epoch + 1, initial_epoch=epoch, shuffle=False, **fit)
    _, val_accuracy = model.evaluate(x_val, y_val, batch_size=2048, verbose=0)
    print(f"val_accuracy {val_accuracy:.4f}")


if __name__ == "__main__":
    main()
''')


def render_script(config: dict[str, Any], record: dict[str, Any], model, seed: int) -> str:
    """The script's text for ``config``; ``model`` is ``build_model(config)``, whose layers it spells out."""
    train_images = record.get("train_images")
    data = record.get("data") or {"name": "fashion-mnist", "fingerprint": "?", "path": None, "scale": 255.0}
    return TEMPLATE.substitute(
        data_name=data["name"],
        data_fingerprint=data["fingerprint"],
        data_file=repr(data["path"]),
        scale=repr(float(data["scale"])),
        study=record["study"],
        trial=record["trial"],
        val_accuracy=f"{record['val_accuracy']:.4f}",
        train_note=f" on {train_images} training images" if train_images else "",
        train_images=repr(train_images),
        config_lines="\n".join(f"    {key}: {json.dumps(value)}" for key, value in config.items()),
        epochs=config["epochs"],
        seed=seed,
        data_order=repr(record.get("data_order")),
        learning_rates=repr(epoch_learning_rates(config)),
        batch_size=config["batch_size"],
        build_function=_build_function(config, record.get("model"), model),
        model_note=f"\nIts model comes from the builder {record.get('model')}, which this script imports."
        * bool(record.get("model")),
        optimizer=optimizer_code(model.optimizer, config),
    )


def _build_function(config: dict[str, Any], reference: str | None, model) -> str:
    """``build_model()`` of the script: sweep's layers written out, or a call of the user's builder."""
    if reference is None:
        lines = "\n".join(f"            {line}," for line in layer_code(model))
        return string.Template(OUR_MODEL).substitute(layer_lines=lines)
    module, function = reference.split(":", 1)
    return string.Template(OWN_MODEL).substitute(
        config=repr(config),
        module=module,
        function=function,
        input_shape=repr(tuple(model.input_shape[1:])),
        classes=model.output_shape[-1],
    )


def layer_code(model) -> list[str]:
    """``keras.Input(...)`` and one ``keras.layers.X(...)`` call per layer of ``model``."""
    lines = [f"keras.Input(shape={tuple(model.input_shape[1:])!r})"]
    for layer in model.layers:
        name = type(layer).__name__
        if name not in LAYER_ARGS:
            raise ValueError(f"train_best.py cannot write a {name} layer yet; add it to LAYER_ARGS")
        settings = layer.get_config()
        positional, keywords = LAYER_ARGS[name]
        arguments = [_literal(settings[key], key) for key in positional]
        arguments += [f"{key}={_literal(settings[key], key)}" for key in keywords]
        lines.append(f"keras.layers.{name}({', '.join(arguments)})")
    return lines


def optimizer_code(optimizer, config: dict[str, Any]) -> str:
    """The optimizer call with every setting that differs from its defaults (config values as written)."""
    cls = type(optimizer)
    default = cls().get_config()
    settings = optimizer.get_config()
    changed = [key for key in settings if key != "name" and settings[key] != default.get(key)]
    arguments = ", ".join(f"{key}={_literal(config.get(key, settings[key]))}" for key in changed)
    return f"keras.optimizers.{cls.__name__}({arguments})"


def _literal(value: Any, key: str = "") -> str:
    """A Python literal; a square kernel or pool such as (3, 3) is written 3, as Keras accepts and books write."""
    if key in ("kernel_size", "pool_size") and len(set(value)) == 1:
        return repr(value[0])
    if isinstance(value, str):
        return json.dumps(value)  # double quotes, like the rest of the script
    return repr(tuple(value)) if isinstance(value, list) else repr(value)

"""The notes' own code, in a loop: build a Sequential, compile with defaults, fit. No tricks.

Usage: python naive_loop.py CONFIGS_JSON OUT_JSON
"""

import json
import sys
import time
from pathlib import Path

import keras

from sweep.data import load_split

OPTIMIZERS = {
    "sgd": keras.optimizers.SGD,
    "rmsprop": keras.optimizers.RMSprop,
    "adam": keras.optimizers.Adam,
    "adagrad": keras.optimizers.Adagrad,
}


def main(configs_file: str, out_file: str) -> None:
    split = load_split()  # the same arrays the sweep uses, loaded once as a notebook would
    results = {}
    for name, config in json.loads(Path(configs_file).read_text()).items():
        started = time.perf_counter()
        model = keras.models.Sequential()
        model.add(keras.Input(shape=(28, 28)))
        model.add(keras.layers.Flatten())
        for layer in range(config["hidden_layers"]):
            model.add(keras.layers.Dense(config[f"units_{layer}"], activation=config["activation"]))
        model.add(keras.layers.Dense(10, activation="softmax"))
        model.compile(
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            optimizer=OPTIMIZERS[config["optimizer"]](learning_rate=config["learning_rate"]),
        )
        history = model.fit(
            split.x_train,
            split.y_train,
            epochs=config["epochs"],
            batch_size=config["batch_size"],
            validation_data=(split.x_val, split.y_val),
            verbose=0,
        )
        results[name] = {"seconds": time.perf_counter() - started, "val_accuracy": history.history["val_accuracy"][-1]}
    Path(out_file).write_text(json.dumps(results))


if __name__ == "__main__":
    main(*sys.argv[1:])

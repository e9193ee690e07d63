"""HFTA's grouped convolution against a Conv2D per branch: K copies of the cnn space's centre, side by side.

The cnn space's centre (two Conv2D(45, 3) + 2x2 max pooling, Dense 128, dropout 0.25, Adam 1e-3, batch 128) is
trained as K branches of one Keras program, two ways, on the same rows with the same shuffle:
- *a Conv2D per branch* (today's fused program): every branch calls its own layers;
- *grouped* (HFTA's fused operators): the branches' first convolutions as one Conv2D of K x 45 filters over the
  shared input, their second as one ``Conv2D(K x 45, groups=K)``, the pooled maps split back into K heads.
Both are the same K models (each branch's weights are its own; a grouped kernel holds K independent kernels).
Seconds are one fit of EPOCHS epochs after a warm-up fit has traced the program; rounds run A B B A in one
process, so a drift in the machine's speed hits both alike.

Settings: SWEEP_BENCH_GROUPED_BRANCHES (default 3: about the mean count of CNNs a 20-minute cnn sweep trains at
once), SWEEP_BENCH_GROUPED_ROWS (default 3000).
"""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
from _common import write_table

from sweep.data import load_split

BRANCHES = [int(k) for k in os.environ.get("SWEEP_BENCH_GROUPED_BRANCHES", "3").split(",")]
ROWS = int(os.environ.get("SWEEP_BENCH_GROUPED_ROWS", "3000"))
EPOCHS, FILTERS, KERNEL, UNITS, DROPOUT, BATCH = 2, 45, 3, 128, 0.25, 128  # the cnn space's centre
PROGRAMS = {"a Conv2D per branch (today)": False, "grouped Conv2D (HFTA)": True}
ROUNDS = [False, True, True, False]  # A B B A


def _heads(maps: list) -> list:
    import keras

    outputs = []
    for index, features in enumerate(maps):
        x = keras.layers.Dropout(DROPOUT)(keras.layers.Flatten()(features))
        x = keras.layers.Dropout(DROPOUT)(keras.layers.Dense(UNITS, activation="relu")(x))
        outputs.append(keras.layers.Dense(10, activation="softmax", name=f"branch_{index}")(x))
    return outputs


def build(branches: int, grouped: bool):
    import keras

    inputs = keras.Input((28, 28))
    images = keras.layers.Reshape((28, 28, 1))(inputs)

    def conv(filters: int, groups: int = 1):
        return keras.layers.Conv2D(filters, KERNEL, padding="same", activation="relu", groups=groups)

    if grouped:
        x = keras.layers.MaxPooling2D(2)(conv(branches * FILTERS)(images))
        x = keras.layers.MaxPooling2D(2)(conv(branches * FILTERS, groups=branches)(x))
        maps = keras.layers.Lambda(lambda t: keras.ops.split(t, branches, axis=-1))(x)
    else:
        maps = []
        for _ in range(branches):
            x = keras.layers.MaxPooling2D(2)(conv(FILTERS)(images))
            maps.append(keras.layers.MaxPooling2D(2)(conv(FILTERS)(x)))
    model = keras.Model(inputs, _heads(list(maps)))
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=["sparse_categorical_crossentropy"] * branches,
        metrics=[["accuracy"]] * branches,
        jit_compile="auto",  # as sweep compiles its programs
    )
    return model


def train(split, branches: int, grouped: bool) -> tuple[float, float]:
    """Seconds for one fit of EPOCHS epochs (traced beforehand), and the branches' mean val_accuracy."""
    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(7)
    model = build(branches, grouped)
    x, y = split.x_train[:ROWS], split.y_train[:ROWS]
    labels = [y] * branches
    model.fit(x[:BATCH], [y[:BATCH]] * branches, batch_size=BATCH, epochs=1, verbose=0)  # traces the step
    started = time.perf_counter()
    model.fit(x, labels, batch_size=BATCH, epochs=EPOCHS, verbose=0, shuffle=True)
    seconds = time.perf_counter() - started
    scores = model.evaluate(split.x_val, [split.y_val] * branches, batch_size=1024, verbose=0, return_dict=True)
    accuracy = np.mean([value for name, value in scores.items() if name.endswith("accuracy")])
    return seconds, float(accuracy)


def test_grouped_conv():
    split = load_split()
    rows = []
    for branches in BRANCHES:
        seconds: dict[bool, list[float]] = {False: [], True: []}
        accuracy: dict[bool, list[float]] = {False: [], True: []}
        for grouped in ROUNDS:
            spent, score = train(split, branches, grouped)
            seconds[grouped].append(spent)
            accuracy[grouped].append(score)
        today = np.mean(seconds[False])
        rows += [
            {
                "branches": branches,
                "program": name,
                "seconds in its two rounds": " / ".join(f"{s:.1f}" for s in seconds[grouped]),
                "speed vs today": today / np.mean(seconds[grouped]),
                "mean val_acc": np.mean(accuracy[grouped]),
            }
            for name, grouped in PROGRAMS.items()
        ]
    table = pd.DataFrame(rows)
    write_table(
        "grouped-conv",
        "Fused CNN branches: HFTA's grouped Conv2D against a Conv2D per branch",
        table,
        f"K copies of the cnn space's centre (Conv2D({FILTERS}, {KERNEL}) + pooling twice, Dense {UNITS}, dropout "
        f"{DROPOUT}, Adam 1e-3, batch {BATCH}) as K branches of one program; seconds for one fit of {EPOCHS} epochs "
        f"on the first {ROWS} training images after a warm-up fit traced the program (XLA where Keras's 'auto' "
        "picks it, as sweep compiles); rounds run A B B A in one process. val_acc is the branches' mean on the "
        "validation split.",
    )
    # the same K models either way: only the initial weights' draw differs
    for branches in BRANCHES:
        scores = table[table["branches"] == branches]["mean val_acc"]
        assert abs(scores.iloc[0] - scores.iloc[1]) < 0.03, table

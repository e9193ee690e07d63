"""A hand-written Optuna loop as Optuna's Keras example teaches it: TPE, MedianPruner, plain fit.

Usage: python naive_optuna.py STORAGE_URL STUDY BUDGET_SECONDS SEED
The space is the notes' (the same ranges as search_spaces/notes.yaml), written out by hand.
"""

import sys

import keras
import optuna

from sweep.data import load_split


def objective(trial, split):
    layers = trial.suggest_int("hidden_layers", 1, 3)
    model = keras.models.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten()])
    activation = trial.suggest_categorical("activation", ["sigmoid", "relu", "tanh"])
    for layer in range(layers):
        model.add(keras.layers.Dense(trial.suggest_int(f"units_{layer}", 16, 512, log=True), activation=activation))
    model.add(keras.layers.Dense(10, activation="softmax"))
    optimizer = {
        "sgd": keras.optimizers.SGD,
        "adagrad": keras.optimizers.Adagrad,
        "rmsprop": keras.optimizers.RMSprop,
        "adam": keras.optimizers.Adam,
    }[trial.suggest_categorical("optimizer", ["sgd", "adagrad", "rmsprop", "adam"])]
    model.compile(
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        optimizer=optimizer(learning_rate=trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)),
    )
    batch_size = trial.suggest_categorical("batch_size", [32, 64, 128, 256])
    epochs = trial.suggest_int("epochs", 5, 20)
    for epoch in range(epochs):
        history = model.fit(
            split.x_train,
            split.y_train,
            batch_size=batch_size,
            epochs=1,
            validation_data=(split.x_val, split.y_val),
            verbose=0,
        )
        accuracy = history.history["val_accuracy"][-1]
        trial.report(accuracy, epoch)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return accuracy


def main(storage: str, study_name: str, budget: str, seed: str) -> None:
    split = load_split()
    study = optuna.create_study(
        storage=storage,
        study_name=study_name,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=int(seed)),
        pruner=optuna.pruners.MedianPruner(),
    )
    study.optimize(lambda trial: objective(trial, split), timeout=float(budget))


if __name__ == "__main__":
    main(*sys.argv[1:])

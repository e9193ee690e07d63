"""The model builder: the config decides the layers, activations and optimizer."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from sweep.space.spec import REFERENCE_CONFIG, complete_config
from sweep.training.model import build_model, epoch_learning_rates


def dense_layers(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def test_reference_model_is_the_notes_model():
    model = build_model(REFERENCE_CONFIG)
    hidden, output = dense_layers(model)
    assert hidden.units == 100 and hidden.activation.__name__ == "sigmoid"
    assert output.units == 10 and output.activation.__name__ == "softmax"
    assert isinstance(model.optimizer, keras.optimizers.RMSprop)
    assert model.optimizer.learning_rate.numpy() == pytest.approx(0.001)
    assert model.loss == "sparse_categorical_crossentropy"
    assert model.output_shape == (None, 10)


@pytest.mark.parametrize("optimizer", ["sgd", "adagrad", "rmsprop", "adam"])
def test_layers_units_activation_and_optimizer_follow_the_config(optimizer):
    config = complete_config(
        {
            "hidden_layers": 3,
            "units": [300, 100, 50],
            "activation": "tanh",
            "optimizer": optimizer,
            "learning_rate": 0.05,
            "dropout": 0.2,
        }
    )
    model = build_model(config)
    *hidden, _ = dense_layers(model)
    assert [layer.units for layer in hidden] == [300, 100, 50]
    assert {layer.activation.__name__ for layer in hidden} == {"tanh"}
    assert sum(isinstance(layer, keras.layers.Dropout) for layer in model.layers) == 3
    assert type(model.optimizer).__name__.lower() == optimizer
    assert model.optimizer.learning_rate.numpy() == pytest.approx(0.05)


def test_sgd_momentum_and_nesterov_reach_the_optimizer():
    model = build_model(complete_config({"optimizer": "sgd", "momentum": 0.9, "nesterov": True}))
    assert model.optimizer.momentum == pytest.approx(0.9) and model.optimizer.nesterov


def test_conv_model_stacks_conv_and_pooling_then_a_dense_head():
    config = complete_config(
        {
            "layer_type": "conv",
            "hidden_layers": 2,
            "filters": [32, 64],
            "kernel_size": [3, 5],
            "units": 128,
            "activation": "relu",
        }
    )
    model = build_model(config)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [(c.filters, c.kernel_size) for c in convs] == [(32, (3, 3)), (64, (5, 5))]
    assert sum(isinstance(layer, keras.layers.MaxPooling2D) for layer in model.layers) == 2
    assert [layer.units for layer in dense_layers(model)] == [128, 10]
    assert model.predict(np.zeros((2, 28, 28), np.float32), verbose=0).shape == (2, 10)


def test_a_cosine_schedule_halves_the_rate_midway_and_the_notes_keep_theirs():
    assert REFERENCE_CONFIG["lr_schedule"] == "constant" and epoch_learning_rates(REFERENCE_CONFIG) is None
    rates = epoch_learning_rates({"learning_rate": 0.01, "epochs": 4, "lr_schedule": "cosine"})
    assert rates == pytest.approx([0.01, 0.01 * (2 + 2**0.5) / 4, 0.005, 0.01 * (2 - 2**0.5) / 4])


def test_builder_is_pure():
    config = complete_config({"hidden_layers": 2, "units": [32, 16]})
    frozen = repr(config)
    first, second = build_model(config), build_model(config)
    assert repr(config) == frozen and first is not second
    assert first.count_params() == second.count_params() == 784 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10


JAX_PROBE = """
import keras
from sweep.data import load_split
from sweep.space.spec import complete_config
from sweep.training.solo import train
assert keras.backend.backend() == "jax"
split = load_split(max_train=1000)
for config in ({"hidden_layers": 2, "units": [64, 32], "activation": "relu", "epochs": 3, "batch_size": 32,
                "optimizer": "sgd", "momentum": 0.9, "nesterov": True, "learning_rate": 0.02},
               {"layer_type": "conv", "hidden_layers": 1, "filters": [8], "units": 16, "dropout": 0.1,
                "activation": "relu", "optimizer": "adam", "learning_rate": 0.003, "epochs": 1}):
    result = train(complete_config(config), split, seed=0)
    print(result.epochs_run, result.val_accuracy)
"""


def test_builder_and_training_run_under_the_jax_backend():
    """Pure Keras 3: the GPU machines carry JAX, not TensorFlow."""
    import os
    import subprocess
    import sys

    pytest.importorskip("jax", reason="jax is in the dev extra; install it to check the JAX backend")
    out = subprocess.run(
        [sys.executable, "-c", JAX_PROBE],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "KERAS_BACKEND": "jax"},
    ).stdout.split()
    dense_epochs, dense_accuracy, conv_epochs, conv_accuracy = out[-4:]
    assert (dense_epochs, conv_epochs) == ("3", "1")
    # Chance is 0.1; eight seeds of the dense model gave 0.67-0.76, so 0.55 leaves room for noise.
    assert float(dense_accuracy) > 0.55 and float(conv_accuracy) > 0.3

"""The centre of a space: what a study with no starts trains first (``sweep.space.centre``)."""

from __future__ import annotations

import math

from helpers import SPACES

from sweep.space import centre_values, load_space


def test_the_cnn_spaces_centre_is_a_small_convnet_with_adam_at_kerass_rate():
    assert centre_values(load_space("cnn")) == {
        "layer_type": "conv",  # a categorical's first choice
        "hidden_layers": 2,
        "filters_0": 45,  # 16-128 on a log scale: its geometric middle
        "filters_1": 45,
        "kernel_size": 3,  # of numeric choices, the one nearest their middle
        "units": 128,
        "activation": "relu",
        "dropout": 0.25,
        "batch_size": 128,
        "epochs": 9,
        "optimizer": "adam",
        "learning_rate": 0.001,
    }


def test_each_optimizers_rate_is_its_keras_default_where_the_range_holds_it():
    space = {
        "name": "rates",
        "params": {
            "optimizer": {"type": "categorical", "choices": ["sgd", "rmsprop"]},
            "learning_rate": [
                {"type": "float", "low": 1.0e-3, "high": 1.0e-1, "log": True, "when": {"optimizer": "sgd"}},
                {"type": "float", "low": 1.0e-2, "high": 1.0e-1, "log": True, "when": {"optimizer": "rmsprop"}},
            ],
            "momentum": {"type": "float", "low": 0.0, "high": 0.9, "when": {"optimizer": "sgd"}},
        },
    }
    assert centre_values(load_space(space)) == {"optimizer": "sgd", "learning_rate_sgd": 0.01, "momentum": 0.45}
    held = {"optimizer": "rmsprop", "learning_rate": {"type": "float", "low": 1.0e-2, "high": 1.0e-1, "log": True}}
    (rate,) = centre_values(load_space({"name": "held", "params": held})).values()
    assert math.isclose(rate, math.sqrt(1e-3))  # RMSprop's 0.001 is outside the range: its geometric middle


def test_a_builders_own_names_take_their_middles_and_first_choices():
    space = load_space(SPACES / "residual.yaml")  # blocks 1-2, width [32, 64], relu or gelu, dropout 0-0.3
    assert centre_values(space) == {"blocks": 2, "width": 32, "activation": "relu", "dropout": 0.15,
                                    "learning_rate": 0.001}  # fmt: skip


def test_a_space_that_draws_nothing_has_no_centre():
    assert centre_values(load_space("reference")) == {}

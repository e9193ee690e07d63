"""A model of our own for the tests: a small residual MLP with BatchNormalization and Dropout.

``build(config, input_shape, classes)`` is the builder contract: the trial config (the space's own names
plus the training keys), one row's shape and the class count in; a keras.Model ending in class
probabilities out. sweep compiles it with the trial's optimizer and learning rate.
"""

import keras


def build(config, input_shape, classes):
    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Dense(config["width"], activation="relu")(keras.layers.Flatten()(inputs))
    for _ in range(config["blocks"]):
        branch = keras.layers.BatchNormalization()(x)
        branch = keras.layers.Dense(config["width"], activation=config["activation"])(branch)
        branch = keras.layers.Dropout(config["dropout"])(branch)
        x = keras.layers.Add()([x, branch])
    return keras.Model(inputs, keras.layers.Dense(classes, activation="softmax")(x))


def wrong_width(config, input_shape, classes):
    """Forgets the class count: ends with 3 units whatever the data has."""
    return keras.Sequential([keras.Input(shape=input_shape), keras.layers.Flatten(), keras.layers.Dense(3)])

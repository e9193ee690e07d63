"""Many trial models as one Keras program: independent branches on a shared input.

Each branch is exactly the trial's model (``Builder.build``): its own layers, its own optimizer (with
its own learning rate and momentum), its own initial weights. The fused model stacks the
branches' outputs and minimises the *sum* of their losses. Branch ``k``'s weights appear in
loss ``k`` only, so the gradient of the sum with respect to them is exactly branch ``k``'s
own gradient, and ``BranchOptimizers`` hands each branch's gradients to that branch's
optimizer. Everything runs through Keras's ordinary ``fit`` on every backend: no
backend-specific ``train_step``. Under JAX the per-branch optimizer states ride in the one
optimizer state that ``fit`` threads through its compiled step.

The branches of one program share a batch size (``group.py`` buckets them): each branch
takes exactly the steps it would take alone. (Gradient accumulation over a common micro-batch
was measured too and lost: a batch-256 branch then paid for eight batch-32 steps; see
``results/reference/fused.md``.)

With ``wide_first_layer``, the first Dense layer of every branch that reads the flattened input is
computed as one matmul, ``x @ [W_1 | ... | W_K]``, split back into the branches (HFTA's fused
operators, arXiv 2102.02344): all branches read the same batch. The weights stay each branch's
own variables, so its optimizer, its export and its solo retraining are unchanged.
"""

from __future__ import annotations

from typing import Any

from sweep.training.builders import OURS, Builder
from sweep.training.model import build_optimizer


def build_branch(config: dict[str, Any], seed: int, name: str, split, builder: Builder = OURS) -> tuple[Any, Any]:
    """``builder.build(config)`` under the trial's seed, and its own optimizer.

    Built right after ``set_random_seed(seed)``, exactly as ``train.train`` builds a solo trial,
    so the branch starts from the very weights the trial's solo retraining starts from.
    """
    import keras

    keras.utils.set_random_seed(seed)
    model = builder.build(config, input_shape=split.input_shape, classes=split.classes, name=name)
    return model, build_optimizer(config)


def copy_branch(parent, config: dict[str, Any], name: str, split, builder: Builder = OURS) -> tuple[Any, Any]:
    """A branch that starts as a copy of ``parent`` (population-based training's exploit step): its model built
    anew under the parent's seed, with the parent's weights, and its optimizer with the parent's state (moments,
    step count), both as they stand at this epoch boundary. Its rate comes from its own ``config``."""
    model, optimizer = build_branch(config, parent.seed, name, split, builder)
    model.set_weights(parent.model.get_weights())
    optimizer.build(model.trainable_variables)
    for mine, theirs in zip(optimizer.variables, parent.optimizer.variables, strict=True):
        mine.assign(theirs)
    return model, optimizer


def fuse(
    models: list,
    optimizers: list,
    input_shape: tuple[int, ...],
    steps_per_execution: int = 1,
    jit_compile: Any = "auto",
    wide_first_layer: bool = False,
):
    """One compiled model whose output ``[:, k]`` is branch ``k``'s class probabilities."""
    import keras

    inputs = keras.Input(shape=input_shape)
    outputs = _wide_outputs(models, inputs) if wide_first_layer else [model(inputs) for model in models]
    stacked = _stack_layer()(outputs)
    fused = keras.Model(inputs, stacked, name=f"fused_{len(models)}")
    fused.compile(
        optimizer=_branch_optimizers(optimizers, models),
        loss=_summed_crossentropy(),
        steps_per_execution=steps_per_execution,
        jit_compile=jit_compile,
    )
    build_optimizer_state(fused)
    return fused


def build_optimizer_state(program) -> None:
    """Every branch's optimizer state, made now. Under TensorFlow, Keras makes it inside the first traced step,
    and tf.function then traces that step twice: about 1 s more per program (results/reference/fusion-cost.md)."""
    program.optimizer.build(program.trainable_variables)


def _wide_outputs(models: list, inputs) -> list:
    """Each branch's output, with the first Dense layer of the flat-input branches as one matmul."""
    import keras

    heads = [_flat_input_dense(model, inputs.shape[1:]) for model in models]
    if sum(head is not None for head in heads) < 2:
        return [model(inputs) for model in models]
    firsts = iter(_wide_dense_layer([dense for dense, _ in filter(None, heads)])(keras.layers.Flatten()(inputs)))
    outputs = []
    for model, head in zip(models, heads, strict=True):
        if head is None:  # a convolution or a layout of the user's own: called whole
            outputs.append(model(inputs))
            continue
        hidden = next(firsts)
        for layer in head[1]:
            hidden = layer(hidden)
        outputs.append(hidden)
    return outputs


def _flat_input_dense(model, input_shape: tuple) -> tuple[Any, list] | None:
    """(its first Dense layer, the layers after it) for a Sequential model that starts Flatten -> Dense
    (or Dense on flat rows); None for any other model, which the wide matmul leaves alone."""
    import keras

    if not isinstance(model, keras.Sequential):
        return None
    layers = list(model.layers)
    flatten = bool(layers) and type(layers[0]) is keras.layers.Flatten
    lead = layers[1:] if flatten else layers
    if not lead or type(lead[0]) is not keras.layers.Dense or (not flatten and len(input_shape) != 1):
        return None
    dense = lead[0]
    plain = dense.compute_dtype == "float32" and dense.activity_regularizer is None and dense.quantization_mode is None
    if not plain or getattr(dense, "lora_enabled", False):  # what Dense.__call__ would add, the wide matmul cannot
        return None
    return dense, lead[1:]


def _wide_dense_layer(denses: list):
    import keras

    class WideDense(keras.layers.Layer):
        """The given Dense layers on one input as one matmul; it owns no weights, it reads theirs."""

        def __init__(self, layers, **kwargs):
            super().__init__(**kwargs)
            self.denses = layers
            self.edges = [sum(layer.units for layer in layers[: i + 1]) for i in range(len(layers) - 1)]

        def call(self, flat):
            kernel = keras.ops.concatenate([layer.kernel for layer in self.denses], axis=1)
            parts = keras.ops.split(keras.ops.matmul(flat, kernel), self.edges, axis=1)
            return [_finish(layer, part) for layer, part in zip(self.denses, parts, strict=True)]

    return WideDense(denses, name="wide_first_layer")


def _finish(dense, product):
    """What ``Dense.call`` does after its matmul: the bias, then the activation."""
    if dense.bias is not None:
        product = product + dense.bias
    return dense.activation(product) if dense.activation is not None else product


def _stack_layer():
    import keras

    class StackBranches(keras.layers.Layer):
        def call(self, outputs):
            stacked = keras.ops.stack(outputs, axis=1)
            logits = [getattr(output, "_keras_logits", None) for output in outputs]
            if all(item is not None for item in logits):
                # Under TensorFlow, Keras's cross-entropy reads a softmax's logits from this attribute;
                # passing them on keeps each branch's loss (and its NaN when it diverges) as in solo.
                stacked._keras_logits = keras.ops.stack(logits, axis=1)
            return stacked

    return StackBranches(name="branches")


def _summed_crossentropy():
    """Sum over branches of each branch's mean sparse categorical cross-entropy."""
    import keras

    class SummedCrossentropy(keras.losses.Loss):
        def call(self, y_true, y_pred):  # y_pred: (batch, branches, classes)
            labels = keras.ops.reshape(keras.ops.cast(y_true, "int32"), (-1, 1))
            labels = keras.ops.broadcast_to(labels, keras.ops.shape(y_pred)[:2])
            per_branch = keras.losses.sparse_categorical_crossentropy(labels, y_pred)  # (batch, branches)
            return keras.ops.sum(per_branch, axis=1)

    return SummedCrossentropy(name="summed_crossentropy")


def _branch_optimizers(optimizers: list, branches: list):
    """The one optimizer ``fit`` sees; it routes each branch's gradients to that branch's optimizer."""
    import keras

    # Held in this closure, not as attributes: an optimizer tracks every Variable assigned to it
    # as one of its own, and JAX's step would then see the model's weights twice.
    groups = [branch.trainable_variables for branch in branches]
    positions: list[list[int]] = []

    class BranchOptimizers(keras.optimizers.Optimizer):
        def build(self, variables):
            super().build(variables)
            position = {id(variable): index for index, variable in enumerate(variables)}
            positions[:] = [[position[id(v)] for v in group] for group in groups]
            for optimizer, group in zip(optimizers, groups, strict=True):
                if not optimizer.built:  # a branch carried into a re-formed group keeps its state
                    optimizer.build(group)

        @property
        def variables(self):  # every branch's state, so JAX's stateless step carries it
            return self._variables[:] + [v for optimizer in optimizers for v in optimizer.variables]

        def apply(self, grads, trainable_variables=None):
            if not self.built:
                self.build(list(trainable_variables))
            for optimizer, group, where in zip(optimizers, groups, positions, strict=True):
                optimizer.apply([grads[i] for i in where], group)
            self._iterations.assign_add(1)

    return BranchOptimizers(learning_rate=0.0, name="branch_optimizers")

"""Every private Keras name keras-switcher uses, in one place.

Keras 3 has no public route yet for what these functions do; each says why
the package needs it and which public route it waits for. The trainers
override no private method of Keras's trainers (the PyTorch one calls two
of its private helpers, `_assert_compile_called` and
`_should_torch_compile`): the switcher optimiser's state reaches them
through `model.optimizer`, a `PairedOptimizer` that wraps the two
optimisers as `LossScaleOptimizer` wraps one. `missing()` lists the names a
Keras release has removed or renamed; `tests/test_keras_internals.py`
fails with that list, so an upgrade breaks one test with a clear message
instead of training silently wrong.
"""

import contextlib
import importlib

import keras

#: `(module, attribute)` pairs this module reads, for `missing()`.
_MODULE_NAMES = (
    ("keras.src.backend.common.stateless_scope", "get_stateless_scope"),
    ("keras.src.losses.loss", "unscale_loss_for_distribution"),
    ("keras.src.models.cloning", "_clone_functional_model"),
)
#: Attributes of a built functional model (and its layers) this module reads.
_MODEL_ATTRIBUTES = ("_flatten_layers", "_nodes", "_make_function", "_loss_tracker")
_LAYER_ATTRIBUTES = ("_tracker", "_trainable_variables", "_non_trainable_variables", "_inbound_nodes")


def flatten_layers(model):
    """Every layer inside `model`, nested ones included, each once.

    Public route awaited: a recursive `Model.layers` (it lists the top level
    only); `Layer._flatten_layers` is what Keras itself walks.
    """
    return list(model._flatten_layers(include_self=False))


def is_functional(model):
    """Whether `model` is a functional model (Keras's `Functional`, which is
    not exported: its graph lives in `_nodes`)."""
    return hasattr(model, "_nodes")


def producer(tensor):
    """The layer that made a symbolic tensor of a functional graph.

    Public route awaited: the graph's edges are only in `_keras_history`
    (`Layer.output` gives a layer's tensors, not the reverse).
    """
    return tensor._keras_history.operation


def inbound_tensors(layer):
    """The input tensors of every call of `layer` in the graphs it is in."""
    return [tensor for node in layer._inbound_nodes for tensor in node.input_tensors]


@contextlib.contextmanager
def adding_state(layer):
    """Within this scope a built layer may create variables.

    Keras locks a layer's tracker after `build`; `Dense.enable_lora` unlocks
    it the same way to add LoRA's variables (no public route).
    """
    layer._tracker.unlock()
    try:
        yield
    finally:
        layer._tracker.lock()


def own_variables(layer):
    """The variables a layer holds itself (not its sub-layers'), in the
    order `Layer.save_own_variables` writes them."""
    return layer._trainable_variables + layer._non_trainable_variables


def compile_config(model):
    """The `CompileConfig` of a compiled model, or `None`: what
    `Model.get_compile_config` serializes, extended with the switcher
    optimiser (public route awaited: a compile config a subclass can extend)."""
    return getattr(model, "_compile_config", None)


def stateless_scope():
    """The JAX trainer's current `StatelessScope` (`keras.StatelessScope`
    is public, the one in use is not)."""
    from keras.src.backend.common.stateless_scope import get_stateless_scope

    return get_stateless_scope()


def unscale_loss_for_distribution(loss):
    """The global loss of a replica's loss under `tf.distribute`, as Keras's
    trainers track it (not exported)."""
    from keras.src.losses.loss import unscale_loss_for_distribution as unscale

    return unscale(loss)


def loss_tracker(model):
    """The `Mean` metric behind a compiled model's logged `loss`, which a
    custom `train_step` updates as Keras's own does (not exported)."""
    return model._loss_tracker


def make_function(model, step):
    """`step` compiled the way the backend's Keras trainer compiles
    `train_step` (`tf.function` or `jax.jit`, distribution,
    `steps_per_execution`); public route awaited: a trainer hook per
    function, not only `train_step`."""
    return model._make_function(step)


def backend_neutral(config):
    """A compile config whose optimisers are Keras's public classes.

    On PyTorch Keras swaps in its own optimiser classes, which a file saved
    there names by their module (`keras.src.backend.torch.optimizers...`);
    loaded on another backend they must be the public ones.
    """
    if isinstance(config, dict):
        config = {key: backend_neutral(value) for key, value in config.items()}
        if str(config.get("module", "")).startswith("keras.src.backend."):
            config["module"] = "keras.optimizers"
        return config
    if isinstance(config, list):
        return [backend_neutral(value) for value in config]
    return config


#: The name of Keras's function that clones a functional model: a
#: `SwitchedModel` built from it copies its source's arguments
#: (`models._model_being_cloned`).
CLONE_FUNCTION_NAME = "_clone_functional_model"


def missing():
    """The private Keras names this package uses that Keras no longer has.

    Returns:
        A list of dotted names, empty when all are there.
    """
    gone = []
    for module_name, attribute in _MODULE_NAMES:
        if not hasattr(importlib.import_module(module_name), attribute):
            gone.append(f"{module_name}.{attribute}")
    inputs = keras.Input((2,))
    layer = keras.layers.Dense(1)
    model = keras.Model(inputs, layer(inputs))
    model.compile("sgd", "mse")
    gone += [f"Model.{name}" for name in _MODEL_ATTRIBUTES if not hasattr(model, name)]
    gone += [f"Layer.{name}" for name in _LAYER_ATTRIBUTES if not hasattr(layer, name)]
    if not hasattr(model.outputs[0], "_keras_history"):
        gone.append("KerasTensor._keras_history")
    if not hasattr(model, "_compile_config"):
        gone.append("Model._compile_config")
    return gone

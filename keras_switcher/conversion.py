"""`switch()`: turn the `Dense` layers of an existing model into `SwitchedDense`."""

import keras

from keras_switcher.sparsity import plan as plan_lib
from keras_switcher import switchers
from keras_switcher.layers import SwitchedDense
from keras_switcher.models import SwitchedModel


def check_graph_model(model, caller):
    """Raises unless `model` is a built functional or `Sequential` model.

    Args:
        model: The object to check.
        caller: Name of the public function, for the message.
    """
    if not isinstance(model, keras.Model) or not (
        isinstance(model, keras.Sequential) or hasattr(model, "_nodes")
    ):
        raise ValueError(
            f"`{caller}()` needs a functional or `Sequential` Keras model. "
            f"Received: model={model!r}"
        )
    if not model.built or not getattr(model, "inputs", None):
        raise ValueError(
            f"Model '{model.name}' is not built: give it an input shape "
            f"(e.g. a `keras.Input`) or call it on data before `{caller}()`."
        )


def switch(
    model,
    layer_names=None,
    switcher=None,
    alternate="epoch",
    warmup_epochs=0,
    target_sparsity=None,
    **model_kwargs,
):
    """Returns a `SwitchedModel` copy of `model` with switched `Dense` layers.

    The chosen `Dense` layers become `SwitchedDense` layers that keep their
    trained kernels and biases; every other layer is copied with its weights.
    The original model is left untouched.

    Args:
        model: A built functional or `Sequential` Keras model.
        layer_names: Name, or list of names, of the `Dense` layers to
            switch. `None` switches every `Dense` layer.
        switcher: Switcher setting for each new layer: a name of
            `keras_switcher.switchers.NAMES` (`None` is `"unet"`, the
            default U-Net; `"magnitude"`, `"movement"`, ...), a `Switcher`
            instance (its configuration is copied, so each layer gets its
            own) or a serialized switcher. On a trained model the kept
            weights are the trained ones, so the first gates are the trained
            weights' scores (fine-tuning).
        alternate: Schedule of the returned model, see `SwitchedModel`.
        warmup_epochs: Dense warm-up epochs of the returned model.
        target_sparsity: `None` (each switcher keeps its own target), a
            float (the overall fraction of the switched layers' connections
            to switch off, shared `"erk"` style) or a
            `keras_switcher.SparsityPlan`.
        **model_kwargs: More arguments of the returned `SwitchedModel`,
            such as `gate_cache_steps`.

    Returns:
        A `SwitchedModel`, not compiled.

    Example:

    >>> dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    >>> model = switch(dense, switcher=UNetSwitcher(depth=1))
    >>> [layer.__class__.__name__ for layer in model.layers[1:]]
    ['SwitchedDense']
    """
    check_graph_model(model, "switch")
    dense_names = [
        layer.name
        for layer in model.layers
        if isinstance(layer, keras.layers.Dense)
    ]
    if isinstance(layer_names, str):
        layer_names = [layer_names]
    if layer_names is None:
        targets = set(dense_names)
    elif not layer_names:
        raise ValueError(
            "Received an invalid value for `layer_names`, expected None (every "
            f"Dense layer) or a non-empty list of names among {dense_names}. "
            f"Received: layer_names={layer_names!r}"
        )
    else:
        targets = set(layer_names)
        unknown = sorted(targets - set(dense_names))
        if unknown:
            raise ValueError(
                "Received an invalid value for `layer_names`: "
                f"{unknown} are not `Dense` layers of model '{model.name}'. "
                f"Its Dense layers are {dense_names}."
            )
    if not targets:
        raise ValueError(
            f"Model '{model.name}' has no `Dense` layer to switch."
        )
    switchers.get(switcher)  # Validates the setting before cloning.
    plan = plan_lib.get(target_sparsity)
    overrides = {name: {} for name in targets}
    if plan is not None:
        switched = [layer for layer in model.layers if layer.name in targets]
        shares = plan.layer_targets(plan_lib.kernel_shapes(switched))
        for layer, share in zip(switched, shares):
            overrides[layer.name]["target_sparsity"] = share

    def clone_layer(layer):
        config = layer.get_config()
        if layer.name not in targets:
            return layer.__class__.from_config(config)
        for key in ("lora_rank", "lora_alpha", "quantization_config"):
            config.pop(key, None)
        switcher_copy = switchers.fresh(switcher, **overrides[layer.name])
        return SwitchedDense(switcher=switcher_copy, **config)

    clone = keras.models.clone_model(model, clone_function=clone_layer)
    for layer, new_layer in zip(model.layers, clone.layers):
        if layer.name in targets:
            new_layer.kernel.assign(layer.kernel)
            if layer.use_bias:
                new_layer.bias.assign(layer.bias)
        else:
            new_layer.set_weights(layer.get_weights())
    return SwitchedModel(
        clone.inputs,
        clone.outputs,
        name=f"switched_{model.name}",
        alternate=alternate,
        warmup_epochs=warmup_epochs,
        sparsity_plan=plan,
        **model_kwargs,
    )

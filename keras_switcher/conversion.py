"""`switch()`: turn the `Dense` and `EinsumDense` layers of a model into switched layers."""

import warnings

import keras

from keras_switcher.sparsity import plan as plan_lib
from keras_switcher import switchers
from keras_switcher.layers import SwitchedDense, SwitchedEinsumDense
from keras_switcher.gating import GatedKernel
from keras_switcher.models import SwitchedModel
from keras_switcher import keras_internals


def is_graph_model(layer):
    """Whether `layer` is a functional or `Sequential` model (whose layers
    `keras.models.clone_model(..., recursive=True)` reaches)."""
    return isinstance(layer, keras.Model) and (
        isinstance(layer, keras.Sequential) or keras_internals.is_functional(layer)
    )


def check_graph_model(model, caller):
    """Raises unless `model` is a built functional or `Sequential` model.

    Args:
        model: The object to check.
        caller: Name of the public function, for the message.
    """
    if not is_graph_model(model):
        raise ValueError(
            f"`{caller}()` needs a functional or `Sequential` Keras model. "
            f"Received: model={model!r}"
        )
    if not model.built or not getattr(model, "inputs", None):
        raise ValueError(
            f"Model '{model.name}' is not built: give it an input shape "
            f"(e.g. a `keras.Input`) or call it on data before `{caller}()`."
        )


def graph_layers(model):
    """The layers of a model's graph, those of nested graph models included.

    Args:
        model: A functional or `Sequential` model.

    Returns:
        The layers in order, each once; nested functional and `Sequential`
        models are replaced by their own layers. Layers inside other layers
        (a `MultiHeadAttention`'s projections) are not among them.
    """
    found, seen = [], set()
    for layer in model.layers:
        for inner in graph_layers(layer) if is_graph_model(layer) else [layer]:
            if id(inner) not in seen:
                seen.add(id(inner))
                found.append(inner)
    return found


def clone_graph(model, replace):
    """Clones a graph model, nested graph models included, layer by layer.

    Args:
        model: A built functional or `Sequential` model.
        replace: Called with each layer; returns the (unbuilt) layer to put
            in its place, or `None` for a copy made from its config.

    Returns:
        `(clone, pairs)`: the cloned model and the `(layer, new_layer)`
        pairs, whose weights the caller sets (the new layers are built).
    """
    pairs = []

    def clone_layer(layer):
        new_layer = replace(layer)
        if new_layer is None:
            new_layer = layer.__class__.from_config(layer.get_config())
        pairs.append((layer, new_layer))
        return new_layer

    clone = keras.models.clone_model(model, clone_function=clone_layer, recursive=True)
    return clone, pairs


#: The plain Keras layers `switch()` turns into switched layers.
SWITCHABLE = {keras.layers.Dense: SwitchedDense, keras.layers.EinsumDense: SwitchedEinsumDense}


def _switchable(layer):
    return type(layer) in SWITCHABLE


def switch(
    model,
    layer_names=None,
    switcher=None,
    alternate="epoch",
    warmup_epochs=0,
    target_sparsity=None,
    verbose=True,
    **model_kwargs,
):
    """Returns a `SwitchedModel` copy of `model` with switched `Dense` layers.

    The chosen `Dense` layers become `SwitchedDense` layers, and `EinsumDense`
    layers `SwitchedEinsumDense`, that keep their trained kernels and
    biases; every other layer is copied with its weights. Layers of nested
    functional and `Sequential` models are reached too; layers inside other
    layers (such as a `MultiHeadAttention`'s projections) are not, and a
    warning names them. The original model is left untouched.

    Args:
        model: A built functional or `Sequential` Keras model.
        layer_names: Name, or list of names, of the `Dense` or
            `EinsumDense` layers to switch. `None` switches every one.
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
        verbose: Whether to print which layers were switched.
        **model_kwargs: More arguments of the returned `SwitchedModel`,
            such as `gate_cache_steps`.

    Returns:
        A `SwitchedModel`, not compiled.

    Example:

    >>> dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    >>> model = switch(dense, switcher="magnitude", verbose=False)
    >>> [layer.__class__.__name__ for layer in model.layers[1:]]
    ['SwitchedDense']
    """
    check_graph_model(model, "switch")
    reachable = graph_layers(model)
    candidates = [layer for layer in reachable if _switchable(layer)]
    names = [layer.name for layer in candidates]
    if isinstance(layer_names, str):
        layer_names = [layer_names]
    if layer_names is None:
        chosen = candidates
    elif not layer_names:
        raise ValueError(
            "Received an invalid value for `layer_names`, expected None (every "
            f"Dense and EinsumDense layer) or a non-empty list of names among "
            f"{names}. Received: layer_names={layer_names!r}"
        )
    else:
        unknown = sorted(set(layer_names) - set(names))
        if unknown:
            raise ValueError(
                "Received an invalid value for `layer_names`: "
                f"{unknown} are not `Dense` or `EinsumDense` layers of model "
                f"'{model.name}'. Its Dense and EinsumDense layers are {names}."
            )
        chosen = [layer for layer in candidates if layer.name in set(layer_names)]
    if not chosen:
        raise ValueError(
            f"Model '{model.name}' has no `Dense` or `EinsumDense` layer to switch."
        )
    _warn_unreachable(model, reachable, "switch", "switched")
    switchers.get(switcher)  # Validates the setting before cloning.
    plan = plan_lib.get(target_sparsity)
    overrides = {id(layer): {} for layer in chosen}
    if plan is not None:
        shares = plan.layer_targets(plan_lib.kernel_shapes(chosen))
        for layer, share in zip(chosen, shares):
            overrides[id(layer)]["target_sparsity"] = share

    def replace(layer):
        if id(layer) not in overrides:
            return None
        config = layer.get_config()
        for key in ("lora_rank", "lora_alpha", "quantization_config", "gptq_unpacked_column_size"):
            config.pop(key, None)
        switcher_copy = switchers.fresh(switcher, **overrides[id(layer)])
        return SWITCHABLE[type(layer)](switcher=switcher_copy, **config)

    clone, pairs = clone_graph(model, replace)
    for layer, new_layer in pairs:
        if id(layer) in overrides:
            # Copies (NumPy), not the arrays themselves: on JAX a step of
            # one model may donate, and so delete, an array the other holds.
            plain = [layer.kernel] + ([layer.bias] if layer.bias is not None else [])
            new_layer.set_weights([keras.ops.convert_to_numpy(v) for v in plain])
        else:
            new_layer.set_weights(layer.get_weights())
    if verbose:
        print(
            f"switch(): {len(chosen)} of {len(candidates)} Dense and EinsumDense "
            f"layers switched: {[layer.name for layer in chosen]}"
        )
    return SwitchedModel(
        clone.inputs,
        clone.outputs,
        name=f"switched_{model.name}",
        alternate=alternate,
        warmup_epochs=warmup_epochs,
        sparsity_plan=plan,
        **model_kwargs,
    )


def plain_layer(layer, **changes):
    """The unbuilt plain Keras layer (`Dense`, `EinsumDense`) of a switched
    layer's config, with `changes` to it."""
    config = layer.get_config()
    config.pop("switcher")
    config.update(changes)
    plain = {SwitchedDense: keras.layers.Dense, SwitchedEinsumDense: keras.layers.EinsumDense}
    return plain[type(layer)].from_config(config)


def plain_twin(model):
    """The model with plain `Dense` and `EinsumDense` layers in place of its
    switched ones, with its weights (ungated kernels).

    Args:
        model: A built functional or `Sequential` model with switched layers.

    Returns:
        `(twin, pairs)`: a `keras.Model` and the `(layer, twin_layer)` pairs.
    """

    def replace(layer):
        return plain_layer(layer) if isinstance(layer, GatedKernel) else None

    clone, pairs = clone_graph(model, replace)
    return keras.Model(clone.inputs, clone.outputs, name=model.name), pairs


def load_plain_weights(model, filepath):
    """Loads a plain twin's weights file (`keras.Model.save_weights` of the
    model before `switch()`) into a switched model.

    Args:
        model: A switched model.
        filepath: A `.weights.h5` file of the same model with `Dense` (and
            `EinsumDense`) layers in place of the switched ones.

    Returns:
        Whether the file was such a twin's; if not, `model` is unchanged.
    """
    twin, pairs = plain_twin(model)
    try:
        twin.load_weights(filepath)
    except ValueError:
        return False
    for layer, twin_layer in pairs:
        layer.set_weights(twin_layer.get_weights())
    return True


def _warn_unreachable(model, reachable, caller, action):
    """Warns about dense layers inside other layers, which cloning cannot reach."""
    ids = {id(layer) for layer in reachable}
    hidden = [
        layer.path
        for layer in keras_internals.flatten_layers(model)
        if id(layer) not in ids and (_switchable(layer) or isinstance(layer, GatedKernel))
    ]
    if hidden:
        warnings.warn(
            f"`{caller}()` left {len(hidden)} layers inside other layers as they "
            f"are (it reaches the layers of the model and of its nested "
            f"functional and Sequential models): {hidden}. They are not {action}.",
            stacklevel=3,
        )

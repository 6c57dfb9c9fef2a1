"""Switchers: rules that score a layer's connections, and the gate they give.

Every sparsity method of the package is a switcher behind `SwitchedDense`,
picked by name the way Keras picks activations and optimisers:

- `"unet"`: the paper's U-Net, `UNetSwitcher` (trainable);
- `"neuron"`: the neuron-level U-Net, `NeuronSwitcher` (trainable);
- `"magnitude"`: `MagnitudeSwitcher`, scores `|w|`;
- `"movement"`: `MovementSwitcher`, scores the accumulated `-w * dL/dw'`;
- `"movement+magnitude"`: `MovementSwitcher(magnitude_weight=0.5)`.

A new rule subclasses `Switcher` and writes `scores(kernel)`.
"""

import keras

from keras_switcher.switchers.base import GATES, GRANULARITIES, Switcher
from keras_switcher.switchers.rules import MagnitudeSwitcher, MovementSwitcher
from keras_switcher.switchers.unet import NeuronSwitcher, UNetSwitcher

#: The switchers `get` knows by name, each a factory of a new instance.
NAMES = {
    "unet": UNetSwitcher,
    "neuron": NeuronSwitcher,
    "magnitude": MagnitudeSwitcher,
    "movement": MovementSwitcher,
    "movement+magnitude": lambda: MovementSwitcher(magnitude_weight=0.5),
}


def get(identifier):
    """Returns a switcher from an identifier.

    Args:
        identifier: `None` (the default, `"unet"`), a name of `NAMES`, a
            `Switcher` instance (returned as is), or a dict from
            `keras.saving.serialize_keras_object` of a switcher.

    Returns:
        A `Switcher` instance.

    Example:

    >>> get("magnitude").__class__.__name__
    'MagnitudeSwitcher'
    >>> get(keras.saving.serialize_keras_object(UNetSwitcher(depth=3))).depth
    3
    """
    if identifier is None:
        identifier = "unet"
    if isinstance(identifier, str) and identifier in NAMES:
        return NAMES[identifier]()
    if isinstance(identifier, Switcher):
        return identifier
    if isinstance(identifier, dict):
        switcher = keras.saving.deserialize_keras_object(identifier)
        if isinstance(switcher, Switcher):
            return switcher
    raise ValueError(
        "Received an invalid value for `switcher`, expected None, one of the "
        f"names {sorted(NAMES)}, a `keras_switcher.switchers.Switcher` "
        f"instance or its serialized config. Received: switcher={identifier!r}"
    )


def fresh(identifier, **overrides):
    """Returns a new, unbuilt switcher with the setting of `identifier`.

    Use it to give several layers the same setting without sharing weights.

    Args:
        identifier: Anything `get` accepts.
        **overrides: Constructor arguments to change, e.g. `target_sparsity`.

    Returns:
        A new `Switcher` instance.

    Example:

    >>> fresh("magnitude", target_sparsity=0.9).target_sparsity
    0.9
    """
    setting = keras.saving.serialize_keras_object(get(identifier))
    unknown = set(overrides) - set(setting["config"])
    if unknown:
        raise ValueError(
            f"Switcher {setting['class_name']} has no argument "
            f"{sorted(unknown)}; it cannot take {overrides}."
        )
    setting["config"].update(overrides)
    return keras.saving.deserialize_keras_object(setting)


class _Scores(keras.Operation):
    """A switcher's `scores` as an operation, to trace it for its shape only."""

    def __init__(self, switcher):
        super().__init__()
        self.switcher = switcher

    def call(self, kernel):
        return self.switcher.scores_with(kernel, keras.ops.zeros_like(kernel))


def check_contract(switcher, kernel_shape):
    """Raises unless a built switcher keeps the `Switcher` contract.

    Its `scores` are traced symbolically (nothing is computed), so the check
    costs nothing whatever the kernel's size.

    Args:
        switcher: A built `Switcher`.
        kernel_shape: The shape of the kernel it switches.
    """
    name = switcher.__class__.__name__
    kernel_shape = tuple(kernel_shape)
    if switcher.granularity not in GRANULARITIES:
        raise ValueError(
            f"{name}.granularity must be one of {GRANULARITIES}. "
            f"Received: granularity={switcher.granularity!r}"
        )
    sparsity = getattr(switcher, "sparsity", None)
    if switcher.target_sparsity is not None and not (
        isinstance(sparsity, keras.Variable) and tuple(sparsity.shape) == ()
    ):
        raise ValueError(
            f"{name} has target_sparsity={switcher.target_sparsity!r} but no "
            "scalar `sparsity` variable after `build`: a `build` that "
            "overrides `Switcher.build` must call `super().build(kernel_shape)`. "
            f"Received: sparsity={sparsity!r} for a kernel of shape {kernel_shape}"
        )
    if switcher.observes_task_gradient and not callable(getattr(switcher, "observe", None)):
        raise ValueError(
            f"{name} sets observes_task_gradient=True but has no "
            "`observe(gate_gradient)` method."
        )
    kernel = keras.KerasTensor(kernel_shape)
    scores = _Scores(switcher).compute_output_spec(kernel)
    expected = switcher.expected_scores_shape(kernel_shape)
    if tuple(getattr(scores, "shape", ())) != expected:
        raise ValueError(
            f"The scores of {name} for a kernel of shape {kernel_shape} must "
            f"have shape {expected} (granularity={switcher.granularity!r}). "
            f"Received: scores of shape {tuple(getattr(scores, 'shape', ()))}"
        )


__all__ = [
    "GATES",
    "NAMES",
    "MagnitudeSwitcher",
    "MovementSwitcher",
    "NeuronSwitcher",
    "Switcher",
    "UNetSwitcher",
    "check_contract",
    "fresh",
    "get",
]

"""Property-based tests: random shapes and gates against a NumPy reference."""

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keras_switcher import SwitchedDense, SwitchedModel, Switcher
from keras_switcher.export import strip

PROFILE = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class GivenGate(Switcher):
    """A switcher that returns a fixed gate: the property under test is the layer's."""

    def __init__(self, fixed, **kwargs):
        super().__init__(**kwargs)
        self.fixed = np.asarray(fixed, dtype="float32")

    def scores(self, kernel):
        # Non-negative, so the paper's gate `ReLU(scores)` is the given gate.
        return keras.ops.convert_to_tensor(self.fixed)

    def get_config(self):
        return {**super().get_config(), "fixed": self.fixed.tolist()}


def gate_arrays(rows, cols, seed, off):
    rng = np.random.RandomState(seed)
    gate = rng.rand(rows, cols).astype("float32") * 2
    gate[rng.rand(rows, cols) < off] = 0.0
    return gate


@PROFILE
@given(
    rows=st.integers(1, 40),
    cols=st.integers(1, 40),
    batch=st.integers(1, 5),
    off=st.floats(0.0, 1.0),
    use_bias=st.booleans(),
    activation=st.sampled_from([None, "relu", "tanh"]),
    seed=st.integers(0, 2**16),
)
def test_switched_dense_equals_the_reference(rows, cols, batch, off, use_bias, activation, seed):
    gate = gate_arrays(rows, cols, seed, off)
    layer = SwitchedDense(cols, activation=activation, use_bias=use_bias, switcher=GivenGate(fixed=gate))
    x = np.random.RandomState(seed + 1).randn(batch, rows).astype("float32")
    y = np.asarray(layer(x))
    kernel = np.asarray(layer.kernel)
    reference = x @ (kernel * gate)
    if use_bias:
        layer.bias.assign(np.linspace(-1, 1, cols).astype("float32"))
        y = np.asarray(layer(x))
        reference = reference + np.linspace(-1, 1, cols).astype("float32")
    if activation == "relu":
        reference = np.maximum(reference, 0)
    elif activation == "tanh":
        reference = np.tanh(reference)
    np.testing.assert_allclose(y, reference, rtol=1e-5, atol=1e-5)
    assert layer.sparsity() == pytest.approx(float((gate <= 0).mean()))


@PROFILE
@given(
    widths=st.lists(st.integers(1, 12), min_size=3, max_size=5),
    off=st.floats(0.0, 0.95),
    unit_multiple=st.sampled_from([1, 4]),
    seed=st.integers(0, 2**16),
)
def test_shrink_keeps_outputs_for_random_gates(widths, off, unit_multiple, seed):
    inputs = keras.Input((widths[0],))
    x = inputs
    for index, units in enumerate(widths[1:]):
        gate = gate_arrays(x.shape[-1], units, seed + index, off)
        x = SwitchedDense(units, activation="relu", name=f"d{index}", switcher=GivenGate(fixed=gate))(x)
    model = SwitchedModel(inputs, x)
    rng = np.random.RandomState(seed)
    for layer in model.switched_layers:
        layer.bias.assign(rng.randn(layer.units).astype("float32"))
    samples = rng.randn(8, widths[0]).astype("float32")
    plain = strip(model)
    shrunk = strip(model, shrink=True, unit_multiple=unit_multiple)
    np.testing.assert_allclose(plain(samples), model(samples), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(shrunk(samples), model(samples), rtol=1e-4, atol=1e-4)
    for name in [f"d{i}" for i in range(len(widths) - 2)]:
        assert shrunk.get_layer(name).units <= plain.get_layer(name).units
    assert shrunk.output_shape == plain.output_shape

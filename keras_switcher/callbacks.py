"""Callbacks for `SwitchedModel` training."""

import os
import warnings

import keras
import numpy as np
from keras import ops

from keras_switcher import reporting
from keras_switcher._extras import require
from keras_switcher.sparsity import SparsityRamp  # noqa: F401 (a callback too)


class MultiStepDecay(keras.callbacks.Callback):
    """Multiplies the learning rate of both optimisers at given epochs.

    This is the authors' MNIST schedule (`milestones=(50, 75)`,
    `factor=0.1` over 100 epochs). Keras's `LearningRateScheduler` sets both
    optimisers of a `SwitchedModel` too (through `PairedOptimizer`), but its
    epochs restart at every `fit`. Here epochs count from a
    `SwitchedModel`'s `epochs_seen`, so the decay survives saving and
    reloading; on a plain model (a baseline trained on the same schedule)
    they count from the start of `fit`.

    Args:
        milestones: Increasing epoch indices at which the rate is multiplied.
        factor: Multiplier applied at each milestone, in `(0, 1]`.

    Example:

    >>> model = ks.applications.LeNet300100(input_shape=(8, 8, 1), switcher="magnitude")
    >>> model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    >>> data = ks.datasets.load("digits", "train[:256]", batch_size=64)
    >>> history = model.fit(data, epochs=3, callbacks=[MultiStepDecay((1, 2))], verbose=0)
    >>> round(float(model.optimizer.learning_rate), 6)  # 0.1, times 0.1 at epochs 1 and 2.
    0.001
    """

    def __init__(self, milestones, factor=0.1):
        super().__init__()
        milestones = tuple(milestones)
        if any(not isinstance(m, int) or m < 0 for m in milestones) or list(
            milestones
        ) != sorted(milestones):
            raise ValueError(
                "Received an invalid value for `milestones`, expected "
                f"increasing non-negative integers. Received: milestones={milestones}"
            )
        if not 0 < factor <= 1:
            raise ValueError(
                "Received an invalid value for `factor`, expected a float in "
                f"(0, 1]. Received: factor={factor}"
            )
        self.milestones = milestones
        self.factor = factor
        self._base_rates = None

    def _scale(self, epoch=0):
        """Product of the factors of the milestones passed so far."""
        if hasattr(self.model, "epochs_seen"):
            epoch = int(self.model.epochs_seen.numpy())
        return self.factor ** sum(m <= epoch for m in self.milestones)

    def on_train_begin(self, logs=None):
        if self._base_rates is None:
            scale = self._scale()
            self._base_rates = [
                float(optimizer.learning_rate.numpy()) / scale
                for optimizer in self._optimizers()
            ]

    def on_epoch_begin(self, epoch, logs=None):
        scale = self._scale(epoch)
        for optimizer, base in zip(self._optimizers(), self._base_rates):
            optimizer.learning_rate = base * scale

    def _optimizers(self):
        switcher_optimizer = getattr(self.model, "switcher_optimizer", None)
        return [self.model.optimizer] + ([switcher_optimizer] if switcher_optimizer else [])


class SparsityLogger(keras.callbacks.Callback):
    """Logs the sparsity of every switched layer, and its mask, each epoch.

    Adds `sparsity_<layer name>` (counted from the layer's gate) and
    `sparsity_counted` (over all switched layers) to the epoch logs, so
    they appear in the `History` and in callbacks that follow. With a
    `log_dir`, it also writes them to TensorBoard as scalars, and each
    layer's mask as an image (white: connection on; rows are inputs).

    Args:
        log_dir: `None`, or a TensorBoard log folder (a `train` sub-folder
            is written, as `keras.callbacks.TensorBoard` does).
        images: Whether to write the masks as images.

    Example:

    >>> model = ks.applications.LeNet300100(
    ...     input_shape=(8, 8, 1), switcher="magnitude", target_sparsity=0.9)
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    >>> data = ks.datasets.load("digits", "train[:256]", batch_size=64)
    >>> history = model.fit(data, epochs=2, callbacks=[SparsityLogger("logs")], verbose=0)
    >>> [round(sparsity, 2) for sparsity in history.history["sparsity_fc1"]]
    [0.89, 0.89]
    >>> os.listdir("logs")
    ['train']
    """

    def __init__(self, log_dir=None, images=True):
        super().__init__()
        self.log_dir = log_dir
        self.images = images
        self._writer = None

    def on_train_begin(self, logs=None):
        if self.log_dir is not None and self._writer is None:
            self._summary = _tensorflow_summary()
            self._writer = self._summary.create_file_writer(os.path.join(self.log_dir, "train"))

    def on_epoch_end(self, epoch, logs=None):
        counted = reporting.report(self.model)
        values = {f"sparsity_{row['name']}": row["sparsity"] for row in counted["layers"]}
        values["sparsity_counted"] = counted["total"]["sparsity"]
        if logs is not None:
            logs.update(values)
        if self._writer is None:
            return
        with self._writer.as_default(step=epoch):
            for name, value in values.items():
                self._summary.scalar(name, value)
            if self.images:
                for layer in self.model.switched_layers:
                    mask = ops.convert_to_numpy(layer.mask()).astype(np.float32)
                    self._summary.image(f"mask_{layer.name}", mask[None, :, :, None])
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _tensorflow_summary():
    """TensorFlow's `tf.summary`, which writes TensorBoard files."""
    feature = "SparsityLogger(log_dir=...), which writes TensorBoard files with `tf.summary`,"
    hint = "Or pass log_dir=None to log to the History only."
    tf = require("tensorflow", feature, hint)
    require("tensorboard", feature, hint)  # `tf.summary.scalar` and `image`.
    return tf.summary


class NonFiniteGuard(keras.callbacks.Callback):
    """Stops training at a NaN or Inf, naming the variable it is in.

    Every `frequency` steps, and at the end of each epoch before any later
    callback (such as `ModelCheckpoint`) runs, it checks the loss and the
    model's state itself: every floating-point variable of the model
    (kernels, biases, switcher weights, cached gates) and, at the end of
    each epoch, every switched layer's gate. The state must be checked, not
    only the loss: on some CPUs oneDNN's fused MatMul + BiasAdd + ReLU
    turns NaN into 0 in compiled functions, so a NaN kernel can leave the
    loss finite. On a non-finite value it raises a `FloatingPointError`
    that names the layer and variable, so no checkpoint of the broken state
    is written. At the end of each epoch it also warns about dead layers,
    whose gates are all zero. `SwitchedModel.fit` adds it by default.

    Args:
        frequency: Positive integer, steps between checks. The state check
            is one compiled reduction over the variables; see
            `benchmarks/guard_cost.py` for its cost.

    Example:

    >>> model = ks.applications.LeNet300100(input_shape=(8, 8, 1), switcher="magnitude")
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    >>> data = ks.datasets.load("digits", "train[:256]", batch_size=64)
    >>> history = model.fit(data, epochs=1, callbacks=[NonFiniteGuard(frequency=1)], verbose=0)
    >>> _ = model.get_layer("fc2").kernel.assign(np.full((300, 100), np.nan))
    >>> history = model.fit(data, epochs=1, callbacks=[NonFiniteGuard(frequency=1)], verbose=0)
    Traceback (most recent call last):
    ...
    FloatingPointError: Training stopped at step 0. ...
    """

    def __init__(self, frequency=20):
        super().__init__()
        if not isinstance(frequency, int) or isinstance(frequency, bool) or frequency <= 0:
            raise ValueError(
                "Received an invalid value for `frequency`, expected a positive "
                f"integer. Received: frequency={frequency!r}"
            )
        self.frequency = frequency
        self._warned = set()
        self._variables = None
        self._finite_flags = None

    def on_train_begin(self, logs=None):
        self._variables = [
            v for v in self.model.variables if keras.backend.is_float_dtype(v.dtype)
        ]
        self._finite_flags = _compiled_finite_flags(self._variables)

    def on_train_batch_end(self, batch, logs=None):
        if batch % self.frequency == 0:
            self.check(logs, f"step {batch}")

    def on_epoch_end(self, epoch, logs=None):
        when = f"the end of epoch {epoch + 1}"
        self.check(logs, when)
        for layer in self.model.switched_layers:
            gate = ops.convert_to_numpy(layer.gate())
            if not np.isfinite(gate).all():
                self._stop(
                    when,
                    f"The switcher of layer '{layer.name}' returns "
                    f"{int((~np.isfinite(gate)).sum())} non-finite gates.",
                )
            if not (gate > 0).any() and layer.name not in self._warned:
                self._warned.add(layer.name)
                warnings.warn(
                    f"Layer '{layer.name}' is dead: every gate of its "
                    f"{gate.shape[0]}x{gate.shape[1]} kernel is zero, so it "
                    "outputs its bias alone.",
                    stacklevel=2,
                )

    def check(self, logs=None, when="this step"):
        """Raises a `FloatingPointError` if the loss or a variable is not finite.

        Args:
            logs: Logs of the step, with the `loss`.
            when: Words for the message, such as `"step 20"`.
        """
        if self._variables is None:
            self.on_train_begin()
        # On JAX, reading `self.model` brings the training state back into
        # the variables that the check reads.
        self.model  # noqa: B018
        flags = ops.convert_to_numpy(self._finite_flags())
        if not flags.all():
            broken = [v for v, finite in zip(self._variables, flags) if not finite]
            self._stop(when, _describe(broken))
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(float(loss)):
            self._stop(
                when,
                f"The loss is {float(loss)} while every variable is finite: the "
                "non-finite values come from the data or the loss.",
            )

    def _stop(self, when, reason):
        self.model.stop_training = True
        raise FloatingPointError(f"Training stopped at {when}. {reason}")


def _finite_flags(values):
    """One boolean per tensor: whether all its values are finite."""
    return ops.stack([ops.all(ops.isfinite(value)) for value in values])


def _compiled_finite_flags(variables):
    """A function of no arguments: `_finite_flags` of the variables, compiled.

    On TensorFlow the compiled function captures the variables, which
    halves the cost of a check against passing them as arguments. On
    PyTorch it runs eagerly (as Keras's PyTorch trainer runs a step unless
    `jit_compile=True`): `torch.compile` would cost seconds at the first
    check, and the flags record no autograd graph.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        @tf.function
        def check():
            return _finite_flags([variable.value for variable in variables])

        return check
    if backend == "jax":
        import jax

        compiled = jax.jit(_finite_flags)
        return lambda: compiled([variable.value for variable in variables])
    return lambda: _finite_flags([variable.value for variable in variables])


def _describe(variables):
    """Says which layers hold the non-finite `variables` and what to do.

    Task variables are listed first: a NaN there spreads to the switchers
    through the next gradient, rarely the other way round.
    """
    def is_switcher(variable):
        return "switcher" in variable.path

    variables = sorted(variables, key=is_switcher)
    parts = []
    for variable in variables[:5]:
        count = int((~np.isfinite(ops.convert_to_numpy(variable))).sum())
        layer, _, name = variable.path.partition("/")
        if name:
            parts.append(f"Layer '{layer}' has {count} non-finite values in '{name}'")
        else:  # A variable of the model itself, such as a cached gate.
            parts.append(f"The model's variable '{layer}' has {count} non-finite values")
    if len(variables) > 5:
        parts.append(f"and {len(variables) - 5} more variables")
    advice = (
        "lower the switcher learning rate"
        if all(is_switcher(v) for v in variables)
        else "lower the learning rate, or look for NaN or Inf in the data"
    )
    return "; ".join(parts) + f". To avoid it: {advice}."

"""`SwitchedModel`: a Keras model that trains task and switcher weights in turn."""

import contextlib
import functools
import math
import os

import keras
import tensorflow as tf
from keras import ops

from keras_switcher import schedule as schedule_lib
from keras_switcher import reporting, saving
from keras_switcher.callbacks import NonFiniteGuard
from keras_switcher.gate_cache import GateCache
from keras_switcher.layers import gates_disabled, given_gates
from keras_switcher.switchers import Switcher


class _EpochCounter(keras.callbacks.Callback):
    """Counts finished epochs on the model, so that the schedule survives saving."""

    def on_epoch_end(self, epoch, logs=None):
        self.model.epochs_seen.assign_add(1)


@keras.saving.register_keras_serializable(package="keras_switcher")
class SwitchedModel(keras.Model):
    """A model whose switched layers are trained by alternating two phases.

    Build it exactly like a functional `keras.Model(inputs, outputs)`. Its
    `fit` alternates a *task phase*, in which every trainable variable that
    does not belong to a switcher is updated by `optimizer`, and a *switcher
    phase*, in which only the switchers' variables are updated by
    `switcher_optimizer`. Both phases minimise the compiled loss; in the task
    phase the gradient also flows through the switchers into the kernels.

    The position in the schedule (epochs and steps seen) is stored in the
    model's variables, so a saved model resumes where it stopped. Training
    logs show `sparsity` (fraction of switched connections that are off, over
    all switched layers) and `phase` (`-1` warm-up, `0` task, `1` switcher).
    `fit` adds a `keras_switcher.NonFiniteGuard`, which stops training at a
    NaN or Inf loss with an error naming the layer it came from.

    Args:
        alternate: `"epoch"` (the authors' schedule: task phase in even
            epochs, switcher phase in odd ones), a positive integer `N`
            for `N` task steps followed by `N` switcher steps, or a pair
            `(task_steps, switcher_steps)` (an extension). With
            `steps_per_execution > 1` the phase is chosen once per execution.
        warmup_epochs: Epochs at the start that train the task weights with
            the gates switched off, as plain dense layers.
        freeze_switchers_after: `None`, or the number of epochs after which
            only the task phase runs (an extension): the last epochs
            fine-tune the task weights under fixed switchers.
        gate_cache_steps: `None` (the authors' way) computes every gate in
            every training step, and the task phase's gradient also flows
            through the switchers into the kernels. A positive integer `N`
            caches the gates (an extension, see `keras_switcher.gate_cache`):
            the task phase recomputes them every `N` steps and the switcher
            phase applies one switcher update per `N` accumulated steps, so
            training costs little more than the plain dense model.
        *args, **kwargs: Arguments of `keras.Model` (`inputs`, `outputs`,
            `name`, ...).

    Example:

    >>> inputs = keras.Input((8,))
    >>> outputs = SwitchedDense(2, switcher=UNetSwitcher(depth=1))(inputs)
    >>> model = SwitchedModel(inputs, outputs, alternate=10)
    >>> model.compile(optimizer="sgd", switcher_optimizer="sgd", loss="mse")
    """

    def __init__(
        self,
        *args,
        alternate="epoch",
        warmup_epochs=0,
        freeze_switchers_after=None,
        gate_cache_steps=None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.schedule = schedule_lib.AlternationSchedule(
            alternate, warmup_epochs, freeze_switchers_after
        )
        if gate_cache_steps is not None and (
            not isinstance(gate_cache_steps, int)
            or isinstance(gate_cache_steps, bool)
            or gate_cache_steps <= 0
        ):
            raise ValueError(
                "Received an invalid value for `gate_cache_steps`, expected "
                "None or a positive integer. "
                f"Received: gate_cache_steps={gate_cache_steps!r}"
            )
        self.gate_cache_steps = gate_cache_steps
        counter = functools.partial(
            keras.Variable,
            initializer=0,
            dtype="int64",
            trainable=False,
            autocast=False,
            aggregation="only_first_replica",
        )
        self.epochs_seen = counter(name="epochs_seen")
        self.steps_seen = counter(name="steps_seen")
        self.switcher_optimizer = None
        self._gate_cache = None
        if gate_cache_steps is not None:
            self._gate_cache = GateCache(self.switched_layers, gate_cache_steps)
            # Tracked, so that the cache is saved and restored with the model.
            self.gate_cache_variables = self._gate_cache.variables()

    @property
    def switched_layers(self):
        """The `SwitchedDense` layers of the model, nested ones included."""
        return reporting.switched_layers(self)

    @property
    def switcher_variables(self):
        """Trainable variables of every switcher in the model."""
        variables = []
        for layer in self._flatten_layers(include_self=False):
            if isinstance(layer, Switcher):
                variables.extend(layer.trainable_variables)
        return variables

    @property
    def task_variables(self):
        """Trainable variables that do not belong to a switcher."""
        switcher_ids = {id(v) for v in self.switcher_variables}
        return [v for v in self.trainable_variables if id(v) not in switcher_ids]

    def mark_gates_stale(self):
        """With `gate_cache_steps`, recompute the cached gates before the next step.

        Call it after changing what the switchers compute outside training,
        such as their `sparsity` (as `SparsityRamp` does).
        """
        if self._gate_cache is not None:
            self._gate_cache.invalidate()

    def current_phase(self):
        """Returns the phase of the next training step.

        Returns:
            One of `"warmup"`, `"task"` and `"switcher"`.
        """
        return self.schedule.phase(
            int(ops.convert_to_numpy(self.epochs_seen)),
            int(ops.convert_to_numpy(self.steps_seen)),
        )

    def compile(self, optimizer="rmsprop", switcher_optimizer=None, **kwargs):
        """Configures the model for training.

        Args:
            optimizer: Optimizer of the task weights (name or instance).
            switcher_optimizer: Optimizer of the switchers' weights (name or
                instance). Required, and distinct from `optimizer`.
            **kwargs: Other arguments of `keras.Model.compile` (`loss`,
                `metrics`, ...).
        """
        if switcher_optimizer is None:
            raise ValueError(
                "`SwitchedModel.compile()` needs a `switcher_optimizer` to "
                "train the switchers, e.g. "
                "`switcher_optimizer=keras.optimizers.SGD(0.1)`. "
                "Received: switcher_optimizer=None"
            )
        if (
            isinstance(optimizer, keras.optimizers.Optimizer)
            and switcher_optimizer is optimizer
        ):
            raise ValueError(
                "`switcher_optimizer` must be a different optimizer instance "
                "from `optimizer`: each keeps state for its own variables. "
                f"Received the same instance for both: {optimizer}"
            )
        try:
            switcher_optimizer = keras.optimizers.get(switcher_optimizer)
        except ValueError as error:
            raise ValueError(
                "Received an invalid value for `switcher_optimizer`, expected "
                "an optimizer name such as 'adam' or a `keras.optimizers."
                f"Optimizer` instance ({error}). "
                f"Received: switcher_optimizer={switcher_optimizer!r}"
            ) from None
        super().compile(optimizer=optimizer, **kwargs)
        self.switcher_optimizer = switcher_optimizer
        if self.built:
            self._build_optimizers()

    def get_compile_config(self):
        if self.compiled and hasattr(self, "_compile_config"):
            config = self._compile_config.serialize()
            config["switcher_optimizer"] = keras.saving.serialize_keras_object(
                self.switcher_optimizer
            )
            return config
        return {}

    def compile_from_config(self, config):
        self.compile(**keras.saving.deserialize_keras_object(config))

    def _build_optimizers(self):
        with self.distribute_strategy.scope():
            if not self.optimizer.built:
                self.optimizer.build(self.task_variables)
            if not self.switcher_optimizer.built:
                self.switcher_optimizer.build(self.switcher_variables)

    def _observed_sparsity(self):
        layers = self.switched_layers
        if not layers:
            return ops.zeros(())
        sizes = [math.prod(layer.kernel.shape) for layer in layers]
        off = sum(
            layer.observed_sparsity * size for layer, size in zip(layers, sizes)
        )
        return off / sum(sizes)

    def _phase_step(self, phase, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        cache = self._gate_cache if phase != schedule_lib.WARMUP else None
        gates = cache.mapping() if cache else {}
        # With a cache, the switcher phase only accumulates gate gradients.
        accumulate = cache is not None and phase == schedule_lib.SWITCHER
        if accumulate:
            optimizer, targets = None, list(gates.values())
        elif phase == schedule_lib.SWITCHER:
            optimizer, targets = self.switcher_optimizer, self.switcher_variables
        else:
            optimizer, targets = self.optimizer, self.task_variables
        with tf.GradientTape() as tape:
            if accumulate:
                tape.watch(targets)
            with given_gates(gates):
                y_pred = self(x, training=True)
            loss = self._compute_loss(
                x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True
            )
            self._loss_tracker.update_state(
                keras.src.losses.loss.unscale_loss_for_distribution(loss),
                sample_weight=tf.shape(tf.nest.flatten(x)[0])[0],
            )
            if not accumulate:
                loss = optimizer.scale_loss(loss)
        gradients = tape.gradient(loss, targets)
        if accumulate:
            cache.accumulate(gradients)
        else:
            optimizer.apply(gradients, targets)
        if cache and phase == schedule_lib.TASK:
            cache.count_task_step()
        logs = self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
        if phase == schedule_lib.WARMUP:
            logs["sparsity"] = ops.zeros(())
        else:
            self.steps_seen.assign_add(1)
            logs["sparsity"] = self._observed_sparsity()
        logs["phase"] = ops.convert_to_tensor(
            float(schedule_lib.PHASE_CODES[phase])
        )
        return logs

    def train_step(self, data):
        """Runs one training step in the current phase of the schedule.

        `fit` and `train_on_batch` do not call this method: they run one
        compiled function per phase, chosen before each step, and refresh
        and apply the gate cache around it. This eager entry point does
        neither, so it serves models without `gate_cache_steps`.
        """
        phase = self.current_phase()
        with _phase_scope(phase):
            return self._phase_step(phase, data)

    def make_train_function(self, force=False):
        if self.train_function is not None and not force:
            return self.train_function
        if self.switcher_optimizer is None:
            raise ValueError(
                "This `SwitchedModel` has no `switcher_optimizer`: call "
                "`compile(optimizer=..., switcher_optimizer=..., loss=...)` "
                "before `fit()`."
            )
        if not self.switched_layers:
            raise ValueError(
                f"Model '{self.name}' has no `SwitchedDense` layer for a "
                "`SwitchedModel` to train: use `keras.Model` for a model "
                "without one, or `keras_switcher.switch(model)` to switch its "
                "Dense layers."
            )
        if self._gate_cache is not None and self.distribute_strategy.num_replicas_in_sync > 1:
            raise ValueError(
                "`gate_cache_steps` does not support training on several "
                "replicas yet: its switcher updates differ from a single "
                "device's. Build the model with gate_cache_steps=None under "
                f"{self.distribute_strategy.__class__.__name__}."
            )
        self._build_optimizers()
        phase_functions = {
            phase: self._make_function(functools.partial(self._phase_step, phase))
            for phase in schedule_lib.PHASE_CODES
        }

        cache = self._gate_cache
        if cache is not None:
            refresh = tf.function(cache.refresh)
            apply = tf.function(
                functools.partial(
                    cache.apply,
                    self.switcher_optimizer,
                    self.switcher_variables,
                    tf.GradientTape,
                )
            )

        def train_function(iterator):
            phase = self.current_phase()
            use_cache = cache is not None and phase != schedule_lib.WARMUP
            if use_cache:
                pending, age = cache.counts()
                if phase == schedule_lib.TASK and pending:
                    apply()  # Also refreshes the gates.
                    pending, age = 0, 1
                if cache.refresh_due(age, task_phase=phase == schedule_lib.TASK):
                    refresh()
            with _phase_scope(phase):
                logs = phase_functions[phase](iterator)
            # A switcher step adds one accumulated step.
            if use_cache and phase == schedule_lib.SWITCHER and pending + 1 >= cache.steps:
                apply()
            return logs

        self.train_function = train_function
        return train_function

    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        verbose="auto",
        callbacks=None,
        **kwargs,
    ):
        callbacks = list(callbacks or [])
        if not any(isinstance(c, NonFiniteGuard) for c in callbacks):
            callbacks.insert(0, NonFiniteGuard())
        callbacks.insert(0, _EpochCounter())
        return super().fit(
            x,
            y,
            batch_size=batch_size,
            epochs=epochs,
            verbose=verbose,
            callbacks=callbacks,
            **kwargs,
        )

    def save(self, filepath, overwrite=True, **kwargs):
        """Saves the model like `keras.Model.save`, atomically for files.

        The file is written under a unique temporary name beside `filepath`
        and renamed into place once complete, so an interrupted or failed
        save (`ModelCheckpoint`'s included) leaves a file already at
        `filepath` intact.
        """
        return _save_atomically(super().save, filepath, overwrite, **kwargs)

    def save_weights(self, filepath, overwrite=True, **kwargs):
        """Saves the weights like `keras.Model.save_weights`, atomically."""
        return _save_atomically(super().save_weights, filepath, overwrite, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(self.schedule.get_config())
        config["gate_cache_steps"] = self.gate_cache_steps
        return config


def _save_atomically(save, filepath, overwrite, **kwargs):
    """Calls a Keras save method on a temporary file renamed to `filepath`.

    File-like destinations, and `overwrite=False` on an existing file (where
    Keras asks the user), go to Keras unchanged.
    """
    if not isinstance(filepath, (str, os.PathLike)) or (
        not overwrite and os.path.exists(filepath)
    ):
        return save(filepath, overwrite=overwrite, **kwargs)
    with saving.atomic_path(filepath) as partial:
        save(partial, overwrite=True, **kwargs)


def _phase_scope(phase):
    """Gates are off while the dense warm-up step runs or is traced."""
    if phase == schedule_lib.WARMUP:
        return gates_disabled()
    return contextlib.nullcontext()

"""`SwitchedModel`: a Keras model that trains task and switcher weights in turn."""

import contextlib
import functools
import inspect
import os

import keras
from keras import ops

from keras_switcher.sparsity import plan as plan_lib
from keras_switcher import schedule as schedule_lib
from keras_switcher import keras_internals, reporting, saving
from keras_switcher.callbacks import NonFiniteGuard
from keras_switcher.gate_cache import GateCache, check_steps
from keras_switcher.gating import gate_source
from keras_switcher.optimizers import PairedOptimizer
from keras_switcher.switchers import Switcher
from keras_switcher.trainers import backend_trainer


#: Task steps between gate refreshes for switchers without weights.
RULE_REFRESH_STEPS = 20
#: Learning rate of the switcher optimiser `compile` picks when none is given.
DEFAULT_SWITCHER_LEARNING_RATE = 1e-3


class _TrainingState(keras.callbacks.Callback):
    """What `fit` keeps on the model: the finished epochs (saved, so that the
    schedule resumes), the steps of an epoch (`AlternationSchedule.fit_to_epoch`)
    and whether the serving gates still hold."""

    def on_train_begin(self, logs=None):
        self.model.schedule.set_steps_per_epoch(self.params.get("steps"))

    def on_epoch_begin(self, epoch, logs=None):
        # Validation at the epoch's end follows the epoch's steps.
        self.model.mark_serving_gates_stale()

    def on_epoch_end(self, epoch, logs=None):
        self.model.epochs_seen.assign_add(1)

    def on_train_end(self, logs=None):
        self.model.mark_serving_gates_stale()


class _ServingGateRefresher(keras.callbacks.Callback):
    """Recomputes stale serving gates as validation starts, after the other
    callbacks' `on_test_begin` (`SparsityRamp` ends its epoch there)."""

    def on_test_begin(self, logs=None):
        self.model._refresh_serving_gates()


@keras.saving.register_keras_serializable(package="keras_switcher")
class SwitchedModel(backend_trainer(), keras.Model):
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

    As a drop-in in a user's training code:

    - `predict`, `evaluate` (and validation in `fit`) multiply by each
      layer's `kernel * gate` computed once per change of the weights
      (`GatedKernel.enable_serving_gate`), not by the switcher's output at
      every batch;
    - `model.optimizer` is a `keras_switcher.PairedOptimizer` of the two
      optimisers, whose `learning_rate` and `iterations` are the task
      optimiser's: callbacks that set `optimizer.learning_rate`
      (`ReduceLROnPlateau`, `LearningRateScheduler`) set the switcher
      optimiser's in proportion;
    - `get_weights` and `set_weights` leave out the step counters, so
      `EarlyStopping(restore_best_weights=True)` keeps the schedule's
      position;
    - `keras.models.clone_model` keeps the arguments below;
    - `load_weights` also takes the weights file of the same model with
      plain `Dense` layers (`keras_switcher.conversion.load_plain_weights`);
    - `quantize` is refused: strip the model first (`keras_switcher.strip`).

    Args:
        alternate: `"epoch"` (the authors' schedule: task phase in even
            epochs, switcher phase in odd ones), a positive integer `N`
            for `N` task steps followed by `N` switcher steps, or a pair
            `(task_steps, switcher_steps)` (an extension). A cycle longer
            than an epoch can be shrunk to one epoch, keeping its ratio
            (`AlternationSchedule`), so that the switchers
            train on small datasets too, with `fit_alternation_to_epoch`.
            With `steps_per_execution > 1`
            the phase is chosen once per execution.
        fit_alternation_to_epoch: If `True` (the `recommended` setting's),
            a cycle of `alternate` steps longer than an epoch is shrunk to
            one epoch, keeping its ratio, so that every epoch has a
            switcher phase whatever the dataset's size.
        warmup_epochs: Epochs at the start that train the task weights with
            the gates switched off, as plain dense layers.
        freeze_switchers_after: `None`, or the number of epochs after which
            only the task phase runs (an extension): the last epochs
            fine-tune the task weights under fixed switchers.
        gate_refresh_steps: `None` (the authors' way) computes every gate in
            every training step, and the task phase's gradient also flows
            through the switchers into the kernels. A positive integer `N`
            caches the gates (an extension, see `keras_switcher.gate_cache`):
            the task phase recomputes them every `N` task steps and no
            gradient flows through the switchers into the kernels, so
            training costs little more than the plain dense model. When no
            switcher has weights (magnitude, movement), `None` means
            `RULE_REFRESH_STEPS` (20), and there is no switcher phase.
        switcher_accumulation_steps: With cached gates, the number of
            switcher-phase steps whose gate gradients make one switcher
            update (exactly the update of a batch that many times larger).
            `None` means 1: one update per switcher step.
        gate_cache_steps: Shorthand for `gate_refresh_steps` and
            `switcher_accumulation_steps` both set to this value.
        concurrent_switcher_updates: `None`, or a positive integer `K` (an
            extension, with cached gates): every task step also accumulates
            the loss gradient with respect to the gates, which its backward
            pass gives almost for free, and every `K` task steps one
            switcher update is made from it. The switchers then learn
            without taking steps from the task weights;
            `alternate=(task_steps, 0)` drops the switcher phase.
        sparsity_plan: `None`, or the `keras_switcher.SparsityPlan` (or its
            overall target, a float) that the switchers' `target_sparsity`
            values were made from, as the builders and `switch()` do; the
            model checks that they agree, and `SparsityRamp` follows it.
            `None` leaves each switcher's own target as it is.
        *args: Positional arguments of `keras.Model` (`inputs`,
            `outputs`).
        **kwargs: Keyword arguments of `keras.Model` (`inputs`,
            `outputs`, `name`, ...).

    Training runs on the TensorFlow, JAX and PyTorch backends (chosen the
    Keras way, with `KERAS_BACKEND` or `keras.json`), with the same meaning; on JAX,
    `keras.distribution.DataParallel` trains on several devices.

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
        gate_refresh_steps=None,
        switcher_accumulation_steps=None,
        gate_cache_steps=None,
        concurrent_switcher_updates=None,
        sparsity_plan=None,
        fit_alternation_to_epoch=False,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        source = _model_being_cloned()
        if source is not None and reporting.switched_layers(self):
            # `keras.models.clone_model` passes only the inputs, outputs
            # and name; the clone takes the rest from the model it copies.
            config = source.get_config()
            alternate = config["alternate"]
            warmup_epochs = config["warmup_epochs"]
            freeze_switchers_after = config["freeze_switchers_after"]
            gate_refresh_steps = config["gate_refresh_steps"]
            switcher_accumulation_steps = config["switcher_accumulation_steps"]
            concurrent_switcher_updates = config["concurrent_switcher_updates"]
            sparsity_plan = config["sparsity_plan"]
            fit_alternation_to_epoch = config["fit_alternation_to_epoch"]
        self.sparsity_plan = plan_lib.get(sparsity_plan)
        if self.sparsity_plan is not None:
            self._check_plan()
        learns = bool(self.switcher_variables)
        self.schedule = schedule_lib.AlternationSchedule(
            alternate,
            warmup_epochs,
            freeze_switchers_after,
            learns=learns,
            fit_to_epoch=fit_alternation_to_epoch,
        )
        for name, value in (
            ("gate_refresh_steps", gate_refresh_steps),
            ("switcher_accumulation_steps", switcher_accumulation_steps),
            ("gate_cache_steps", gate_cache_steps),
            ("concurrent_switcher_updates", concurrent_switcher_updates),
        ):
            check_steps(name, value)
        if gate_cache_steps is not None:
            gate_refresh_steps = gate_refresh_steps or gate_cache_steps
            switcher_accumulation_steps = switcher_accumulation_steps or gate_cache_steps
        if not learns and gate_refresh_steps is None:
            # A rule without weights gains nothing from a fresh gate every
            # step, and movement learns from the cache's gate gradient.
            gate_refresh_steps = RULE_REFRESH_STEPS
        if switcher_accumulation_steps is not None and gate_refresh_steps is None:
            raise ValueError(
                "`switcher_accumulation_steps` accumulates gradients on cached "
                "gates, so it needs `gate_refresh_steps` as well. Received: "
                f"switcher_accumulation_steps={switcher_accumulation_steps}, "
                "gate_refresh_steps=None"
            )
        self._check_switcher_learning(gate_refresh_steps, concurrent_switcher_updates)
        if self._learns_allocation:
            self._check_learned_allocation(gate_refresh_steps)
        self.concurrent_switcher_updates = concurrent_switcher_updates
        self.gate_refresh_steps = gate_refresh_steps
        self.switcher_accumulation_steps = (
            None if gate_refresh_steps is None else switcher_accumulation_steps or 1
        )
        counter = functools.partial(
            keras.Variable,
            initializer=0,
            dtype="int32",
            trainable=False,
            autocast=False,
            aggregation="only_first_replica",
        )
        self.epochs_seen = counter(name="epochs_seen")
        self.steps_seen = counter(name="steps_seen")
        self._gate_cache = None
        if gate_refresh_steps is not None:
            if (
                keras.backend.backend() == "tensorflow"
                and self.distribute_strategy.num_replicas_in_sync > 1
            ):
                instead = (
                    "Build the model without them"
                    if learns
                    else "Switchers without weights ('magnitude', 'movement') "
                    "always cache their gates: use a `UNetSwitcher` without a "
                    "gate cache"
                )
                raise ValueError(
                    "Cached gates (`gate_refresh_steps`, `gate_cache_steps`) do "
                    "not support training on several TensorFlow replicas: "
                    "their switcher updates would differ from a single "
                    f"device's. {instead} under "
                    f"{self.distribute_strategy.__class__.__name__}, or use "
                    "the JAX backend with `keras.distribution.DataParallel`."
                )
            self._gate_cache = GateCache(
                self.switched_layers,
                gate_refresh_steps,
                self.switcher_accumulation_steps,
                concurrent_switcher_updates,
                shared_threshold=self._learns_allocation,
                learns=learns,
            )
            # Tracked, so that the counters are saved with the model.
            self.gate_cache_counters = self._gate_cache.counters
        for layer in self.switched_layers:
            layer.enable_serving_gate()

    def _check_switcher_learning(self, gate_refresh_steps, concurrent_switcher_updates):
        """Raises unless the options give the switchers a way to learn."""
        observers = [layer.name for layer in self.switched_layers if layer.observes_task_gradient]
        if observers and gate_refresh_steps is None:
            raise ValueError(
                f"The switchers of layers {observers} learn from the gradient "
                "on cached gates (movement pruning), and other switchers of "
                "this model have weights, so the gates are not cached by "
                "default. Pass `gate_refresh_steps` (or `gate_cache_steps`)."
            )
        if not self.schedule.learns:
            if concurrent_switcher_updates is not None:
                raise ValueError(
                    "`concurrent_switcher_updates` trains the switchers' "
                    "weights, and the switchers of this model have none. "
                    "Received: concurrent_switcher_updates="
                    f"{concurrent_switcher_updates}"
                )
            return
        if concurrent_switcher_updates is not None and gate_refresh_steps is None:
            raise ValueError(
                "`concurrent_switcher_updates` learns from the gradient on "
                "cached gates, so it needs `gate_refresh_steps` (or "
                "`gate_cache_steps`) as well. Received: concurrent_switcher_updates="
                f"{concurrent_switcher_updates}, gate_refresh_steps=None"
            )
        if not self.schedule.has_switcher_phase and concurrent_switcher_updates is None:
            raise ValueError(
                f"Received alternate={self.schedule.alternate}: without a switcher phase the "
                "switchers only learn with `concurrent_switcher_updates`. Pass "
                "it, or give the switcher phase some steps."
            )
        readers = [layer.name for layer in self.switched_layers if layer.reads_gate_gradient]
        if readers and gate_refresh_steps is None:
            raise ValueError(
                f"The switchers of layers {readers} read the gate gradient "
                "(`gradient_input=True`), which only cached gates measure. "
                "Pass `gate_refresh_steps` (or `gate_cache_steps`), or build "
                "the switchers with gradient_input=False."
            )

    @property
    def _learns_allocation(self):
        """Whether the switchers share the budget (`"learned"` allocation)."""
        return self.sparsity_plan is not None and self.sparsity_plan.allocation == "learned"

    def _check_learned_allocation(self, gate_refresh_steps):
        """Raises unless the `"learned"` allocation can re-split the budget."""
        if gate_refresh_steps is None:
            raise ValueError(
                "The 'learned' allocation re-splits the sparsity among layers "
                "whenever the gates are refreshed, so it needs cached gates. "
                "Pass `gate_refresh_steps` (or `gate_cache_steps`), or another "
                f"allocation. Received: sparsity_plan={self.sparsity_plan}, "
                "gate_refresh_steps=None"
            )
        for layer in self.switched_layers:
            if not hasattr(layer.switcher, "shared_scores"):
                raise ValueError(
                    f"The 'learned' allocation compares the scores of every "
                    f"layer, but layer '{layer.name}' has a "
                    f"{layer.switcher.__class__.__name__}, which has no "
                    "`shared_scores` (scores in units comparable between "
                    "layers). Use `UNetSwitcher` (or a subclass), or another "
                    "allocation."
                )

    def _check_plan(self):
        """Raises unless every switcher's target is its share of the plan."""
        layers = self.switched_layers
        expected = self.sparsity_plan.layer_targets(plan_lib.kernel_shapes(layers))
        for layer, target in zip(layers, expected):
            found = getattr(layer.switcher, "target_sparsity", None)
            if found is None or abs(found - target) > 1e-6:
                raise ValueError(
                    f"Layer '{layer.name}' has a switcher with "
                    f"target_sparsity={found!r}, but {self.sparsity_plan} gives "
                    f"it {target:.6f}. Build the model with the plan (a "
                    "builder's `target_sparsity=` or `switch(..., "
                    "target_sparsity=...)`), or pass sparsity_plan=None to "
                    "keep each switcher's own target."
                )

    @property
    def switched_layers(self):
        """The `SwitchedDense` layers of the model, nested ones included."""
        return reporting.switched_layers(self)

    @property
    def switcher_optimizer(self):
        """The optimiser of the switchers' weights, `model.optimizer`'s
        `switcher_optimizer` (`None` before `compile`, and for switchers
        without weights)."""
        optimizer = getattr(self, "optimizer", None)
        return optimizer.switcher_optimizer if isinstance(optimizer, PairedOptimizer) else None

    @property
    def switcher_variables(self):
        """Trainable variables of every switcher in the model."""
        variables = []
        for layer in keras_internals.flatten_layers(self):
            if isinstance(layer, Switcher):
                variables.extend(layer.trainable_variables)
        return variables

    @property
    def task_variables(self):
        """Trainable variables that do not belong to a switcher."""
        switcher_ids = {id(v) for v in self.switcher_variables}
        return [v for v in self.trainable_variables if id(v) not in switcher_ids]

    def mark_gates_stale(self):
        """With cached gates, recompute them before the next training step.

        Call it after changing what the switchers compute outside training,
        such as their `sparsity` (as `SparsityRamp` does).
        """
        if self._gate_cache is not None:
            self._gate_cache.invalidate()
        self.mark_serving_gates_stale()

    def mark_serving_gates_stale(self):
        """Makes the next `predict` or `evaluate` recompute the serving gates.

        Training, `set_weights` and `load_weights` call it; call it after
        assigning to a kernel (or a switcher's variables) by hand.
        """
        for layer in self.switched_layers:
            layer.serving_gate_fresh = False

    @contextlib.contextmanager
    def _serving_gates(self):
        """Within this scope the switched layers use `kernel * gate`
        computed once per change of the weights (`enable_serving_gate`)."""
        self._refresh_serving_gates()
        with gate_source(self.switched_layers, "serving"):
            yield

    def _refresh_serving_gates(self):
        for layer in self.switched_layers:
            if not layer.serving_gate_fresh:
                layer.refresh_serving_kernel()

    def predict(self, *args, **kwargs):
        with self._serving_gates():
            return super().predict(*args, **kwargs)

    def predict_on_batch(self, *args, **kwargs):
        with self._serving_gates():
            return super().predict_on_batch(*args, **kwargs)

    def evaluate(self, *args, **kwargs):
        with self._serving_gates():
            return super().evaluate(*args, **kwargs)

    def test_on_batch(self, *args, **kwargs):
        with self._serving_gates():
            return super().test_on_batch(*args, **kwargs)

    def train_on_batch(self, *args, **kwargs):
        try:
            return super().train_on_batch(*args, **kwargs)
        finally:
            self.mark_serving_gates_stale()

    def _training_state_variables(self):
        """The step counters: training state (like an optimiser's
        iterations), saved with the model but not among its weights."""
        variables = [self.epochs_seen, self.steps_seen]
        if self._gate_cache is not None:
            variables.append(self._gate_cache.counters)
        return variables

    def _weight_variables(self):
        excluded = {id(v) for v in self._training_state_variables()}
        excluded |= {id(layer.serving_kernel) for layer in self.switched_layers if layer.serves_gate}
        return [v for v in self.weights if id(v) not in excluded]

    def get_weights(self):
        """The values of the model's weights, as NumPy arrays.

        The step counters (`epochs_seen`, `steps_seen`, the gate cache's)
        and the serving kernels are left out: restoring earlier weights (as
        `EarlyStopping(restore_best_weights=True)` does) keeps the schedule
        where training is.
        """
        return [ops.convert_to_numpy(v) for v in self._weight_variables()]

    def set_weights(self, weights):
        """Sets the weights from a list given by `get_weights`."""
        variables = self._weight_variables()
        if len(variables) != len(weights):
            raise ValueError(
                f"You called `set_weights(weights)` on model '{self.name}' with "
                f"a weight list of length {len(weights)}, but the model was "
                f"expecting {len(variables)} weights (`get_weights()`, which "
                "leaves out the step counters)."
            )
        for variable, value in zip(variables, weights):
            if tuple(variable.shape) != tuple(value.shape):
                raise ValueError(
                    f"Model '{self.name}' weight {variable.path} has shape "
                    f"{variable.shape}, not compatible with the provided "
                    f"shape {value.shape}."
                )
            variable.assign(value)
        self.mark_serving_gates_stale()

    def quantize(self, mode=None, **kwargs):
        """Refused for switched layers: strip the model first
        (`keras_switcher.strip`), whose plain layers Keras quantizes."""
        if not self.switched_layers:
            return super().quantize(mode, **kwargs)
        self.switched_layers[0].quantize(mode)

    def load_weights(self, filepath, *args, **kwargs):
        """Loads weights like `keras.Model.load_weights`, or a plain twin's.

        A weights file of the same model with plain `Dense` (and
        `EinsumDense`) layers, such as the model `switch()` was given, sets
        the kernels and biases; the switchers and counters keep theirs.
        """
        try:
            return super().load_weights(filepath, *args, **kwargs)
        except ValueError as error:
            from keras_switcher.conversion import load_plain_weights

            if not load_plain_weights(self, filepath):
                raise error
        finally:
            self.mark_serving_gates_stale()

    def current_phase(self):
        """Returns the phase of the next training step.

        Returns:
            One of `"warmup"`, `"task"` and `"switcher"`.
        """
        phases = self.schedule.phases()
        if len(phases) == 1:  # No need to read the counters.
            return phases[0]
        return self.schedule.phase(
            int(ops.convert_to_numpy(self.epochs_seen)),
            int(ops.convert_to_numpy(self.steps_seen)),
        )

    def compile(self, optimizer="rmsprop", switcher_optimizer=None, **kwargs):
        """Configures the model for training.

        Args:
            optimizer: Optimizer of the task weights (name or instance).
            switcher_optimizer: Optimizer of the switchers' weights (name or
                instance), distinct from `optimizer`. `None` picks
                `keras.optimizers.Adam(1e-3)` (the `recommended` setting's)
                when the switchers have weights, and none when they have
                not (magnitude, movement). Under the `mixed_float16`
                policy it is wrapped in a `LossScaleOptimizer`, as Keras
                wraps `optimizer`.
            **kwargs: Other arguments of `keras.Model.compile` (`loss`,
                `metrics`, ...).

        `model.optimizer` is then a `keras_switcher.PairedOptimizer` of the
        two (`model.optimizer.task_optimizer`, `model.switcher_optimizer`);
        a `PairedOptimizer` passed as `optimizer` gives both.
        """
        self._check_backend()
        if isinstance(optimizer, PairedOptimizer):
            if switcher_optimizer is not None:
                raise ValueError(
                    "A `PairedOptimizer` passed as `optimizer` holds the "
                    "switcher optimiser: pass no `switcher_optimizer`. "
                    f"Received: switcher_optimizer={switcher_optimizer!r}"
                )
            optimizer, switcher_optimizer = optimizer.task_optimizer, optimizer.switcher_optimizer
        if switcher_optimizer is None and self.schedule.learns:
            switcher_optimizer = keras.optimizers.Adam(DEFAULT_SWITCHER_LEARNING_RATE)
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
            if switcher_optimizer is not None:
                switcher_optimizer = keras.optimizers.get(switcher_optimizer)
        except ValueError as error:
            raise ValueError(
                "Received an invalid value for `switcher_optimizer`, expected "
                "an optimizer name such as 'adam' or a `keras.optimizers."
                f"Optimizer` instance ({error}). "
                f"Received: switcher_optimizer={switcher_optimizer!r}"
            ) from None
        if (
            switcher_optimizer is not None
            and self.dtype_policy.name == "mixed_float16"
            and not isinstance(switcher_optimizer, keras.optimizers.LossScaleOptimizer)
        ):
            # As Keras wraps `optimizer`: a step whose float16 gradients
            # overflow is skipped instead of writing NaN into the switchers.
            switcher_optimizer = keras.optimizers.LossScaleOptimizer(switcher_optimizer)
        super().compile(optimizer=optimizer, **kwargs)
        self.optimizer = PairedOptimizer(self.optimizer, switcher_optimizer)
        if self.built:
            self._build_optimizers()

    def get_compile_config(self):
        compiled = keras_internals.compile_config(self)
        if self.compiled and compiled is not None:
            config = compiled.serialize()
            config["switcher_optimizer"] = keras.saving.serialize_keras_object(
                self.switcher_optimizer
            )
            return config
        return {}

    def compile_from_config(self, config):
        self.compile(**keras.saving.deserialize_keras_object(keras_internals.backend_neutral(config)))

    def _build_optimizers(self):
        # On TensorFlow the optimisers' variables must be made under the
        # model's distribution strategy.
        strategy = getattr(self, "distribute_strategy", None)
        with strategy.scope() if strategy else contextlib.nullcontext():
            if not self.optimizer.built:
                switcher_variables = None
                if self.switcher_optimizer is not None:
                    switcher_variables = self.switcher_variables
                self.optimizer.build(self.task_variables, switcher_variables)

    def _prepare_training(self):
        """Checks that the model can train and builds both optimisers."""
        self._check_backend()
        if self.switcher_optimizer is None and self.schedule.learns:
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
        self._build_optimizers()

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
        callbacks.insert(0, _TrainingState())
        callbacks.append(_ServingGateRefresher())
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
        config["gate_refresh_steps"] = self.gate_refresh_steps
        config["switcher_accumulation_steps"] = self.switcher_accumulation_steps
        config["concurrent_switcher_updates"] = self.concurrent_switcher_updates
        config["sparsity_plan"] = (
            None if self.sparsity_plan is None else self.sparsity_plan.get_config()
        )
        return config


def _model_being_cloned():
    """The `SwitchedModel` that `keras.models.clone_model` is copying, if any.

    Keras's functional cloning builds the copy with `model.__class__(inputs,
    outputs, name=...)` and no hook for other arguments (Keras 3.15,
    `keras_internals.CLONE_FUNCTION_NAME`); the model it copies is the
    caller's local `model`. `tests/test_drop_in.py` fails if a Keras
    release changes that.
    """
    frame = inspect.currentframe()
    for _ in range(4):  # This function, `__init__`, Keras's wrappers.
        frame = frame.f_back
        if frame is None:
            return None
        if frame.f_code.co_name == keras_internals.CLONE_FUNCTION_NAME:
            source = frame.f_locals.get("model")
            return source if isinstance(source, SwitchedModel) else None
    return None


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


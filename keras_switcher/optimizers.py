"""`PairedOptimizer`: a `SwitchedModel`'s two optimisers as one Keras optimiser."""

import keras
from keras import ops

from keras_switcher import keras_internals


@keras.saving.register_keras_serializable(package="keras_switcher")
class PairedOptimizer(keras.optimizers.Optimizer):
    """The task optimiser and the switcher optimiser, as one optimiser.

    `SwitchedModel.compile` puts it in `model.optimizer`, as Keras puts a
    `LossScaleOptimizer` there under `mixed_float16`: its `variables` are
    the task optimiser's followed by the switcher optimiser's, so that
    Keras's trainers carry both optimisers' state (the JAX trainer through
    its jitted step), while the model applies each optimiser to its own
    variables (`task_optimizer.apply`, `switcher_optimizer.apply`): it
    applies no gradients itself. In a saved file each optimiser's
    variables are under `optimizer/task_optimizer` and
    `optimizer/switcher_optimizer`.

    `learning_rate` and `iterations` are the task optimiser's. Setting
    `learning_rate`, as `keras.callbacks.ReduceLROnPlateau` and
    `LearningRateScheduler` do, sets the task optimiser's and scales the
    switcher optimiser's in proportion, unless either rate is given by a
    `LearningRateSchedule` (then the switcher's is left alone).

    Args:
        task_optimizer: The `keras.optimizers.Optimizer` of the task weights.
        switcher_optimizer: `None`, or the `keras.optimizers.Optimizer` of
            the switchers' weights (another instance).
        name: The optimiser's name.

    Example:

    >>> model = ks.applications.LeNet300100(input_shape=(8, 8, 1), switcher=ks.UNetSwitcher(depth=1))
    >>> paired = PairedOptimizer(keras.optimizers.SGD(0.1), keras.optimizers.Adam(1e-3))
    >>> paired.build(model.task_variables, model.switcher_variables)
    >>> paired.learning_rate = 0.05  # The switchers' rate becomes 5e-4.
    >>> round(float(paired.switcher_optimizer.learning_rate), 6)
    0.0005
    """

    def __init__(self, task_optimizer, switcher_optimizer=None, name=None):
        _check_optimizer("task_optimizer", task_optimizer)
        if switcher_optimizer is not None:
            _check_optimizer("switcher_optimizer", switcher_optimizer)
        if switcher_optimizer is task_optimizer:
            raise ValueError(
                "`switcher_optimizer` must be a different optimizer instance "
                "from `task_optimizer`: each keeps state for its own "
                f"variables. Received the same instance for both: {task_optimizer}"
            )
        super().__init__(learning_rate=0.0, name=name)
        self.task_optimizer = task_optimizer
        self.switcher_optimizer = switcher_optimizer
        self._switcher_variable_ids = set()

    def build(self, var_list, switcher_var_list=None):
        """Builds each optimiser for its own variables.

        Args:
            var_list: The variables of the task optimiser.
            switcher_var_list: The variables of the switcher optimiser;
                `None` exactly when there is no switcher optimiser.
        """
        if (switcher_var_list is None) != (self.switcher_optimizer is None):
            raise ValueError(
                "`switcher_var_list` lists the switcher optimiser's "
                "variables: pass it exactly when there is a switcher "
                f"optimiser. Received: switcher_optimizer={self.switcher_optimizer}, "
                f"switcher_var_list={switcher_var_list!r}"
            )
        switcher_var_list = list(switcher_var_list or [])
        if not self.task_optimizer.built:
            self.task_optimizer.build(var_list)
        if self.switcher_optimizer is not None and not self.switcher_optimizer.built:
            self.switcher_optimizer.build(switcher_var_list)
        self._switcher_variable_ids = {id(v) for v in switcher_var_list}
        super().build(list(var_list) + switcher_var_list)

    def _optimizers(self):
        """The task optimiser, then the switcher optimiser if there is one.

        (A method: the saving walk would save the optimisers of a list
        property a second time.)
        """
        return [o for o in (self.task_optimizer, self.switcher_optimizer) if o is not None]

    @property
    def variables(self):
        return [v for optimizer in self._optimizers() for v in optimizer.variables]

    @property
    def iterations(self):
        return self.task_optimizer.iterations

    @property
    def learning_rate(self):
        return self.task_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        before = self._settable_rates()
        self.task_optimizer.learning_rate = learning_rate
        after = self._settable_rates()
        if before is None or after is None or before[0] <= 0:
            return
        self.switcher_optimizer.learning_rate = before[1] * after[0] / before[0]

    def _settable_rates(self):
        """The task and switcher rates as floats, or `None` unless both
        optimisers hold their rate in a variable."""
        rates = [optimizer.learning_rate for optimizer in self._optimizers()]
        if len(rates) < 2 or not all(isinstance(r, keras.Variable) for r in rates):
            return None
        return [float(ops.convert_to_numpy(rate)) for rate in rates]

    def apply(self, grads, trainable_variables=None):
        raise ValueError(
            "A `PairedOptimizer` applies no gradients itself: apply "
            "`task_optimizer` to the task variables and `switcher_optimizer` "
            f"to the switchers' (optimizer '{self.name}')."
        )

    def finalize_variable_values(self, var_list):
        """Hands each optimiser its own variables of `var_list`.

        Keras calls it at the end of `fit` with every trainable variable;
        an optimiser with `use_ema=True` then writes its averages into its
        variables.
        """
        task = [v for v in var_list if id(v) not in self._switcher_variable_ids]
        self.task_optimizer.finalize_variable_values(task)
        if self.switcher_optimizer is not None:
            switchers = [v for v in var_list if id(v) in self._switcher_variable_ids]
            self.switcher_optimizer.finalize_variable_values(switchers)

    def save_own_variables(self, store):
        """Saves nothing: each optimiser saves its own variables."""

    def load_own_variables(self, store):
        """Loads nothing: each optimiser loads its own variables."""

    def get_config(self):
        return {
            "name": self.name,
            "task_optimizer": keras.saving.serialize_keras_object(self.task_optimizer),
            "switcher_optimizer": keras.saving.serialize_keras_object(self.switcher_optimizer),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        optimizers = [
            keras.saving.deserialize_keras_object(
                keras_internals.backend_neutral(config.pop(key)), custom_objects=custom_objects
            )
            for key in ("task_optimizer", "switcher_optimizer")
        ]
        return cls(*optimizers, **config)


def _check_optimizer(argument, value):
    """Raises unless `value`, given as `argument`, is a Keras optimiser."""
    if not isinstance(value, keras.optimizers.Optimizer):
        raise ValueError(
            f"Received an invalid value for `{argument}`, expected a "
            f"`keras.optimizers.Optimizer` instance. Received: {argument}={value!r}"
        )

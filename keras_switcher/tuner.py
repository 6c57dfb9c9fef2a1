"""Keras Tuner search over the switcher's settings."""

import keras

from keras_switcher import reporting, training
from keras_switcher._extras import require
from keras_switcher.callbacks import SparsityRamp
from keras_switcher.conversion import switch
from keras_switcher.sparsity import ALLOCATIONS, SparsityPlan
from keras_switcher import switchers

keras_tuner = require("keras_tuner", "keras_switcher.tuner")

# Name: choices. A list is a `Choice`, a `(min, max)` tuple a log-scaled
# `Float`, anything else a `Fixed` value.
DEFAULT_SEARCH_SPACE = {
    "switcher": "unet",
    "switcher_depth": [2, 3, 4],
    "switcher_channels": [4, 8],
    "gate": ["binary", "relu"],
    "magnitude_prior": [True, False],
    "target_sparsity": [0.8, 0.9, 0.95],
    "sparsity_allocation": "erk",
    "optimizer": ["adam", "sgd"],
    "learning_rate": (1e-4, 1e-2),
    "switcher_learning_rate": (1e-4, 1e-2),
    "task_steps": [50, 200],
    "switcher_steps": [5, 20],
    "gate_cache_steps": [10, 50],
}
_OPTIMIZERS = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD}
_TRAINING_METRICS = ("loss", "accuracy", "sparsity", "phase")


class SparsityScore(keras.callbacks.Callback):
    """Logs a score that weighs validation accuracy against sparsity.

    At the end of each epoch it counts the sparsity of the model's switched
    layers from their gates and logs `val_sparsity` and
    `score = val_accuracy + sparsity_weight * val_sparsity`; when the
    sparsity is below `min_sparsity`, the score is lowered by 1, so that
    every model meeting the constraint ranks above every model that does
    not. Any Keras Tuner tuner can maximise it:
    `keras_tuner.Objective("val_score", "max")`.

    Args:
        min_sparsity: Fraction of connections that must be off, in `[0, 1)`.
        sparsity_weight: Weight of the sparsity in the score, `>= 0`.
        accuracy: The logged accuracy to weigh.
        name: Name of the logged score.

    Example:

    >>> model = ks.applications.LeNet300100(
    ...     input_shape=(8, 8, 1), switcher="magnitude", target_sparsity=0.9)
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    >>> train = ks.datasets.load("digits", "train[:256]", batch_size=64)
    >>> val = ks.datasets.load("digits", "test[:64]", batch_size=64)
    >>> history = model.fit(train, validation_data=val, callbacks=[SparsityScore(0.9)], verbose=0)
    >>> [round(s, 2) for s in history.history["val_sparsity"]]
    [0.9]
    >>> history.history["val_score"] == history.history["val_accuracy"]  # 90% reached.
    True
    """

    def __init__(self, min_sparsity=0.0, sparsity_weight=0.0, accuracy="val_accuracy", name="val_score"):
        super().__init__()
        if not 0 <= min_sparsity < 1:
            raise ValueError(
                "Received an invalid value for `min_sparsity`, expected a "
                f"float in [0, 1). Received: min_sparsity={min_sparsity!r}"
            )
        if not sparsity_weight >= 0:
            raise ValueError(
                "Received an invalid value for `sparsity_weight`, expected a "
                f"non-negative float. Received: sparsity_weight={sparsity_weight!r}"
            )
        self.min_sparsity = min_sparsity
        self.sparsity_weight = sparsity_weight
        self.accuracy = accuracy
        self.name = name

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or self.accuracy not in logs:
            raise ValueError(
                f"`SparsityScore` needs `{self.accuracy}` in the logs; pass "
                "`validation_data` to `fit` and compile with "
                "`metrics=['accuracy']`."
            )
        sparsity = reporting.report(self.model)["total"]["sparsity"]
        score = float(logs[self.accuracy]) + self.sparsity_weight * sparsity
        if sparsity < self.min_sparsity:
            score -= 1.0
        logs["val_sparsity"] = sparsity
        logs[self.name] = score


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


# Name: (test of one value, words for the error).
_VALID_CHOICES = {
    "switcher": (lambda v: v in switchers.NAMES, f"names among {sorted(switchers.NAMES)}"),
    "switcher_depth": (lambda v: _is_count(v) or v == 0, "non-negative integers"),
    "switcher_channels": (_is_count, "positive integers"),
    "gate": (lambda v: v in ("binary", "relu"), "'binary' or 'relu'"),
    "magnitude_prior": (lambda v: isinstance(v, bool), "booleans"),
    "target_sparsity": (lambda v: _is_number(v) and 0 <= v < 1, "fractions in [0, 1)"),
    "sparsity_allocation": (lambda v: v in ALLOCATIONS, f"names among {ALLOCATIONS}"),
    "optimizer": (lambda v: v in _OPTIMIZERS, f"names among {sorted(_OPTIMIZERS)}"),
    "learning_rate": (lambda v: _is_number(v) and v > 0, "positive numbers"),
    "switcher_learning_rate": (lambda v: _is_number(v) and v > 0, "positive numbers"),
    "task_steps": (_is_count, "positive integers"),
    "switcher_steps": (_is_count, "positive integers"),
    "gate_cache_steps": (_is_count, "positive integers"),
}


def _check_choices(key, choices):
    """Raises unless every value a search-space entry can take is valid."""
    if isinstance(choices, tuple):
        if len(choices) != 2 or not choices[0] < choices[1]:
            raise ValueError(
                f"Received an invalid range for {key!r} in `search_space`, "
                f"expected (min, max) with min < max. Received: {choices!r}"
            )
        values = list(choices)
    else:
        values = choices if isinstance(choices, list) else [choices]
    accept, expected = _VALID_CHOICES[key]
    wrong = [value for value in values if not accept(value)]
    if wrong:
        raise ValueError(
            f"Received invalid values for {key!r} in `search_space`: {wrong}; "
            f"expected {expected}. Received: {key}={choices!r}"
        )


def _declare(hp, space):
    values = {}
    for name, choices in space.items():
        if isinstance(choices, list) and sorted(choices) == [False, True] and all(
            isinstance(choice, bool) for choice in choices
        ):
            values[name] = hp.Boolean(name)
        elif isinstance(choices, list):
            values[name] = hp.Choice(name, choices)
        elif isinstance(choices, tuple):
            values[name] = hp.Float(name, choices[0], choices[1], sampling="log")
        else:
            values[name] = hp.Fixed(name, choices)
    return values


class SwitchedHyperModel(keras_tuner.HyperModel):
    """A hypermodel over a backbone and its switchers' settings.

    Each trial builds the backbone with switched fully connected layers,
    compiles it with both optimisers and trains it with the sparsity ramp
    (over the first half of the epochs) and `SparsityScore`, which logs
    `val_sparsity` and `val_score` for the tuner's objective.

    The search space is `DEFAULT_SEARCH_SPACE` updated with `search_space`:
    a list gives a choice, a `(min, max)` tuple a log-scaled float range,
    any other value fixes that setting. Names: `switcher` (a name of
    `keras_switcher.switchers.NAMES`: a list such as `["unet",
    "magnitude"]` searches over the kinds), `switcher_depth`,
    `switcher_channels`, `gate`, `magnitude_prior` (these four shape the
    U-Net kinds, `"unet"` and `"neuron"`), `target_sparsity` and
    `sparsity_allocation` (the trial's `SparsityPlan`, the same for a
    builder's head and a switched backbone),
    `optimizer` (`"adam"` or `"sgd"`), `learning_rate`,
    `switcher_learning_rate`, `task_steps` and `switcher_steps` (the
    alternation), `gate_cache_steps`.

    Args:
        backbone: A key of `keras_switcher.training.BUILDERS` (`"lenet300100"`,
            `"resnet18"`, ...), or a function `hp -> keras.Model` returning a
            built functional or `Sequential` model whose `Dense` layers are
            switched.
        input_shape: Input shape of a named backbone.
        classes: Classes of a named backbone.
        search_space: Dict of changes to `DEFAULT_SEARCH_SPACE`.
        min_sparsity: See `SparsityScore`.
        sparsity_weight: See `SparsityScore`.
        name: Name of the hypermodel.

    Example:

    >>> hypermodel = SwitchedHyperModel(
    ...     "lenet300100", (8, 8, 1), 10,
    ...     search_space={"switcher": "magnitude", "target_sparsity": [0.8, 0.9]})
    >>> tuner = keras_tuner.RandomSearch(
    ...     hypermodel, objective=keras_tuner.Objective("val_score", "max"),
    ...     max_trials=1, directory="tuning")  # A real search: more trials and epochs.
    >>> train = ks.datasets.load("digits", "train[:256]", batch_size=64)
    >>> val = ks.datasets.load("digits", "test[:64]", batch_size=64)
    >>> tuner.search(train, validation_data=val, epochs=1, verbose=0)
    >>> best = tuner.get_best_hyperparameters(1)[0].values
    >>> best["switcher"], best["target_sparsity"] in (0.8, 0.9)
    ('magnitude', True)
    """

    def __init__(
        self,
        backbone,
        input_shape=None,
        classes=10,
        search_space=None,
        min_sparsity=0.0,
        sparsity_weight=0.0,
        name=None,
    ):
        super().__init__(name=name, tunable=True)
        if isinstance(backbone, str):
            backbone = backbone.lower()  # The builder's own name works too.
        if not callable(backbone) and backbone not in training.BUILDERS:
            raise ValueError(
                "Received an invalid value for `backbone`, expected one of "
                f"{sorted(training.BUILDERS)} or a function returning a Keras "
                f"model. Received: backbone={backbone!r}"
            )
        if not callable(backbone) and input_shape is None:
            raise ValueError(
                f"Backbone {backbone!r} needs an `input_shape`. Received: input_shape=None"
            )
        search_space = dict(search_space or {})
        unknown = sorted(set(search_space) - set(DEFAULT_SEARCH_SPACE))
        if unknown:
            raise ValueError(
                f"Received unknown names in `search_space`: {unknown}. "
                f"Expected names among {sorted(DEFAULT_SEARCH_SPACE)}."
            )
        for key, choices in search_space.items():
            if isinstance(choices, list) and not choices:
                raise ValueError(
                    f"Received an empty list of choices for {key!r} in "
                    "`search_space`: give at least one value."
                )
        for key, choices in search_space.items():
            _check_choices(key, choices)
        self.space = {**DEFAULT_SEARCH_SPACE, **search_space}
        if not any(
            isinstance(c, tuple) or (isinstance(c, list) and len(c) > 1)
            for c in self.space.values()
        ):
            raise ValueError(
                "The search space is empty: every setting is fixed. Give at "
                "least one setting a list of choices or a (min, max) range."
            )
        self.score = SparsityScore(min_sparsity, sparsity_weight)
        self.backbone = backbone
        self.input_shape = input_shape
        self.classes = classes

    def metric_names(self):
        """Returns the names this hypermodel's training logs, for objectives."""
        names = list(_TRAINING_METRICS) + ["val_loss", "val_accuracy", "val_sparsity"]
        return names + [self.score.name]

    def declare_hyperparameters(self, hp):
        _declare(hp, self.space)

    def build(self, hp):
        values = _declare(hp, self.space)
        switcher = switchers.get(values["switcher"])
        if isinstance(switcher, switchers.UNetSwitcher):
            switcher = switchers.fresh(
                switcher,
                depth=values["switcher_depth"],
                base_channels=values["switcher_channels"],
                gate=values["gate"],
                magnitude_prior=values["magnitude_prior"],
            )
        model_kwargs = dict(
            alternate=(values["task_steps"], values["switcher_steps"]),
            gate_cache_steps=values["gate_cache_steps"],
        )
        plan = SparsityPlan(values["target_sparsity"], values["sparsity_allocation"])
        if callable(self.backbone):
            model = switch(
                self.backbone(hp), switcher=switcher, target_sparsity=plan, verbose=False, **model_kwargs
            )
        else:
            model = training.BUILDERS[self.backbone](
                input_shape=self.input_shape,
                classes=self.classes,
                switcher=switcher,
                target_sparsity=plan,
                **model_kwargs,
            )
        optimizer = _OPTIMIZERS[values["optimizer"]]
        model.compile(
            optimizer=optimizer(values["learning_rate"]),
            switcher_optimizer=optimizer(values["switcher_learning_rate"]),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model

    def fit(self, hp, model, *args, epochs=1, callbacks=None, **kwargs):
        # The score runs first, so that the tuner's callbacks and the
        # checkpoint of the best epoch see it.
        callbacks = [self.score, SparsityRamp(end_epoch=max(epochs // 2, 1))] + list(
            callbacks or []
        )
        return model.fit(*args, epochs=epochs, callbacks=callbacks, **kwargs)


def build_tuner(tuner_class, hypermodel, objective="val_score", **tuner_kwargs):
    """Builds a Keras Tuner tuner after checking that its objective is logged.

    Args:
        tuner_class: A tuner class, such as `keras_tuner.RandomSearch`,
            `keras_tuner.BayesianOptimization`, `keras_tuner.Hyperband` or
            `keras_tuner.GridSearch`.
        hypermodel: A `SwitchedHyperModel`.
        objective: Name of a metric the hypermodel logs (maximised, or
            minimised for losses), or a `keras_tuner.Objective`.
        **tuner_kwargs: Other arguments of the tuner (`max_trials`,
            `directory`, `project_name`, ...).

    Returns:
        The tuner.

    Example:

    >>> hypermodel = SwitchedHyperModel("lenet300100", (28, 28, 1), 10)
    >>> tuner = build_tuner(keras_tuner.Hyperband, hypermodel, max_epochs=9, directory="tuning")
    >>> tuner.oracle.objective.name
    'val_score'
    """
    if isinstance(objective, str):
        direction = "min" if objective.endswith("loss") else "max"
        objective = keras_tuner.Objective(objective, direction)
    if objective.name not in hypermodel.metric_names():
        raise ValueError(
            f"Received an objective that is never logged: {objective.name!r}. "
            f"A SwitchedHyperModel logs {hypermodel.metric_names()}."
        )
    return tuner_class(hypermodel, objective=objective, **tuner_kwargs)

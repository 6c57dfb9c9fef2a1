"""Named training settings, shared by the command line and the benchmarks."""

import dataclasses
from typing import Callable, Optional

import keras

from keras_switcher import applications
from keras_switcher.callbacks import MultiStepDecay, SparsityRamp
from keras_switcher.sparsity import SparsityPlan
from keras_switcher.switchers import MovementSwitcher, UNetSwitcher

BUILDERS = {
    "lenet300100": applications.LeNet300100,
    "lenet5": applications.LeNet5,
    "resnet18": applications.ResNet18,
    "resnet34": applications.ResNet34,
    "vgg16": applications.VGG16,
    "mobilenet": applications.MobileNet,
}


def momentum_sgd(learning_rate):
    """SGD with Nesterov momentum 0.9 and weight decay 5e-4.

    The task optimiser of the published sparse-training results on MNIST
    (sparse momentum, dynamic sparse reparameterisation: learning rate 0.1,
    batch 100). Keras applies the decay decoupled from the gradient. The
    rate 0.1 suits LeNet-300-100; LeNet-5-Caffe, whose convolutions have no
    activation, diverges with it and trains with 0.03.

    Args:
        learning_rate: A float or a `LearningRateSchedule`.

    Returns:
        A `keras.optimizers.SGD`.

    Example:

    >>> optimizer = momentum_sgd(0.1)
    >>> optimizer.nesterov
    True
    """
    return keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True, weight_decay=5e-4)


# Task optimisers a run can choose instead of its setting's: (factory, default learning rate).
TASK_OPTIMIZERS = {
    "adam": (keras.optimizers.Adam, 1e-3),
    "momentum": (momentum_sgd, 0.1),
}


@dataclasses.dataclass(frozen=True)
class Setting:
    """How to build and train a switched model.

    Attributes:
        description: One line for help texts and result tables.
        kernel_initializer: Factory of the fully connected kernels' initializer.
        use_bias: Whether the fully connected layers have biases.
        optimizer: Factory of the task optimiser, called with the learning rate.
        switcher_optimizer: Optimiser class of the switchers.
        learning_rate: Default task learning rate.
        switcher_learning_rate: Default switcher learning rate.
        switcher: Factory of the switcher setting.
        alternate: Alternation schedule, see `SwitchedModel`.
        gate_cache_steps: See `SwitchedModel`.
        concurrent_switcher_updates: See `SwitchedModel`.
        batch_size: Default batch size.
        ramp_fraction: With a sparsity plan, the fraction of the epochs
            over which `SparsityRamp` raises the sparsity; `None` starts at
            the target.
        sparsity: Default `SparsityPlan` of the switched layers; `None`
            lets the switchers learn their sparsity.
        freeze_fraction: Fraction of the epochs after which the switchers
            stop training; `None` never.
        fit_alternation_to_epoch: See `SwitchedModel`.
    """

    description: str
    kernel_initializer: Callable
    use_bias: bool
    optimizer: Callable
    switcher_optimizer: Callable
    learning_rate: float
    switcher_learning_rate: float
    switcher: Callable = UNetSwitcher
    alternate: object = "epoch"
    gate_cache_steps: Optional[int] = None
    concurrent_switcher_updates: Optional[int] = None
    batch_size: int = 64
    ramp_fraction: Optional[float] = None
    sparsity: Optional[SparsityPlan] = None
    freeze_fraction: Optional[float] = None
    fit_alternation_to_epoch: bool = False


SETTINGS = {
    "paper": Setting(
        description=(
            "authors' code: U-Net ReLU gate, N(0, 0.01) kernels without bias, "
            "plain SGD 0.1 for both phases, whole-epoch alternation"
        ),
        kernel_initializer=lambda: keras.initializers.RandomNormal(stddev=0.01),
        use_bias=False,
        optimizer=keras.optimizers.SGD,
        switcher_optimizer=keras.optimizers.SGD,
        learning_rate=0.1,
        switcher_learning_rate=0.1,
        switcher=lambda: UNetSwitcher(depth=5, base_channels=8),  # Whatever the kernel.
    ),
    "adam": Setting(
        description=(
            "authors' U-Net ReLU gate and whole-epoch alternation; Glorot "
            "kernels with bias, Adam 1e-3 for both phases"
        ),
        kernel_initializer=lambda: "glorot_uniform",
        use_bias=True,
        optimizer=keras.optimizers.Adam,
        switcher_optimizer=keras.optimizers.Adam,
        learning_rate=1e-3,
        switcher_learning_rate=1e-3,
        switcher=lambda: UNetSwitcher(depth=5, base_channels=8),
    ),
}
SETTINGS["recommended"] = dataclasses.replace(
    SETTINGS["adam"],
    description=(
        "90% sparsity by default; binary gate on magnitude-prior scores from a "
        "light U-Net (depth 3, 4 channels), gates cached for 100 steps, 200 "
        "task / 20 switcher steps, Adam 1e-3, target sparsity ramped over 50% "
        "of the epochs with a class-blinded split, switchers frozen for the "
        "last 25%"
    ),
    switcher=lambda: UNetSwitcher(
        depth=3, base_channels=4, gate="binary", magnitude_prior=True
    ),
    alternate=(200, 20),
    gate_cache_steps=100,
    ramp_fraction=0.5,
    sparsity=SparsityPlan(0.9, allocation="magnitude"),
    freeze_fraction=0.75,
    fit_alternation_to_epoch=True,
)

SETTINGS["concurrent"] = dataclasses.replace(
    SETTINGS["recommended"],
    description=(
        "the recommended setting without a switcher phase: every task step "
        "also measures the gradient on the cached gates, one switcher update "
        "per 10 task steps in every epoch, and the switcher also reads the "
        "running gate gradient (the regrowth signal of dynamic sparse training)"
    ),
    switcher=lambda: UNetSwitcher(
        depth=3, base_channels=4, gate="binary", magnitude_prior=True, gradient_input=True
    ),
    alternate=(1, 0),
    concurrent_switcher_updates=10,
    freeze_fraction=None,
)


SETTINGS["fine_tune"] = dataclasses.replace(
    SETTINGS["recommended"],
    description=(
        "for making a trained model sparse while it learns a new task: the "
        "movement switcher (scores accumulate -W * dL/dW'), gates refreshed "
        "every 20 steps, 98% of each layer's connections off on a ramp over "
        "70% of the epochs, SGD 0.01 with momentum 0.9, batch 128"
    ),
    optimizer=lambda learning_rate: keras.optimizers.SGD(learning_rate, momentum=0.9),
    learning_rate=0.01,
    switcher=MovementSwitcher,
    gate_cache_steps=20,
    batch_size=128,
    ramp_fraction=0.7,
    sparsity=SparsityPlan(0.98, allocation="uniform"),
    freeze_fraction=None,
)


def _setting(name):
    if name not in SETTINGS:
        raise ValueError(
            f"Received an invalid value for `setting`, expected one of "
            f"{sorted(SETTINGS)}. Received: setting={name!r}"
        )
    return SETTINGS[name]


def _rate(argument, value, default):
    """A learning rate given by the caller (checked), or the setting's."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise ValueError(
            f"Received an invalid value for `{argument}`, expected None (the "
            f"setting's {default}) or a positive number. Received: {argument}={value!r}"
        )
    return value


def build_model(
    builder_name,
    input_shape,
    epochs,
    classes=10,
    setting="paper",
    switched=True,
    switcher=None,
    target_sparsity=None,
    allocation=None,
    learning_rate=None,
    switcher_learning_rate=None,
    alternate=None,
    concurrent_switcher_updates=None,
    warmup_epochs=0,
    task_optimizer=None,
):
    """Builds and compiles a model of `keras_switcher.applications`.

    Args:
        builder_name: A key of `BUILDERS`.
        input_shape: Image shape without the batch axis.
        epochs: Number of epochs the model will train (sets when the
            switchers freeze).
        classes: Number of classes.
        setting: A key of `SETTINGS`.
        switched: `False` builds the same model with plain `Dense` layers,
            trained by the task optimiser alone.
        switcher: Switcher: a name of `keras_switcher.switchers.NAMES`
            (`"magnitude"`, `"movement"`, ...), an instance or a config;
            `None` keeps the setting's.
        target_sparsity: Overall sparsity of the fully connected layers
            (a float or a `SparsityPlan`); `None` keeps the setting's.
        allocation: How a float `target_sparsity` is shared among layers
            (see `SparsityPlan`); `None` keeps the setting's, else `"erk"`.
        learning_rate: Task learning rate; `None` keeps the setting's.
        switcher_learning_rate: Switcher learning rate; `None` keeps the
            setting's.
        alternate: Alternation schedule; `None` keeps the setting's.
        concurrent_switcher_updates: Task steps per switcher update made
            from the task steps' gate gradients (see `SwitchedModel`);
            `None` keeps the setting's.
        warmup_epochs: Dense warm-up epochs.
        task_optimizer: A key of `TASK_OPTIMIZERS` (its default learning
            rate comes with it); `None` keeps the setting's optimiser.

    Returns:
        A compiled model, with the cross-entropy loss and accuracy metric.
    """
    if builder_name not in BUILDERS:
        raise ValueError(
            f"Received an invalid value for `model`, expected one of "
            f"{sorted(BUILDERS)}. Received: model={builder_name!r}"
        )
    chosen = _setting(setting)
    optimizer, default_rate = chosen.optimizer, chosen.learning_rate
    if task_optimizer is not None:
        if task_optimizer not in TASK_OPTIMIZERS:
            raise ValueError(
                "Received an invalid value for `task_optimizer`, expected None "
                f"(the setting's) or one of {sorted(TASK_OPTIMIZERS)}. "
                f"Received: task_optimizer={task_optimizer!r}"
            )
        optimizer, default_rate = TASK_OPTIMIZERS[task_optimizer]
    model_kwargs = {}
    if switched:
        freeze = freeze_epoch(setting, epochs, warmup_epochs)
        model_kwargs = dict(
            alternate=alternate if alternate is not None else chosen.alternate,
            warmup_epochs=warmup_epochs,
            gate_cache_steps=chosen.gate_cache_steps,
            concurrent_switcher_updates=(
                concurrent_switcher_updates
                if concurrent_switcher_updates is not None
                else chosen.concurrent_switcher_updates
            ),
            freeze_switchers_after=freeze,
            fit_alternation_to_epoch=chosen.fit_alternation_to_epoch,
        )
    model = BUILDERS[builder_name](
        input_shape=input_shape,
        classes=classes,
        switched=switched,
        switcher=switcher if switcher is not None else chosen.switcher(),
        kernel_initializer=chosen.kernel_initializer(),
        use_bias=chosen.use_bias,
        target_sparsity=sparsity_plan(setting, target_sparsity, allocation) if switched else None,
        **model_kwargs,
    )
    compile_args = dict(
        optimizer=optimizer(_rate("learning_rate", learning_rate, default_rate)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    if switched:
        compile_args["switcher_optimizer"] = chosen.switcher_optimizer(
            _rate("switcher_learning_rate", switcher_learning_rate, chosen.switcher_learning_rate)
        )
    model.compile(**compile_args)
    return model


def sparsity_plan(setting, target_sparsity=None, allocation=None):
    """The `SparsityPlan` of a run: the setting's, with the caller's changes.

    Args:
        setting: A key of `SETTINGS`.
        target_sparsity: `None` (the setting's target), a float (the
            overall target) or a `SparsityPlan` (used as it is).
        allocation: `None` (the setting's allocation, else `"erk"`) or one
            of `keras_switcher.sparsity.ALLOCATIONS`.

    Returns:
        A `SparsityPlan`, or `None` when neither the setting nor the caller
        gives a target.
    """
    default = _setting(setting).sparsity
    if isinstance(target_sparsity, SparsityPlan):
        if allocation is not None:
            raise ValueError(
                "Received both a SparsityPlan and an `allocation`: the plan "
                f"has its own. Received: target_sparsity={target_sparsity}, "
                f"allocation={allocation!r}"
            )
        return target_sparsity
    if target_sparsity is None:
        if default is None:
            if allocation is not None:
                raise ValueError(
                    f"Received allocation={allocation!r} without a target: "
                    f"setting {setting!r} has no target sparsity. Pass a "
                    "`target_sparsity` as well."
                )
            return None
        target_sparsity = default.target
    if allocation is None:
        allocation = default.allocation if default is not None else "erk"
    return SparsityPlan(target_sparsity, allocation)


def training_callbacks(setting, epochs, decay_at=(0.5, 0.75)):
    """Callbacks of a setting: learning-rate decay and the sparsity ramp.

    Args:
        setting: A key of `SETTINGS`.
        epochs: Number of epochs of the run.
        decay_at: Fractions of the epochs at which both learning rates drop
            tenfold (the authors' MNIST schedule: 50% and 75%).

    Returns:
        A list of callbacks for a `SwitchedModel`'s `fit`.
    """
    chosen = _setting(setting)
    callbacks = [decay(epochs, decay_at)]
    if chosen.ramp_fraction is not None:
        callbacks.append(SparsityRamp(end_epoch=ramp_end_epoch(setting, epochs)))
    return callbacks


def decay(epochs, decay_at=(0.5, 0.75)):
    """The learning-rate decay of a run: tenfold at fractions of the epochs.

    Args:
        epochs: Number of epochs of the run.
        decay_at: Fractions of the epochs at which the rates drop tenfold.

    Returns:
        A `MultiStepDecay`, for switched and plain models alike.
    """
    return MultiStepDecay(sorted({round(f * epochs) for f in decay_at}))


def ramp_end_epoch(setting, epochs):
    """Epoch at which a setting's sparsity ramp reaches its target, or `None`.

    Args:
        setting: A key of `SETTINGS`.
        epochs: Number of epochs of the run.
    """
    chosen = _setting(setting)
    if chosen.ramp_fraction is None:
        return None
    return max(round(chosen.ramp_fraction * epochs), 1)


def freeze_epoch(setting, epochs, warmup_epochs=0):
    """Epoch after which a setting's switchers stop training, or `None`.

    Args:
        setting: A key of `SETTINGS`.
        epochs: Number of epochs of the run.
        warmup_epochs: Dense warm-up epochs; the switchers train at least
            one epoch after them.
    """
    chosen = _setting(setting)
    if chosen.freeze_fraction is None:
        return None
    return max(round(chosen.freeze_fraction * epochs), warmup_epochs + 1)

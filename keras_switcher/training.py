"""Named training settings, shared by the command line and the benchmarks."""

import dataclasses
from typing import Callable

import keras

from keras_switcher import applications
from keras_switcher.switchers import UNetSwitcher

BUILDERS = {
    "lenet300100": applications.LeNet300100,
    "lenet5": applications.LeNet5,
}


@dataclasses.dataclass(frozen=True)
class Setting:
    """How to initialise and train a switched model.

    Attributes:
        description: One line for help texts and result tables.
        kernel_initializer: Factory of the fully connected kernels' initializer.
        use_bias: Whether the fully connected layers have biases.
        optimizer: Factory of the task optimiser, given a learning rate.
        switcher_optimizer: Factory of the switcher optimiser, given a
            learning rate.
        learning_rate: Default task learning rate.
        switcher_learning_rate: Default switcher learning rate.
        alternate: Alternation schedule, see `SwitchedModel`.
        batch_size: Default batch size.
    """

    description: str
    kernel_initializer: Callable
    use_bias: bool
    optimizer: Callable
    switcher_optimizer: Callable
    learning_rate: float
    switcher_learning_rate: float
    alternate: object = "epoch"
    batch_size: int = 64


SETTINGS = {
    "paper": Setting(
        description=(
            "authors' code: N(0, 0.01) kernels without bias, plain SGD 0.1 "
            "for both phases, whole-epoch alternation"
        ),
        kernel_initializer=lambda: keras.initializers.RandomNormal(stddev=0.01),
        use_bias=False,
        optimizer=keras.optimizers.SGD,
        switcher_optimizer=keras.optimizers.SGD,
        learning_rate=0.1,
        switcher_learning_rate=0.1,
    ),
    "adam": Setting(
        description=(
            "Glorot kernels with bias, Adam 1e-3 for both phases, "
            "whole-epoch alternation"
        ),
        kernel_initializer=lambda: "glorot_uniform",
        use_bias=True,
        optimizer=keras.optimizers.Adam,
        switcher_optimizer=keras.optimizers.Adam,
        learning_rate=1e-3,
        switcher_learning_rate=1e-3,
    ),
}


def build_model(
    builder_name,
    input_shape,
    classes=10,
    setting="paper",
    switched=True,
    switcher=None,
    learning_rate=None,
    switcher_learning_rate=None,
    alternate=None,
    warmup_epochs=0,
):
    """Builds and compiles a model of `keras_switcher.applications`.

    Args:
        builder_name: A key of `BUILDERS`.
        input_shape: Image shape without the batch axis.
        classes: Number of classes.
        setting: A key of `SETTINGS`.
        switched: `False` builds the same model with plain `Dense` layers,
            trained by the task optimiser alone.
        switcher: Switcher setting, `None` for the authors' U-Net.
        learning_rate: Task learning rate; `None` keeps the setting's.
        switcher_learning_rate: Switcher learning rate; `None` keeps the
            setting's.
        alternate: Alternation schedule; `None` keeps the setting's.
        warmup_epochs: Dense warm-up epochs.

    Returns:
        A compiled model, with the cross-entropy loss and accuracy metric.
    """
    if builder_name not in BUILDERS:
        raise ValueError(
            f"Received an invalid value for `model`, expected one of "
            f"{sorted(BUILDERS)}. Received: model={builder_name!r}"
        )
    if setting not in SETTINGS:
        raise ValueError(
            f"Received an invalid value for `setting`, expected one of "
            f"{sorted(SETTINGS)}. Received: setting={setting!r}"
        )
    chosen = SETTINGS[setting]
    model = BUILDERS[builder_name](
        input_shape=input_shape,
        classes=classes,
        switched=switched,
        switcher=switcher if switcher is not None else UNetSwitcher(),
        kernel_initializer=chosen.kernel_initializer(),
        use_bias=chosen.use_bias,
        alternate=alternate or chosen.alternate,
        warmup_epochs=warmup_epochs,
    )
    compile_args = dict(
        optimizer=chosen.optimizer(learning_rate or chosen.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    if switched:
        compile_args["switcher_optimizer"] = chosen.switcher_optimizer(
            switcher_learning_rate or chosen.switcher_learning_rate
        )
    model.compile(**compile_args)
    return model

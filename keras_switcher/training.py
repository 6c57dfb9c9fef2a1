"""The authors' training setting, shared by the command line and benchmarks."""

import keras

from keras_switcher import applications
from keras_switcher.switchers import UNetSwitcher

BUILDERS = {
    "lenet300100": applications.LeNet300100,
    "lenet5": applications.LeNet5,
}


def build_paper_model(
    builder_name,
    input_shape,
    classes=10,
    switched=True,
    switcher=None,
    alternate="epoch",
    warmup_epochs=0,
    learning_rate=0.1,
    switcher_learning_rate=0.1,
):
    """Builds and compiles a model in the setting of the authors' code.

    Fully connected kernels start from `N(0, 0.01)` and have no bias; both
    phases use plain SGD on the cross-entropy, with no weight decay.

    Args:
        builder_name: A key of `BUILDERS`.
        input_shape: Image shape without the batch axis.
        classes: Number of classes.
        switched: `False` builds the same model with plain `Dense` layers.
        switcher: Switcher setting, `None` for the authors' U-Net.
        alternate: Alternation schedule, see `SwitchedModel`.
        warmup_epochs: Dense warm-up epochs.
        learning_rate: SGD learning rate of the task weights.
        switcher_learning_rate: SGD learning rate of the switchers.

    Returns:
        A compiled model.
    """
    if builder_name not in BUILDERS:
        raise ValueError(
            f"Received an invalid value for `model`, expected one of "
            f"{sorted(BUILDERS)}. Received: model={builder_name!r}"
        )
    model = BUILDERS[builder_name](
        input_shape=input_shape,
        classes=classes,
        switched=switched,
        switcher=switcher if switcher is not None else UNetSwitcher(),
        kernel_initializer=keras.initializers.RandomNormal(stddev=0.01),
        use_bias=False,
        alternate=alternate,
        warmup_epochs=warmup_epochs,
    )
    compile_args = dict(
        optimizer=keras.optimizers.SGD(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    if switched:
        compile_args["switcher_optimizer"] = keras.optimizers.SGD(
            switcher_learning_rate
        )
    model.compile(**compile_args)
    return model

"""The training step of `SwitchedModel`, one trainer per Keras backend.

`base.SwitchedTrainer` holds what a step does in one phase, written once in
Keras ops; each backend's trainer supplies the gradient, the conditional
on the device and its own `train_step`, shaped like Keras's trainer of that
backend.
"""

import keras


def backend_trainer():
    """Returns the trainer class for the Keras backend in use.

    Returns:
        `JAXSwitchedTrainer` on JAX, `TensorFlowSwitchedTrainer` on
        TensorFlow, `TorchSwitchedTrainer` on PyTorch, and `SwitchedTrainer`
        otherwise (whose `compile` refuses to train and names the supported
        backends).
    """
    backend = keras.backend.backend()
    if backend == "jax":
        from keras_switcher.trainers.jax_trainer import JAXSwitchedTrainer

        return JAXSwitchedTrainer
    if backend == "tensorflow":
        from keras_switcher.trainers.tensorflow_trainer import (
            TensorFlowSwitchedTrainer,
        )

        return TensorFlowSwitchedTrainer
    if backend == "torch":
        from keras_switcher.trainers.torch_trainer import TorchSwitchedTrainer

        return TorchSwitchedTrainer
    from keras_switcher.trainers.base import SwitchedTrainer

    return SwitchedTrainer

"""CKA-SR (Ni et al., 2023): a penalty on the similarity of a stage's blocks."""

import keras
from keras import ops


def linear_cka(x, y):
    """Linear centred kernel alignment between two batches of features.

    Args:
        x: Tensor `(batch, ...)`, flattened to `(batch, features_x)`.
        y: Tensor `(batch, ...)`, flattened to `(batch, features_y)`.

    Returns:
        A scalar in `[0, 1]`; 1 when the representations match up to an
        orthogonal transform and isotropic scaling.
    """
    x = ops.reshape(x, (ops.shape(x)[0], -1))
    y = ops.reshape(y, (ops.shape(y)[0], -1))
    x = x - ops.mean(x, axis=0, keepdims=True)
    y = y - ops.mean(y, axis=0, keepdims=True)
    cross = ops.sum(ops.square(ops.matmul(ops.transpose(y), x)))
    norm_x = ops.sqrt(ops.sum(ops.square(ops.matmul(ops.transpose(x), x))))
    norm_y = ops.sqrt(ops.sum(ops.square(ops.matmul(ops.transpose(y), y))))
    return cross / (norm_x * norm_y + keras.config.epsilon())


@keras.saving.register_keras_serializable(package="keras_switcher")
class CKAPenalty(keras.layers.Layer):
    """Adds `beta * sum of pairwise linear CKA` of block outputs to the loss.

    Place it on the outputs of the blocks of one stage; it returns its first
    input unchanged, so it sits inside a functional graph. Ni et al. use
    `beta = 1e-4` on CIFAR.

    Args:
        beta: Non-negative weight of the penalty.
        **kwargs: Base layer keyword arguments.

    Example:

    >>> inputs = keras.Input((784,))
    >>> h1 = keras.layers.Dense(300, activation="relu")(inputs)
    >>> h2 = keras.layers.Dense(100, activation="relu")(h1)
    >>> h2 = CKAPenalty(1e-4)([h2, h1])
    >>> model = keras.Model(inputs, h2)
    >>> outputs = model(np.random.rand(8, 784))
    >>> len(model.losses)  # The penalty, added to the training loss.
    1
    """

    def __init__(self, beta=1e-4, **kwargs):
        super().__init__(**kwargs)
        if not beta >= 0:
            raise ValueError(
                "Received an invalid value for `beta`, expected a "
                f"non-negative float. Received: beta={beta!r}"
            )
        self.beta = beta

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(
                "`CKAPenalty` expects a list of at least two block outputs. "
                f"Received: inputs={inputs!r}"
            )
        penalty = sum(
            linear_cka(inputs[i], inputs[j])
            for i in range(len(inputs))
            for j in range(i + 1, len(inputs))
        )
        self.add_loss(self.beta * penalty)
        return inputs[0]

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}

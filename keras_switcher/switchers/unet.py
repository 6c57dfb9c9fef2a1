"""The paper's switcher network: a U-Net that reads the kernel as an image."""

import keras
from keras import ops

from keras_switcher.switchers.base import Switcher, check_non_negative_float, standardise


def _norm(x, gamma, beta, epsilon):
    """Normalises each feature map with its own statistics (one image).

    In float32 whatever the compute dtype, as Keras's `BatchNormalization`:
    under `mixed_float16` the gradient of `rsqrt` overflows float16.
    """
    dtype = x.dtype
    x = ops.cast(x, "float32")
    mean, variance = ops.moments(x, axes=[1, 2], keepdims=True)
    return ops.cast((x - mean) * ops.rsqrt(variance + epsilon), dtype) * gamma + beta


def _conv(x, kernel, **kwargs):
    """`ops.conv`, with a workaround for PyTorch.

    PyTorch's CPU convolution (2.13) cannot take the kernel's gradient of a
    convolution of one image (a batch of one, as here) from several
    channels to one, in the channels-last layout that Keras's `ops.conv`
    gives it: "slow_conv2d: grad_weight must be contiguous". On PyTorch,
    such a convolution is computed as the first output channel of two, the
    second with a zero kernel.
    """
    if keras.backend.backend() == "torch" and kernel.shape[-1] == 1 and kernel.shape[-2] > 1:
        padded = ops.pad(kernel, [[0, 0], [0, 0], [0, 0], [0, 1]])
        return ops.conv(x, padded, **kwargs)[..., :1]
    return ops.conv(x, kernel, **kwargs)


# `(depth, base_channels)` tried by `build` when they are `None`: the
# authors' network, then alternately half the channels and one level fewer,
# so that depth and width shrink together.
_SIZES = ((5, 8), (5, 4), (4, 4), (4, 2), (3, 2), (3, 1), (2, 1), (1, 1), (0, 1))


@keras.saving.register_keras_serializable(package="keras_switcher")
class UNetSwitcher(Switcher):
    """U-Net switcher of Han & Liu (2021), seeing the kernel as an image.

    The encoder has `depth + 1` levels of 3x3 convolution, normalisation and
    ReLU with `base_channels * 2**level` channels and 2x2 max-pooling between
    levels; the decoder upsamples with 2x2 transposed convolutions, joins the
    encoder's feature map of the same level and applies a 3x3 convolution,
    normalisation and ReLU. A last 3x3 convolution to one channel, followed by
    normalisation and ReLU, gives the gate: roughly half of the connections
    start switched off. Convolutions have no bias.

    Each feature map is normalised with the statistics of the weight image
    itself, in training and inference alike, so the gate is a pure function
    of the kernel. Kernels whose sides are not multiples of `2**depth` are
    zero-padded and the gate cropped back.

    `UNetSwitcher(depth=5, base_channels=8)` is the authors' network
    (channels 8 to 256, about 0.96 M weights). With `None` (the default),
    `build` sizes it to the kernel so that the switcher is no larger than
    the layer: the first `(depth, base_channels)` of `(5, 8), (5, 4), (4, 4),
    (4, 2), (3, 2), (3, 1), (2, 1), (1, 1), (0, 1)` (each step about a
    quarter of the weights), with `2**depth` clipped to the kernel's shorter
    side, whose weights (`network_params`) are at most the kernel's; `(0, 1)`
    (22 weights) when none is. A 16x8 kernel gets `(1, 1)` (74 weights), a
    784x300 one `(4, 4)` (60,402), 1024x1024 and larger the authors'. A size
    given explicitly is kept and the other chosen the same way. The choice,
    `built_depth` and `built_base_channels`, depends only on the kernel's
    shape, so the configuration keeps `None` and a loaded model rebuilds the
    same network.

    `target_sparsity`, `gate` and `block_size` are the base's (`Switcher`):
    with a target the gate thresholds the U-Net's last normalised feature
    map at exactly that fraction of connections (an extension of the
    paper's free ReLU gate).

    `gradient_input` is an extension: the switcher also reads the layer's
    running average of the loss gradient with respect to the gate,
    `dL/dG = W * dL/d(W * G)`, which says for a connection that is off
    whether switching it on would lower the loss (what dynamic sparse
    training uses to regrow connections). Its negative, scaled to unit
    variance, is a second input channel of the U-Net and is added to the
    scores with a learned weight that starts at zero, so the gate starts
    as without it. It needs cached gates, whose steps measure that gradient
    (`SwitchedModel(gate_refresh_steps=...)`).

    Args:
        depth: Number of 2x2 poolings in the encoder. Non-negative integer,
            or `None` to choose it from the kernel.
        base_channels: Channels of the first level, doubled at each level.
            Positive integer, or `None` to choose it from the kernel.
        epsilon: Small float added to the variance in the normalisation.
        kernel_initializer: Initializer of the convolution kernels. Defaults
            to He-normal over the fan-out, as the authors use.
        target_sparsity: `None` (the authors' gate, whose sparsity is
            learned freely) or the fraction of connections to switch off,
            in `[0, 1)`.
        gate: `"relu"` (the authors' `ReLU` of the scores, which also
            rescales the kept weights) or `"binary"` (an extension: a 0/1
            mask, trained with a straight-through gradient).
        magnitude_prior: If `True` (an extension), the normalised weight
            magnitude is added to the network's scores, and the network's
            last normalisation starts at zero: the gate starts as magnitude
            pruning and the network learns corrections to it.
        block_size: Positive integer: how many consecutive inputs of a unit
            share one gate. `1` switches single connections.
        gradient_input: If `True`, `call` also takes `gate_gradient`.
        movement_input: If `True` (an extension, for fine-tuning trained
            models), the switcher also accumulates movement-pruning scores
            (`-w * dL/dw'` over the task steps, as `MovementSwitcher`) and
            reads them, standardised, as an input channel; its prior (with
            `magnitude_prior`) becomes `z(movement) + magnitude_weight *
            z(|w|)`, the `"movement+magnitude"` rule, so it starts as that
            rule and learns corrections to it. Needs cached gates.
        magnitude_weight: Non-negative float, the weight of `z(|w|)` in the
            prior with `movement_input`.
        **kwargs: Base layer keyword arguments, such as `name`.

    Example:

    >>> switcher = UNetSwitcher(depth=2, base_channels=4)
    >>> gate = switcher(keras.random.normal((20, 10)))
    >>> tuple(gate.shape)
    (20, 10)
    """

    def __init__(
        self,
        depth=None,
        base_channels=None,
        epsilon=1e-5,
        kernel_initializer=None,
        target_sparsity=None,
        gate="relu",
        magnitude_prior=False,
        block_size=1,
        gradient_input=False,
        movement_input=False,
        magnitude_weight=0.5,
        **kwargs,
    ):
        super().__init__(
            target_sparsity=target_sparsity, gate=gate, block_size=block_size, **kwargs
        )
        if not isinstance(gradient_input, bool):
            raise ValueError(
                "Received an invalid value for `gradient_input`, expected "
                f"True or False. Received: gradient_input={gradient_input!r}"
            )
        self.gradient_input = gradient_input
        if not isinstance(magnitude_prior, bool):
            raise ValueError(
                "Received an invalid value for `magnitude_prior`, expected "
                f"True or False. Received: magnitude_prior={magnitude_prior!r}"
            )
        self.magnitude_prior = magnitude_prior
        if not isinstance(movement_input, bool):
            raise ValueError(
                "Received an invalid value for `movement_input`, expected "
                f"True or False. Received: movement_input={movement_input!r}"
            )
        self.movement_input = movement_input
        self.observes_task_gradient = movement_input
        self.magnitude_weight = check_non_negative_float("magnitude_weight", magnitude_weight)
        if depth is not None and (
            not isinstance(depth, int) or isinstance(depth, bool) or depth < 0
        ):
            raise ValueError(
                "Received an invalid value for `depth`, expected None or a "
                f"non-negative integer. Received: depth={depth}"
            )
        if base_channels is not None and (
            not isinstance(base_channels, int)
            or isinstance(base_channels, bool)
            or base_channels <= 0
        ):
            raise ValueError(
                "Received an invalid value for `base_channels`, expected None "
                f"or a positive integer. Received: base_channels={base_channels}"
            )
        if not epsilon > 0:
            raise ValueError(
                "Received an invalid value for `epsilon`, expected a "
                f"positive float. Received: epsilon={epsilon}"
            )
        self.depth = depth
        self.base_channels = base_channels
        self.epsilon = epsilon
        self.kernel_initializer = keras.initializers.get(
            kernel_initializer
            or keras.initializers.VarianceScaling(
                scale=2.0, mode="fan_out", distribution="untruncated_normal"
            )
        )

    def _add_block(self, name, kernel_shape, out_channels, gamma_initializer="ones"):
        kernel = self.add_weight(
            name=f"{name}_kernel",
            shape=kernel_shape,
            initializer=self.kernel_initializer,
        )
        gamma = self.add_weight(
            name=f"{name}_gamma", shape=(out_channels,), initializer=gamma_initializer
        )
        beta = self.add_weight(
            name=f"{name}_beta", shape=(out_channels,), initializer="zeros"
        )
        return kernel, gamma, beta

    def _input_channels(self):
        return 1 + self.gradient_input + self.movement_input

    def network_params(self, depth, base_channels):
        """Number of weights of the network of the given sizes.

        Buffers (`sparsity`, `movement`) are not counted: the network's
        weights are the switcher's trainable ones.

        Args:
            depth: Number of 2x2 poolings.
            base_channels: Channels of the first level.

        Returns:
            An integer.

        Example:

        >>> UNetSwitcher().network_params(5, 8)
        962402
        """
        channels = [base_channels * 2**level for level in range(depth + 1)]
        # Every block is a bias-free convolution and a normalisation's
        # gamma and beta.
        total, previous = 0, self._input_channels()
        for width in channels:
            total += 9 * previous * width + 2 * width
            previous = width
        for width in reversed(channels[:-1]):
            total += 4 * previous * width + 2 * width  # 2x2 upsampling.
            total += 9 * 2 * width * width + 2 * width  # 3x3 merge.
            previous = width
        size = self._output_kernel_size
        return total + size * size * previous + 2 + self.gradient_input

    def _sizes(self, kernel_shape):
        """The `(depth, base_channels)` that `build` gives a kernel."""
        rows, cols = kernel_shape
        # Levels past the kernel's shorter side would only pool padding.
        deepest = min(rows, cols).bit_length() - 1
        for depth, channels in _SIZES:
            depth = min(depth, deepest) if self.depth is None else self.depth
            if self.base_channels is not None:
                channels = self.base_channels
            if self.network_params(depth, channels) <= rows * cols:
                break
        # With nothing small enough, the last and smallest candidate.
        return depth, channels

    def build(self, kernel_shape):
        super().build(kernel_shape)
        self.built_depth, self.built_base_channels = self._sizes(kernel_shape)
        channels = [
            self.built_base_channels * 2**level for level in range(self.built_depth + 1)
        ]
        self._encoder = []
        previous = self._input_channels()
        if self.movement_input:
            self.movement = self.add_weight(
                name="movement", shape=tuple(kernel_shape), initializer="zeros", trainable=False
            )
        for level, width in enumerate(channels):
            self._encoder.append(
                self._add_block(f"down{level}", (3, 3, previous, width), width)
            )
            previous = width
        self._decoder = []
        for level in reversed(range(self.built_depth)):
            width = channels[level]
            upsample = self._add_block(f"up{level}", (2, 2, width, previous), width)
            merge = self._add_block(f"merge{level}", (3, 3, 2 * width, width), width)
            self._decoder.append((upsample, merge))
            previous = width
        self._output_block = self._build_output_block(previous)
        if self.gradient_input:
            self.gradient_weight = self.add_weight(
                name="gradient_weight", shape=(), initializer="zeros"
            )

    # The last convolution, from the decoder's channels to one score.
    _output_name = "gate"
    _output_kernel_size = 3

    def _build_output_block(self, channels):
        # With the magnitude prior, the network's scores start at zero and
        # the gate starts as magnitude pruning.
        size = self._output_kernel_size
        return self._add_block(
            self._output_name,
            (size, size, channels, 1),
            1,
            gamma_initializer="zeros" if self.magnitude_prior else "ones",
        )

    def _conv_norm_relu(self, x, block):
        kernel, gamma, beta = block
        x = _conv(x, kernel, padding="same")
        return ops.relu(_norm(x, gamma, beta, self.epsilon))

    def _features(self, kernel, signal=None):
        """The decoder's last feature map, cropped to `(1, rows, cols, C)`."""
        rows, cols = kernel.shape
        multiple = 2**self.built_depth
        channels = [kernel]
        if self.movement_input:
            channels.append(self._movement_scores(kernel))
        if signal is not None:
            channels.append(signal)
        image = ops.reshape(ops.stack(channels, axis=-1), (1, rows, cols, -1))
        image = ops.pad(
            image,
            [[0, 0], [0, -rows % multiple], [0, -cols % multiple], [0, 0]],
        )
        skips = []
        x = image
        for level, block in enumerate(self._encoder):
            if level > 0:
                x = ops.max_pool(x, pool_size=2, strides=2)
            x = self._conv_norm_relu(x, block)
            skips.append(x)
        for (upsample, merge), skip in zip(self._decoder, reversed(skips[:-1])):
            up_kernel, up_gamma, up_beta = upsample
            x = ops.conv_transpose(x, up_kernel, strides=2, padding="valid")
            x = ops.relu(_norm(x, up_gamma, up_beta, self.epsilon))
            x = self._conv_norm_relu(ops.concatenate([skip, x], axis=-1), merge)
        return x[:, :rows, :cols, :]

    def _scores(self, features, kernel, signal=None):
        """Normalised scores of the connections, before thresholding."""
        out_kernel, gamma, beta = self._output_block
        scores = _norm(_conv(features, out_kernel, padding="same"), gamma, beta, self.epsilon)
        scores = scores[0, :, :, 0]
        if self.magnitude_prior:
            scores = scores + self._prior_scores(kernel)
        if signal is not None:
            scores = scores + self.gradient_weight * signal
        return scores

    def _prior(self, kernel):
        """What the magnitude prior standardises: `|kernel|`."""
        return ops.abs(kernel)

    def _prior_scores(self, kernel):
        """The prior the network's scores are added to."""
        magnitude = standardise(self._prior(kernel), self.epsilon)
        if not self.movement_input:
            return magnitude
        return self._movement_scores(kernel) + self.magnitude_weight * magnitude

    def _movement_scores(self, kernel):
        """The accumulated movement, standardised (zeros before any step)."""
        return standardise(ops.cast(ops.convert_to_tensor(self.movement), kernel.dtype), self.epsilon)

    def observe(self, gate_gradient):
        """Adds one task step's `-w * dL/dw'` to `movement` (`movement_input`)."""
        self.movement.assign_add(-ops.cast(gate_gradient, self.movement.dtype))

    def _gradient_signal(self, kernel, gate_gradient):
        """`-gate_gradient` at unit variance (zeros when not given)."""
        if gate_gradient is None:
            return ops.zeros_like(kernel)
        signal = -ops.stop_gradient(ops.cast(gate_gradient, kernel.dtype))
        signal = signal / (ops.max(ops.abs(signal)) + 1e-30)
        return standardise(signal, 1e-12)

    def scores(self, kernel, gate_gradient=None):
        """The connections' scores, which the gate thresholds.

        Args:
            kernel: The 2-D kernel.
            gate_gradient: As in `call`.

        Returns:
            A tensor of the kernel's shape (one column for
            `NeuronSwitcher`): with the magnitude prior, they start as the
            standardised prior.
        """
        signal = self._gradient_signal(kernel, gate_gradient) if self.gradient_input else None
        return self._scores(self._features(kernel, signal), kernel, signal)

    def shared_scores(self, kernel, scores):
        """`scores` in the prior's own units, comparable between layers.

        The standardisation of the prior is undone: a score becomes
        `mean(prior) + std(prior) * score`. With the magnitude prior and
        the network's part still at zero this is the prior itself (`|W|`,
        or a row's norm), so one threshold over several layers starts as
        class-blinded magnitude pruning.

        Args:
            kernel: The 2-D kernel.
            scores: `scores(kernel)`.

        Returns:
            A tensor of the shape of `scores`.
        """
        prior = self._prior(kernel)
        mean, variance = ops.moments(prior, axes=list(range(len(prior.shape))))
        return mean + ops.sqrt(variance + self.epsilon) * scores

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "depth": self.depth,
                "base_channels": self.base_channels,
                "epsilon": self.epsilon,
                "magnitude_prior": self.magnitude_prior,
                "gradient_input": self.gradient_input,
                "movement_input": self.movement_input,
                "magnitude_weight": self.magnitude_weight,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
            }
        )
        return config


@keras.saving.register_keras_serializable(package="keras_switcher")
class NeuronSwitcher(UNetSwitcher):
    """Switches whole input neurons: one gate per row of the kernel.

    The neuron-level variant of Liu, Duan, Han et al. (2021, arXiv
    2110.05954): the same U-Net reads the kernel; its last feature map is
    averaged over each row (where the authors use a convolution spanning the
    row, whose size would tie the switcher to one layer width) and a 1x1
    projection, normalisation and the gate give one value per input neuron.
    The gate is returned broadcast to the kernel's shape, so a switched-off
    neuron is a zero row. With `magnitude_prior`, the standardised L2 norm of
    each row is added to the scores. Takes the arguments of `UNetSwitcher`;
    `target_sparsity` is then the fraction of input neurons switched off.

    Example:

    >>> gate = NeuronSwitcher(depth=2, target_sparsity=0.5)(keras.random.normal((8, 3)))
    >>> [float(row.max()) for row in keras.ops.convert_to_numpy(gate)].count(0.0)
    4
    """

    granularity = "neuron"
    _output_name = "neuron_gate"
    _output_kernel_size = 1

    def __init__(self, *args, movement_input=False, **kwargs):
        if movement_input:
            raise ValueError(
                "NeuronSwitcher scores input neurons, and movement scores "
                "connections: `movement_input` is for UNetSwitcher. "
                f"Received: movement_input={movement_input!r}"
            )
        super().__init__(*args, **kwargs)

    def _scores(self, features, kernel, signal=None):
        out_kernel, gamma, beta = self._output_block
        rows = ops.mean(features, axis=2, keepdims=True)  # (1, rows, 1, C)
        scores = _norm(_conv(rows, out_kernel), gamma, beta, self.epsilon)
        scores = scores[0, :, :, 0]  # (rows, 1)
        if self.magnitude_prior:
            scores = scores + standardise(self._prior(kernel), self.epsilon)
        if signal is not None:
            scores = scores + self.gradient_weight * ops.mean(signal, axis=1, keepdims=True)
        return scores

    def _prior(self, kernel):
        """What the magnitude prior standardises: each row's L2 norm."""
        return ops.sqrt(ops.sum(ops.square(kernel), axis=1, keepdims=True))

"""TFLite files with sparse weights, checked in the LiteRT interpreter."""

import contextlib
import io
import os

import keras
import numpy as np

from keras_switcher import saving
from keras_switcher._extras import require
from keras_switcher.export.stripping import strip

QUANTIZATIONS = (None, "dynamic", "float16", "int8")
# Largest difference allowed between Keras and a float32 TFLite file.
FLOAT_TOLERANCE = 1e-4
_CALIBRATION_EXAMPLES = 256
_SAMPLES = 1000


def _tensorflow():
    # The converter, and `tf.data` inputs: imported when used, so that
    # `keras_switcher.export` (and `strip`) imports without TensorFlow.
    return require("tensorflow", "keras_switcher.export.to_tflite (the TFLite converter)")


def check_convertible_backend(remedy=None):
    """Raises a `RuntimeError` on a backend the TFLite converter cannot trace.

    The converter traces the model with TensorFlow, directly or, on JAX,
    through `jax2tf`; a model of the torch backend is computed by PyTorch,
    which neither route reaches.

    Args:
        remedy: What the message tells the user to do instead; by default,
            to export a saved file on another backend.
    """
    backend = keras.backend.backend()
    if backend not in ("tensorflow", "jax"):
        remedy = remedy or (
            "Save it (`model.save('model.keras')`) and export the file on another "
            "backend: `KERAS_BACKEND=tensorflow keras-switcher export model.keras "
            "--tflite model.tflite`."
        )
        raise RuntimeError(
            "TFLite export converts a model of the TensorFlow or JAX backend; "
            f"this one runs on {backend!r}. {remedy}"
        )


def _interpreter(source, num_threads, delegates):
    interpreter = require(
        "ai_edge_litert.interpreter", "keras_switcher.export (the LiteRT interpreter)"
    )
    Interpreter, OpResolverType = interpreter.Interpreter, interpreter.OpResolverType

    resolver = OpResolverType.AUTO
    if not delegates:
        resolver = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    return Interpreter(
        num_threads=num_threads, experimental_op_resolver_type=resolver, **source
    )


def _describe(model):
    """How error messages name `model`, a path or bytes."""
    if isinstance(model, (bytes, bytearray)):
        return "the given bytes"
    return repr(os.fspath(model))


def load_interpreter(model, input_shape=None, num_threads=None):
    """Opens a single-input TFLite model in the LiteRT interpreter.

    The interpreter uses LiteRT's default XNNPACK delegate where it accepts
    the model. XNNPACK refuses sparse weights with dynamic-range
    quantization; such models run on TFLite's built-in kernels instead.
    The model is run once on zeros of its input's dtype, which prepares the
    delegate's kernels and leaves zeros in the input tensor.

    Args:
        model: Path of a `.tflite` file, or its content as bytes.
        input_shape: Shape of the input batch, e.g. `(1, 28, 28, 1)`.
            `None` keeps the model's.
        num_threads: Threads of the interpreter; `None` for its default.

    Returns:
        An `ai_edge_litert.interpreter.Interpreter` with tensors allocated.

    Example:

    >>> inputs = keras.Input((8,))
    >>> model = ks.SwitchedModel(inputs, ks.SwitchedDense(4, switcher="magnitude")(inputs))
    >>> path = to_tflite(model, "model.tflite")["path"]
    >>> interpreter = load_interpreter(path, (2, 8))
    >>> interpreter.invoke()
    >>> interpreter.get_output_details()[0]["shape"].tolist()
    [2, 4]
    """
    name = _describe(model)
    if isinstance(model, (bytes, bytearray)):
        source = dict(model_content=bytes(model))
    else:
        if not os.path.isfile(model):
            raise FileNotFoundError(f"TFLite file not found: {model!r}")
        source = dict(model_path=os.fspath(model))
    for delegates in (True, False):
        try:
            interpreter = _interpreter(source, num_threads, delegates)
        except ValueError as error:
            # LiteRT verifies the flatbuffer here: truncated or damaged files
            # fail now, before anything runs.
            raise _corrupt(name, error) from None
        details = interpreter.get_input_details()
        if len(details) != 1:
            raise ValueError(
                f"{name} has {len(details)} inputs; `load_interpreter` and "
                "`run_tflite` run single-input models."
            )
        (detail,) = details
        shape = tuple(detail["shape"] if input_shape is None else input_shape)
        dtype = np.dtype(detail["dtype"])
        try:
            if shape != tuple(detail["shape"]):
                interpreter.resize_tensor_input(detail["index"], shape)
            interpreter.allocate_tensors()
            # Unset input memory is garbage: as token ids it fails a GATHER.
            # Zeros are valid for every dtype, and for every Embedding.
            interpreter.set_tensor(detail["index"], np.zeros(shape, dtype))
            interpreter.invoke()  # Delegates prepare their kernels here.
            return interpreter
        except (RuntimeError, ValueError) as error:
            if not delegates:
                raise ValueError(
                    f"LiteRT read {name} as a TFLite model but could not run "
                    f"it on zero inputs of shape {shape} and dtype "
                    f"{dtype.name} ({type(error).__name__}: {error})."
                ) from None


def run_tflite(model, inputs, num_threads=None):
    """Runs a single-input TFLite model on a batch of inputs.

    Args:
        model: Path of a `.tflite` file, or its content as bytes.
        inputs: Array of shape `(batch, ...)` matching the model's input.
            It is cast to the input's dtype: float inputs accept any
            numbers, integer inputs (e.g. token ids) only whole numbers.
        num_threads: Threads of the interpreter; `None` for its default.

    Returns:
        A NumPy array, the model's output for the batch.

    Example:

    >>> inputs = keras.Input((8,))
    >>> model = ks.SwitchedModel(inputs, ks.SwitchedDense(4, switcher="magnitude")(inputs))
    >>> path = to_tflite(model, "model.tflite")["path"]
    >>> x = np.random.rand(3, 8).astype("float32")
    >>> outputs = run_tflite(path, x)
    >>> np.allclose(outputs, model.predict(x, verbose=0), atol=1e-5)
    True
    """
    interpreter = load_interpreter(model, np.shape(inputs), num_threads)
    (detail,) = interpreter.get_input_details()
    dtype = np.dtype(detail["dtype"])
    interpreter.set_tensor(detail["index"], _cast(inputs, dtype, "inputs"))
    try:
        interpreter.invoke()
    except RuntimeError as error:
        hint = ""
        if dtype.kind in "iu":
            hint = " Check that the ids are within the range the model accepts."
        raise ValueError(
            f"LiteRT failed to run {_describe(model)} on the given "
            f"{dtype.name} inputs ({type(error).__name__}: {error}).{hint}"
        ) from None
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def _corrupt(name, error):
    """The error for a file that LiteRT cannot read as a TFLite model."""
    return ValueError(
        f"Cannot read {name} as a TFLite model ({type(error).__name__}: "
        f"{error}): the file is truncated, corrupt or not a TFLite file. "
        "Export it again."
    )


def _cast(inputs, dtype, argument):
    """`inputs` as an array of `dtype`, refusing casts that change values.

    Float inputs are cast as they are (e.g. `uint8` images). For integer or
    bool inputs a cast that changes a value (`0.5`, `NaN`, an id beyond
    the dtype's range) would silently feed the model other ids.
    """
    array = np.asarray(inputs)
    with np.errstate(invalid="ignore"):  # NaN is refused below.
        cast = array.astype(dtype)
    if dtype.kind in "iub" and not np.array_equal(cast, array):
        changed = array[cast != array][0].item()
        raise ValueError(
            f"The model takes {dtype.name} inputs (e.g. token ids), and "
            f"casting the given {array.dtype.name} inputs to {dtype.name} "
            f"changes their values. Received: `{argument}` holding {changed!r}"
        )
    return cast


def _examples(data, limit, dtype, argument):
    """Up to `limit` input examples of `dtype`, from an array or a dataset."""
    tf = _tensorflow()
    if isinstance(data, tf.data.Dataset):
        batches = []
        count = 0
        for element in data:
            inputs = element[0] if isinstance(element, (tuple, list)) else element
            batches.append(np.asarray(inputs))
            count += len(batches[-1])
            if count >= limit:
                break
        data = np.concatenate(batches) if batches else np.zeros((0,))
    data = np.asarray(data)
    if data.ndim == 0 or len(data) == 0:
        raise ValueError(
            "Received no input examples: pass an array of shape "
            "(examples, ...) or a dataset of input batches."
        )
    return _cast(data[:limit], dtype, argument)


def _random_inputs(model, count):
    """Random inputs of the model's input shape and dtype.

    Floats are uniform in `[0, 1)`. Integers are ids uniform in `[0, n)`,
    `n` the smallest `input_dim` of the model's `Embedding` layers: valid
    for each of them. Without an `Embedding` the valid range is unknown,
    and the ids are 0 and 1, which any lookup of two or more entries (and
    a bool input) accepts.
    """
    shape = (count,) + tuple(model.inputs[0].shape[1:])
    dtype = np.dtype(model.inputs[0].dtype)
    random = np.random.RandomState(0)
    if dtype.kind == "f":
        return random.rand(*shape).astype(dtype)
    embeddings = [layer for layer in model.layers if isinstance(layer, keras.layers.Embedding)]
    sizes = [layer.input_dim for layer in embeddings]
    return random.randint(0, min(sizes, default=2), shape).astype(dtype)


def _converter(plain, quantize, representative):
    tf = _tensorflow()
    converter = tf.lite.TFLiteConverter.from_keras_model(plain)
    converter.optimizations = []
    if quantize != "float16":
        # Sparse encoding of float16 weights gives NaN outputs (TF 2.21).
        converter.optimizations.append(tf.lite.Optimize.EXPERIMENTAL_SPARSITY)
    if quantize is not None:
        converter.optimizations.append(tf.lite.Optimize.DEFAULT)
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantize == "int8":
        converter.representative_dataset = lambda: ([example[None]] for example in representative)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return converter


def _layer_sparsity(plain):
    rows = []
    for layer in plain.layers:
        if layer.__class__.__name__ == "Dense":
            kernel = np.asarray(layer.kernel)
            rows.append(
                {
                    "name": layer.name,
                    "shape": tuple(kernel.shape),
                    "sparsity": float((kernel == 0).mean()),
                }
            )
    return rows


def to_tflite(
    model,
    path,
    quantize=None,
    representative_data=None,
    sample_inputs=None,
    shrink=False,
):
    """Writes a switched model as a TFLite file with sparse weights.

    The model is stripped (`strip`), converted with TFLite's sparse weight
    encoding, and checked in the LiteRT interpreter against the Keras
    model on sample inputs before the file appears at `path`: the file is
    written to a temporary name and renamed, so a failed export leaves
    nothing at `path` and a file already there stays as it was. TFLite runs
    a sparse fully connected kernel only for weights switched in 1x4 blocks
    (float) or 1x16 blocks (int8) along the input axis (see
    `UNetSwitcher(block_size=...)`); other zeros only make the file smaller.
    Float16 weights are stored dense: TFLite's sparse encoding of them gives
    NaN outputs (TensorFlow 2.21).

    Args:
        model: A built functional or `Sequential` model with `SwitchedDense`
            layers.
        path: Destination, ending in `.tflite`, in an existing folder.
        quantize: `None` (float32 weights), `"dynamic"` (int8 weights, float
            activations), `"float16"` (float16 weights) or `"int8"` (int8
            weights and activations, float outputs, inputs of the model's
            dtype: floats or integer ids; needs `representative_data`).
        representative_data: Inputs for calibrating int8 activations: an
            array `(examples, ...)` or a `tf.data.Dataset` of input batches
            or `(inputs, labels)` batches. Up to 256 examples are used, cast
            to the model's input dtype (integer inputs take whole numbers).
        sample_inputs: Inputs on which the file is checked against Keras,
            in the same forms; up to 1,000 examples. Defaults to
            `representative_data`, else to 256 random inputs: uniform in
            `[0, 1)` for float inputs; for integer inputs, ids valid for
            every `Embedding` layer of the model, or 0 and 1 without one.
        shrink: Whether to remove dead units first (see `strip`); shrunk
            layers keep a multiple of 4 units (16 for int8).

    Returns:
        A dict: `path`, `bytes` (file size), `quantize`, `layers` (one dict
        per `Dense` layer of the stripped model: `name`, `shape`,
        `sparsity` counted from its weights), `samples`, `max_abs_error`
        (largest difference between the outputs of Keras and LiteRT) and
        `argmax_agreement` (fraction of samples whose largest output is the
        same).

    Raises:
        RuntimeError: On the torch backend, which the converter cannot
            trace (`check_convertible_backend`).

    Example:

    >>> model = ks.applications.LeNet300100(
    ...     input_shape=(8, 8, 1), switcher=ks.MagnitudeSwitcher(block_size=4), target_sparsity=0.9)
    >>> images = np.random.rand(16, 8, 8, 1).astype("float32")
    >>> report = to_tflite(model, "lenet.tflite", sample_inputs=images)
    >>> report["max_abs_error"] < 1e-5
    True
    >>> [layer["name"] for layer in report["layers"]]
    ['fc1', 'fc2', 'predictions']
    """
    path = saving.check_output_path(path, ".tflite")
    check_convertible_backend()
    _tensorflow()
    # It checks the file in the LiteRT interpreter.
    require("ai_edge_litert", "keras_switcher.export.to_tflite (the LiteRT interpreter)")
    if quantize not in QUANTIZATIONS:
        raise ValueError(
            f"Received an invalid value for `quantize`, expected one of "
            f"{QUANTIZATIONS}. Received: quantize={quantize!r}"
        )
    if quantize == "int8" and representative_data is None:
        raise ValueError(
            "quantize='int8' needs `representative_data` (a few hundred "
            "typical inputs) to calibrate the activations. "
            "Received: representative_data=None"
        )
    plain = strip(model, shrink=shrink, unit_multiple=16 if quantize == "int8" else 4)
    dtype = np.dtype(model.inputs[0].dtype)
    representative = None
    if representative_data is not None:
        representative = _examples(
            representative_data, _CALIBRATION_EXAMPLES, dtype, "representative_data"
        )
    if sample_inputs is not None:
        samples = _examples(sample_inputs, _SAMPLES, dtype, "sample_inputs")
    elif representative is not None:
        samples = representative
    else:
        samples = _random_inputs(model, _CALIBRATION_EXAMPLES)
    with contextlib.redirect_stdout(io.StringIO()):  # The converter's chatter.
        content = _converter(plain, quantize, representative).convert()
    expected = np.asarray(model(samples, training=False))
    actual = run_tflite(content, samples)
    error = float(np.max(np.abs(actual - expected)))
    if not np.isfinite(error) or (quantize is None and error > FLOAT_TOLERANCE):
        raise RuntimeError(
            f"The TFLite model's outputs differ from the Keras model's by "
            f"{error:.3g} (allowed: {FLOAT_TOLERANCE} for float32, finite "
            f"when quantized); {path!r} was not written."
        )
    saving.write_atomic(path, content)
    return {
        "path": path,
        "bytes": len(content),
        "quantize": quantize,
        "layers": _layer_sparsity(plain),
        "samples": len(samples),
        "max_abs_error": error,
        "argmax_agreement": float(
            np.mean(np.argmax(actual, axis=-1) == np.argmax(expected, axis=-1))
        ),
    }


def format_export_report(export_report):
    """Formats the dict returned by `to_tflite` as text.

    Args:
        export_report: A dict returned by `to_tflite`.

    Returns:
        A multi-line string: the file, its size, per-layer sparsity and
        the agreement with Keras.
    """
    lines = [
        f"Wrote {export_report['path']} ({export_report['bytes']:,} bytes, "
        f"weights: {export_report['quantize'] or 'float32'})",
        f"{'layer':<16}{'shape':>14}{'sparsity':>10}",
    ]
    for row in export_report["layers"]:
        shape = "x".join(str(n) for n in row["shape"])
        lines.append(f"{row['name']:<16}{shape:>14}{row['sparsity']:>10.2%}")
    lines.append(
        f"Against Keras on {export_report['samples']} inputs: largest "
        f"difference {export_report['max_abs_error']:.3g}, same argmax on "
        f"{export_report['argmax_agreement']:.2%}"
    )
    return "\n".join(lines)

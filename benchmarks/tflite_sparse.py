"""File size and LiteRT latency of sparse heads, as ratios to the dense model.

Two heads: LeNet-300-100 (784-300-100-10) and a VGG16-style head
(512-4096-4096-10). Each is exported dense (plain `Dense`, no sparse
encoding), switched with scattered gates, switched with 1x4 block gates,
and block-gated then shrunk; int8 rows compare a dense int8 file with a
1x16 block-gated one. Switched variants take their gates from a light
U-Net with the magnitude prior at the target sparsity, untrained: the
layout of the zeros, not the accuracy, sets size and speed. Latency is
the median of single-example invocations on one thread, all variants
timed in this process.

    python benchmarks/tflite_sparse.py [--sparsity 0.9] [--runs 200]
"""

import argparse
import contextlib
import io
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_switcher import SwitchedDense, SwitchedModel, UNetSwitcher, export, switchers  # noqa: E402
from keras_switcher.applications import LeNet300100  # noqa: E402

from _common import machine, write_results  # noqa: E402

HEADS = {
    "LeNet-300-100": lambda **kw: LeNet300100(**kw),
    "VGG16 head 512-4096-4096-10": lambda **kw: vgg_head(**kw),
}


def vgg_head(switched=True, switcher=None, target_sparsity=None):
    """512-4096-4096-10: every layer switched at `target_sparsity`, or plain `Dense`."""
    inputs = keras.Input((512,))
    x = inputs
    for units, name in ((4096, "fc1"), (4096, "fc2"), (10, "predictions")):
        activation = "softmax" if name == "predictions" else "relu"
        if switched:
            # Each layer gets its own copy of the switcher's setting.
            overrides = {} if target_sparsity is None else {"target_sparsity": target_sparsity}
            layer = SwitchedDense(
                units,
                name=name,
                activation=activation,
                switcher=switchers.fresh(switcher, **overrides),
            )
        else:
            layer = keras.layers.Dense(units, name=name, activation=activation)
        x = layer(x)
    return (SwitchedModel if switched else keras.Model)(inputs, x)


def dense_file(model, path, quantize, calibration):
    """Converts a plain model without sparse encoding (the baseline)."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantize == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([x[None]] for x in calibration)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    with contextlib.redirect_stdout(io.StringIO()):
        content = converter.convert()
    with open(path, "wb") as file:
        file.write(content)
    return len(content)


def latency(path, input_shape, runs):
    interpreter = export.load_interpreter(path, (1,) + input_shape, num_threads=1)
    index = interpreter.get_input_details()[0]["index"]
    interpreter.set_tensor(index, np.random.RandomState(0).rand(1, *input_shape).astype("float32"))
    for _ in range(10):
        interpreter.invoke()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        interpreter.invoke()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def switched(build, sparsity, block_size):
    keras.utils.set_random_seed(0)
    return build(
        switcher=UNetSwitcher(
            depth=3, base_channels=4, gate="binary", magnitude_prior=True, block_size=block_size
        ),
        target_sparsity=sparsity,
    )


def measure_head(name, build, args, folder):
    keras.utils.set_random_seed(0)
    plain = build(switched=False)
    input_shape = tuple(plain.inputs[0].shape[1:])
    calibration = np.random.RandomState(1).rand(64, *input_shape).astype("float32")
    variants = []
    for quantize in (None, "int8"):
        path = os.path.join(folder, f"dense_{quantize}.tflite")
        size = dense_file(plain, path, quantize, calibration)
        variants.append(("dense", quantize, path, size, 0.0))
        block = 16 if quantize == "int8" else 4
        kinds = [(f"switched, 1x{block} blocks", block, False)]
        if quantize is None:
            kinds = [("switched, scattered", 1, False)] + kinds + [("switched, 1x4 blocks, shrunk", 4, True)]
        for label, block_size, shrink in kinds:
            model = switched(build, args.sparsity, block_size)
            path = os.path.join(folder, f"{len(variants)}.tflite")
            report = export.to_tflite(
                model,
                path,
                quantize=quantize,
                representative_data=calibration if quantize else None,
                sample_inputs=calibration,
                shrink=shrink,
            )
            kept = sum((1 - row["sparsity"]) * np.prod(row["shape"]) for row in report["layers"])
            total = sum(np.prod(layer.kernel.shape) for layer in model.switched_layers)
            variants.append((label, quantize, path, report["bytes"], 1 - kept / total))
            del model
    rows = []
    baselines = {}
    for label, quantize, path, size, sparsity in variants:
        seconds = latency(path, input_shape, args.runs)
        if label == "dense":
            baselines[quantize] = (size, seconds)
        dense_size, dense_seconds = baselines[quantize]
        rows.append(
            {
                "head": name,
                "variant": label,
                "weights": quantize or "float32",
                "sparsity": sparsity,
                "bytes": size,
                "size_vs_dense": dense_size / size,
                "latency_ms": seconds * 1e3,
                "speedup_vs_dense": dense_seconds / seconds,
            }
        )
        print(rows[-1], flush=True)
    return rows


def markdown(rows, args):
    lines = [
        f"Sparse heads in LiteRT, target sparsity {args.sparsity:.0%} of the switched "
        "layers' connections (counted from the exported weights, shrunk rows over the "
        f"original connections); median of {args.runs} single-example invocations on one "
        "thread. Ratios against the dense file of the same head and weight type, "
        "measured in the same run. CPU (2 cores).",
        "",
        "| head | variant | weights | sparsity | size | x smaller | latency ms | x faster |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['head']} | {row['variant']} | {row['weights']} | "
            f"{row['sparsity']:.1%} | {row['bytes'] / 2**20:.2f} MiB | "
            f"{row['size_vs_dense']:.1f}x | {row['latency_ms']:.3f} | "
            f"{row['speedup_vs_dense']:.1f}x |"
        )
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sparsity", type=float, default=0.9)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    rows = []
    for name, build in HEADS.items():
        with tempfile.TemporaryDirectory() as folder:
            rows.extend(measure_head(name, build, args, folder))
    write_results(
        "tflite_sparse",
        {"machine": machine(), "sparsity": args.sparsity, "runs": args.runs, "rows": rows},
        markdown(rows, args),
    )


if __name__ == "__main__":
    main()

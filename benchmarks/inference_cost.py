"""What inference costs a switched model: `predict` against the stripped model.

In one process, on the Keras backend in use, it times (median of
`--repeats` calls after a warm-up) `predict_on_batch` and `predict` of one
batch for:

- `stripped`: `keras_switcher.export.strip(model)`, plain `Dense` layers
  with `kernel * gate`, the baseline of every ratio;
- `switched`: the `SwitchedModel` itself, whose `predict` uses the serving
  gates (computed once per change of the weights);
- `switcher every call`: `model(x, training=False)` outside `predict`, which
  runs every switcher on every call (what `predict` cost before the
  serving gates).

Models: one 512-unit `SwitchedDense` on 512 inputs (the issue's case) and
LeNet-300-100, each with the default U-Net and with `"magnitude"`. Writes
`results/inference_cost_BACKEND.json` and `.md`.

    python benchmarks/inference_cost.py --batch-size 32 --repeats 50
"""

import argparse

import keras
import numpy as np

from _common import machine, median_seconds, write_results
from keras_switcher import SwitchedDense, SwitchedModel, applications
from keras_switcher.export import strip


def wide_layer(switcher):
    inputs = keras.Input((512,))
    return SwitchedModel(inputs, SwitchedDense(512, switcher=switcher)(inputs), name="dense512")


def lenet(switcher):
    return applications.LeNet300100(switcher=switcher, target_sparsity=0.9)


MODELS = {"512x512": (wide_layer, (512,)), "lenet300100": (lenet, (28, 28, 1))}


def time_model(builder, input_shape, switcher, batch_size, repeats):
    keras.utils.set_random_seed(0)
    model = builder(switcher)
    x = np.random.RandomState(0).rand(batch_size, *input_shape).astype("float32")
    plain = strip(model)
    np.testing.assert_allclose(model.predict_on_batch(x), plain.predict_on_batch(x), atol=1e-4)
    times = {
        "stripped": median_seconds(lambda: plain.predict_on_batch(x), repeats),
        "switched": median_seconds(lambda: model.predict_on_batch(x), repeats),
        "stripped predict": median_seconds(lambda: plain.predict(x, verbose=0), repeats),
        "switched predict": median_seconds(lambda: model.predict(x, verbose=0), repeats),
        "switcher every call": median_seconds(lambda: model(x, training=False), repeats),
    }
    switcher_params = sum(layer.switcher.count_params() for layer in model.switched_layers)
    return {key: value * 1e3 for key, value in times.items()}, switcher_params


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--switchers", nargs="+", default=["unet", "magnitude"])
    args = parser.parse_args()
    backend = keras.backend.backend()
    rows = []
    for model_name, (builder, input_shape) in MODELS.items():
        for switcher in args.switchers:
            milliseconds, switcher_params = time_model(builder, input_shape, switcher, args.batch_size, args.repeats)
            rows.append({"model": model_name, "switcher": switcher, "switcher_params": switcher_params,
                         "milliseconds": milliseconds})
    lines = [
        f"# Inference cost of a switched model ({backend}, batch {args.batch_size})",
        "",
        f"Median of {args.repeats} calls after a warm-up, in one process; ratios against "
        "the stripped model. Goal: `predict` of the switched model <= 1.5x the stripped one.",
        f"Command: `KERAS_BACKEND={backend} python benchmarks/inference_cost.py "
        f"--batch-size {args.batch_size} --repeats {args.repeats}`",
        "",
        "| model | switcher | switcher params | stripped `predict_on_batch` ms | switched | ratio "
        "| stripped `predict` ms | switched | ratio | switcher every call ms | ratio |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        ms = row["milliseconds"]
        lines.append(
            f"| {row['model']} | {row['switcher']} | {row['switcher_params']:,} "
            f"| {ms['stripped']:.2f} | {ms['switched']:.2f} | {ms['switched'] / ms['stripped']:.2f}x "
            f"| {ms['stripped predict']:.2f} | {ms['switched predict']:.2f} "
            f"| {ms['switched predict'] / ms['stripped predict']:.2f}x "
            f"| {ms['switcher every call']:.2f} | {ms['switcher every call'] / ms['stripped']:.1f}x |"
        )
    results = {"backend": backend, "batch_size": args.batch_size, "repeats": args.repeats,
               "machine": machine(), "rows": rows}
    write_results(f"inference_cost_{backend}", results, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

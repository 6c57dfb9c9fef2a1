"""Seconds per epoch of LeNet-300-100 on the TensorFlow, JAX and PyTorch backends.

For each backend a fresh process (Keras picks its backend once) trains, on
full MNIST at batch 128, the switched LeNet-300-100 in the `recommended`
setting (its U-Net switcher, then `switcher="magnitude"`) and the same
network with plain `Dense` layers, and reports each one's median epoch (the
first, compiling, epoch left out) and the ratios to dense, all measured in
that process. The data are NumPy arrays, fed the same way on every backend.
Writes `benchmarks/results/backend_speed.json` and `.md`.

    python benchmarks/backend_speed.py [--epochs 4] [--backends tensorflow jax torch]
"""

import argparse
import json
import os
import subprocess
import sys

BACKENDS = ("tensorflow", "jax", "torch")
RUNS = (
    ("recommended", dict(switched=True)),
    ("magnitude", dict(switched=True, switcher="magnitude")),
    ("dense", dict(switched=False)),
)


def measure(epochs, data_dir):
    """Runs in a child process, on the backend of KERAS_BACKEND."""
    import keras

    from _common import EpochTimer
    from keras_switcher import datasets, training

    images, labels = datasets.arrays("mnist", "train", data_dir)
    images = images.astype("float32") / 255.0
    result = {"backend": keras.backend.backend(), "examples": len(images)}
    for name, kwargs in RUNS:
        keras.utils.set_random_seed(0)
        model = training.build_model("lenet300100", images.shape[1:], epochs, setting="recommended", **kwargs)
        timer = EpochTimer()
        callbacks = [timer] + (training.training_callbacks("recommended", epochs) if kwargs["switched"] else [])
        model.fit(images, labels, batch_size=128, epochs=epochs, verbose=0, callbacks=callbacks)
        result[f"{name}_seconds"] = timer.steady_seconds()
        result[f"{name}_first_epoch_seconds"] = timer.seconds[0]
    for name in ("recommended", "magnitude"):
        result[f"{name}_ratio"] = result[f"{name}_seconds"] / result["dense_seconds"]
    print(json.dumps(result))


def main():
    from _common import SHARED_DATA, machine, write_results

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--data-dir", default=os.path.join(SHARED_DATA, "mnist"))
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    args = parser.parse_args()
    rows = []
    for backend in args.backends:
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
        output = subprocess.run(
            [sys.executable, __file__, "--child", str(args.epochs), args.data_dir],
            env=env, capture_output=True, text=True, check=True,
        ).stdout
        rows.append(json.loads(output.strip().splitlines()[-1]))
    lines = [
        "# Seconds per epoch on each backend",
        "",
        f"LeNet-300-100, full MNIST ({rows[0]['examples']:,} images), batch 128, "
        f"{args.epochs} epochs per model; median epoch, first (compiling) epoch left out. "
        "`recommended`: the `recommended` setting (U-Net switcher); `magnitude`: the same "
        "setting with `switcher=\"magnitude\"`; `dense`: the same network with plain "
        "`Dense` layers; all three trained in the same process, ratios to dense. "
        f"Machine: {machine()['cpus']} CPUs, no GPU.",
        "",
        "| backend | recommended s/epoch | ratio | magnitude s/epoch | ratio | dense s/epoch "
        "| first epoch recommended / magnitude / dense (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['backend']} | {row['recommended_seconds']:.2f} | {row['recommended_ratio']:.2f}x "
            f"| {row['magnitude_seconds']:.2f} | {row['magnitude_ratio']:.2f}x | {row['dense_seconds']:.2f} "
            f"| {row['recommended_first_epoch_seconds']:.1f} / {row['magnitude_first_epoch_seconds']:.1f}"
            f" / {row['dense_first_epoch_seconds']:.1f} |"
        )
    write_results(
        "backend_speed",
        {"machine": machine(), "epochs": args.epochs, "runs": rows},
        "\n".join(lines) + "\n",
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        measure(int(sys.argv[2]), sys.argv[3])
    else:
        main()

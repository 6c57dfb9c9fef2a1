"""Seconds per epoch of LeNet-300-100 on the TensorFlow and JAX backends.

For each backend a fresh process (Keras picks its backend once) trains, on
full MNIST at batch 128, the switched LeNet-300-100 in the `recommended`
setting and the same network with plain `Dense` layers, and reports each
one's median epoch (the first, compiling, epoch left out) and their ratio,
both measured in that process. The data are NumPy arrays, fed the same way
on both backends. Writes `benchmarks/results/backend_speed.json` and `.md`.

    python benchmarks/backend_speed.py [--epochs 4] [--data-dir ../shared/data/mnist]
"""

import argparse
import json
import os
import subprocess
import sys

BACKENDS = ("tensorflow", "jax")


def measure(epochs, data_dir):
    """Runs in a child process, on the backend of KERAS_BACKEND."""
    import keras

    from _common import EpochTimer
    from keras_switcher import datasets, training

    images, labels = datasets.arrays("mnist", "train", data_dir)
    images = images.astype("float32") / 255.0
    result = {"backend": keras.backend.backend(), "examples": len(images)}
    for name, switched in (("switched", True), ("dense", False)):
        keras.utils.set_random_seed(0)
        model = training.build_model(
            "lenet300100", images.shape[1:], epochs, setting="recommended", switched=switched
        )
        timer = EpochTimer()
        callbacks = [timer] + (training.training_callbacks("recommended", epochs) if switched else [])
        model.fit(images, labels, batch_size=128, epochs=epochs, verbose=0, callbacks=callbacks)
        result[f"{name}_seconds"] = timer.steady_seconds()
        result[f"{name}_first_epoch_seconds"] = timer.seconds[0]
    result["ratio"] = result["switched_seconds"] / result["dense_seconds"]
    print(json.dumps(result))


def main():
    from _common import SHARED_DATA, machine, write_results

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--data-dir", default=os.path.join(SHARED_DATA, "mnist"))
    args = parser.parse_args()
    rows = []
    for backend in BACKENDS:
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
        output = subprocess.run(
            [sys.executable, __file__, "--child", str(args.epochs), args.data_dir],
            env=env, capture_output=True, text=True, check=True,
        ).stdout
        rows.append(json.loads(output.strip().splitlines()[-1]))
    lines = [
        "# Seconds per epoch: TensorFlow and JAX",
        "",
        f"LeNet-300-100, full MNIST ({rows[0]['examples']:,} images), batch 128, "
        f"{args.epochs} epochs per model; median epoch, first (compiling) epoch left out. "
        "`switched`: the `recommended` setting; `dense`: the same network with plain "
        "`Dense` layers, trained in the same process. "
        f"Machine: {machine()['cpus']} CPUs, no GPU.",
        "",
        "| backend | switched s/epoch | dense s/epoch | ratio | first epoch switched / dense (s) |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['backend']} | {row['switched_seconds']:.2f} | {row['dense_seconds']:.2f} | "
            f"{row['ratio']:.2f}x | {row['switched_first_epoch_seconds']:.1f} / "
            f"{row['dense_first_epoch_seconds']:.1f} |"
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

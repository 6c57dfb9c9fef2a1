"""The shipped fine-tuned model: LeNet-300-100 trained on digits 0-4, made sparse on 5-9.

Runs `fine_tune.py`'s pipeline once (seed 0, the `fine_tune` setting's rule,
`--method`) and saves `saved_models/NAME.keras` and `NAME.tflite` (float32,
TFLite's sparse encoding), then measures both files' accuracy on the
target classes' test images and the LiteRT latency against the dense
fine-tuned model (median of single-example invocations, one thread, in
turn over `--rounds` rounds). Writes `saved_models/NAME.json`.

    python benchmarks/fine_tuned_model.py --method movement --target 0.98
"""

import argparse
import json
import os
import statistics
import tempfile

import numpy as np

import fine_tune
import keras_switcher as ks
from _common import REPO, machine
from tflite_sparse import dense_file, latency


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="movement", choices=fine_tune.METHODS[1:])
    parser.add_argument("--target", type=float, default=0.98)
    parser.add_argument("--name", default="lenet300100_digits0-4_to_5-9")
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parsed = parser.parse_args()
    args = fine_tune.parse_args(["--out", tempfile.mkdtemp(), "--seeds", "0"])
    data = fine_tune.load(args)
    pretrained = fine_tune.pretrain(args, data, seed=0)
    dense_row, dense = fine_tune.run("dense", 0.0, 0, pretrained, data, args)
    row, model = fine_tune.run(parsed.method, parsed.target, 0, pretrained, data, args)
    folder = os.path.join(REPO, "saved_models")
    keras_path = os.path.join(folder, f"{parsed.name}.keras")
    tflite_path = os.path.join(folder, f"{parsed.name}.tflite")
    model.save(keras_path)
    exported = ks.export.to_tflite(model, tflite_path)
    _, (test_x, test_y) = data
    test_x, test_y = fine_tune.split(test_x, test_y, args.target_classes)
    test_x = test_x.astype("float32")
    tflite_accuracy = float((ks.export.run_tflite(tflite_path, test_x).argmax(-1) == test_y).mean())
    with tempfile.TemporaryDirectory() as scratch:
        dense_path = os.path.join(scratch, "dense.tflite")
        dense_bytes = dense_file(dense, dense_path, None, None)
        seconds = {"dense": [], "sparse": []}
        for _ in range(parsed.rounds):
            seconds["dense"].append(latency(dense_path, (28, 28, 1), parsed.runs))
            seconds["sparse"].append(latency(tflite_path, (28, 28, 1), parsed.runs))
    card = {
        "machine": machine(),
        "data": "MNIST (original IDX files): pretrained on the training images of digits 0-4, "
                "fine-tuned on those of 5-9, tested on the 4,861 test images of 5-9",
        "command": f"python benchmarks/fine_tuned_model.py --method {parsed.method} --target {parsed.target}",
        "method": parsed.method,
        "keras_accuracy": row["accuracy"] / 100,
        "tflite_accuracy": tflite_accuracy,
        "dense_fine_tuned_accuracy": dense_row["accuracy"] / 100,
        "sparsity": ks.report(model),
        "keras_bytes": os.path.getsize(keras_path),
        "tflite_bytes": os.path.getsize(tflite_path),
        "dense_tflite_bytes": dense_bytes,
        "latency_ms": {name: statistics.median(values) * 1e3 for name, values in seconds.items()},
        "export": {key: value for key, value in exported.items() if isinstance(value, (int, float, str))},
    }
    with open(os.path.join(folder, f"{parsed.name}.json"), "w") as file:
        json.dump(card, file, indent=2, default=float)
    print(json.dumps({k: card[k] for k in ("keras_accuracy", "tflite_accuracy", "dense_fine_tuned_accuracy",
                                           "keras_bytes", "tflite_bytes", "dense_tflite_bytes", "latency_ms")},
                     indent=2))
    assert np.isclose(tflite_accuracy, row["accuracy"] / 100, atol=1e-3), "TFLite disagrees with Keras"


if __name__ == "__main__":
    main()

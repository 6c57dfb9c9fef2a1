"""Helpers shared by the benchmark scripts: timing, paths, result files."""

import json
import os
import platform
import statistics
import time

import keras

from keras_switcher import datasets
from keras_switcher.comparison import EpochTimer  # noqa: F401  (for the scripts)
from keras_switcher.datasets import cifar
from keras_switcher.training import TASK_OPTIMIZERS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_DATA = os.path.join(os.path.dirname(REPO), "shared", "data")
RESULTS = os.path.join(REPO, "benchmarks", "results")
# The MNIST models of the benchmarks: builder name, and the name in tables.
MNIST_MODELS = {"lenet300100": "LeNet-300-100", "lenet5": "LeNet-5-Caffe"}
# The task optimisers of `TASK_OPTIMIZERS` as result tables name them.
_OPTIMIZER_LABELS = {
    "adam": "Adam {:g}",
    "momentum": "SGD {:g}, Nesterov momentum 0.9, weight decay 5e-4",
}


def task_optimizer_label(name=None, learning_rate=None):
    """A run's task optimiser and rate, for result tables.

    Args:
        name: A key of `TASK_OPTIMIZERS`; `None` is Adam, the `recommended`
            setting's (and that of every result written before the choice).
        learning_rate: The run's rate; `None` is the optimiser's default.

    Returns:
        A string such as `"Adam 0.001"`.
    """
    name = name or "adam"
    return _OPTIMIZER_LABELS[name].format(learning_rate or TASK_OPTIMIZERS[name][1])


def cifar10_test_arrays(data_dir=SHARED_DATA):
    """The first 1,000 CIFAR-10 test images at hand, normalised as for training.

    Args:
        data_dir: Folder holding `cifar10-test-first1000/`.

    Returns:
        `(images, labels)`: float32 `(1000, 32, 32, 3)` and int64 `(1000,)`.
    """
    path = os.path.join(data_dir, "cifar10-test-first1000", "test_batch_first1000.bin")
    images, labels = cifar.read_records(path)
    mean, std = datasets.CHANNEL_STATISTICS["cifar10"]
    return (images.astype("float32") / 255.0 - mean) / std, labels[:, 0].astype("int64")


def median_seconds(function, repeats):
    """Median wall-clock seconds of `repeats` calls, after one warm-up call."""
    function()  # Traces and warms up.
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def machine():
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "keras": keras.__version__,
    }


def write_results(name, results, markdown):
    """Writes `results/NAME.json` and `results/NAME.md`."""
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, f"{name}.json"), "w") as file:
        json.dump(results, file, indent=2)
    with open(os.path.join(RESULTS, f"{name}.md"), "w") as file:
        file.write(markdown)
    print(markdown)

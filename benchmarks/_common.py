"""Helpers shared by the benchmark scripts: timing, paths, result files."""

import json
import os
import platform
import statistics
import time

import keras

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_DATA = os.path.join(os.path.dirname(REPO), "shared", "data")
RESULTS = os.path.join(REPO, "benchmarks", "results")


class EpochTimer(keras.callbacks.Callback):
    """Records the wall-clock seconds of every epoch."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)

    def steady_seconds(self):
        """Median epoch time, leaving out the first (tracing) epoch when possible."""
        return statistics.median(self.seconds[1:] or self.seconds)


def plain_decay(epochs):
    """`MultiStepDecay`'s schedule (x0.1 at 50% and 75%) for models without switchers."""
    milestones = {round(0.5 * epochs), round(0.75 * epochs)}
    return keras.callbacks.LearningRateScheduler(
        lambda epoch, rate: rate * 0.1 if epoch in milestones else rate
    )


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

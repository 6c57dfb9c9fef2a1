"""Helpers shared by the benchmark scripts: timing, paths, result files."""

import json
import os
import platform
import statistics
import time

import keras

from keras_switcher.comparison import EpochTimer  # noqa: F401  (for the scripts)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_DATA = os.path.join(os.path.dirname(REPO), "shared", "data")
RESULTS = os.path.join(REPO, "benchmarks", "results")


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

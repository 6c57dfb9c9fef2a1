"""LiteRT latency of the shipped `.tflite` files against a dense LeNet-300-100.

Times `saved_models/lenet300100_mnist.tflite` (scattered zeros) and
`saved_models/lenet300100_mnist_blocks.tflite` (1x4 blocks) against a plain
LeNet-300-100 exported without sparse encoding, all in this process: the
median of single-example invocations on one thread, taken `--rounds` times
in turn over the files, and the median of the rounds. Writes
`results/saved_models_latency.json` and `.md`.

    python benchmarks/saved_models_latency.py [--runs 500] [--rounds 5]
"""

import argparse
import os
import statistics
import tempfile

from keras_switcher.applications import LeNet300100

from _common import REPO, machine, write_results
from tflite_sparse import dense_file, latency

FILES = {
    "scattered": "lenet300100_mnist.tflite",
    "1x4 blocks": "lenet300100_mnist_blocks.tflite",
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        paths = {"dense": os.path.join(folder, "dense.tflite")}
        dense_file(LeNet300100(switched=False), paths["dense"], None, None)
        paths.update({name: os.path.join(REPO, "saved_models", file) for name, file in FILES.items()})
        seconds = {name: [] for name in paths}
        for _ in range(args.rounds):
            for name, path in paths.items():
                seconds[name].append(latency(path, (28, 28, 1), args.runs))
        sizes = {name: os.path.getsize(path) for name, path in paths.items()}
    dense = statistics.median(seconds["dense"])
    rows = [
        {"file": FILES.get(name, "dense, no sparse encoding"), "layout": name, "bytes": sizes[name],
         "latency_ms": statistics.median(values) * 1e3,
         "speedup_vs_dense": dense / statistics.median(values)}
        for name, values in seconds.items()
    ]
    lines = [
        "LiteRT, float32, one thread, median of "
        f"{args.rounds} rounds of the median of {args.runs} single-example invocations; "
        f"CPU ({machine()['cpus']} cores).",
        "",
        "| file | layout | size | latency ms | x faster than dense |",
        "|---|---|---|---|---|",
    ] + [
        f"| {r['file']} | {r['layout']} | {r['bytes']:,} bytes | {r['latency_ms']:.4f} | "
        f"{r['speedup_vs_dense']:.2f}x |"
        for r in rows
    ]
    write_results("saved_models_latency", {"machine": machine(), "args": vars(args), "rows": rows},
                  "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

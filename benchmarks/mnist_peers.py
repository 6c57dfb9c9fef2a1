"""Side by side on full MNIST: the switcher against its peers.

Every run uses the same data, epochs, batch size, task optimiser (the
`recommended` setting's Adam 1e-3, or `--task-optimizer momentum`, x0.1 at
50% and 75% of the epochs) and sparsity schedule (cubic ramp from 0
to the target over the first half of the epochs, then training with the
structure held):

- `dense`: plain `Dense` layers;
- `switcher (recommended)`: the `recommended` setting at each target;
- `neuron switcher`: `NeuronSwitcher` (one gate per input neuron) at the
  smallest target;
- `magnitude class-blinded` / `class-uniform`: gradual magnitude pruning of
  `keras_switcher.baselines` (Stier et al.), masks fixed after the ramp;
- `tfmot prune_low_magnitude`: polynomial schedule on the `Dense` layers, in
  its own process on `tf_keras` (`benchmarks/tfmot_peer.py`), timed against
  its own dense run;
- `switcher (paper)`: read from `results/mnist_lenet300100.json` when
  `benchmarks/mnist_lenet300100.py` has been run (its own budget and
  optimiser: SGD 0.1).

Accuracy is measured on the 10,000 test images, sparsity counted from the
weights (zeros or switched-off gates), time as seconds per epoch against the
dense run of the same process. Writes `results/NAME.json`, `.md` and
`NAME_accuracy_vs_sparsity.png` (`--name`, default `mnist_peers`).
`--model lenet5` runs LeNet-5-Caffe, whose fully connected layers are pruned
(its convolutions stay dense); `--magnitude` picks the magnitude methods;
`--learning-rate` sets every run's task rate (LeNet-5-Caffe diverges with
momentum SGD at its default 0.1 and trains at 0.03).

    python benchmarks/mnist_peers.py --epochs 20 --batch-size 128
    python benchmarks/mnist_peers.py --model lenet5 --targets 0.95 0.98 0.99 \
        --skip-switcher --magnitude uniform --name mnist_peers_lenet5_seed0
"""

import argparse
import json
import os
import subprocess
import sys

import keras

from keras_switcher import NeuronSwitcher, baselines, datasets, report, training
from _common import (
    MNIST_MODELS, RESULTS, SHARED_DATA, EpochTimer, machine, task_optimizer_label, write_results,
)


def fit(model, data, args, callbacks):
    train, test = data
    timer = EpochTimer()
    model.fit(train, epochs=args.epochs, callbacks=callbacks + [timer], shuffle=False, verbose=0)
    _, accuracy = model.evaluate(test, verbose=0)
    return accuracy, timer.steady_seconds()


def dense_model(args):
    return training.build_model(
        args.model, (28, 28, 1), args.epochs, setting="recommended", switched=False,
        task_optimizer=args.task_optimizer, learning_rate=args.learning_rate,
    )


def switcher_run(data, args, target, switcher=None):
    model = training.build_model(
        args.model, (28, 28, 1), args.epochs, setting="recommended",
        target_sparsity=target, switcher=switcher, task_optimizer=args.task_optimizer,
        learning_rate=args.learning_rate,
    )
    callbacks = training.training_callbacks("recommended", args.epochs)
    accuracy, seconds = fit(model, data, args, callbacks)
    return accuracy, report(model)["total"]["sparsity"], seconds


def magnitude_run(data, args, target, method):
    model = dense_model(args)
    pruning = baselines.GradualMagnitudePruning(
        target, end_epoch=max(args.epochs // 2, 1), method=method, frequency=100
    )
    accuracy, seconds = fit(model, data, args, [pruning, training.decay(args.epochs)])
    return accuracy, baselines.zero_fraction(model), seconds


def tfmot_runs(args):
    command = [
        sys.executable, os.path.join(os.path.dirname(__file__), "tfmot_peer.py"),
        "--model", args.model, "--data-dir", args.data_dir, "--epochs", str(args.epochs),
        "--batch-size", str(args.batch_size), "--seed", str(args.seed),
        "--sparsities", *map(str, args.targets),
        "--task-optimizer", args.task_optimizer,
        *(["--learning-rate", str(args.learning_rate)] if args.learning_rate else []),
    ]
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    try:
        output = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    except (subprocess.CalledProcessError, FileNotFoundError) as error:
        print(f"tfmot peer skipped: {error}; install `.[bench]` for it", file=sys.stderr)
        return None
    return json.loads(output.strip().splitlines()[-1])


def plot(rows, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.5))
    for method in dict.fromkeys(row["method"] for row in rows if row["sparsity"] > 0):
        points = sorted((r["sparsity"], r["test_accuracy"]) for r in rows if r["method"] == method)
        axis.plot([100 * s for s, _ in points], [100 * a for _, a in points], "o-", label=method)
    dense = next(r for r in rows if r["method"] == "dense")
    axis.axhline(100 * dense["test_accuracy"], color="gray", linestyle="--", label="dense")
    axis.set_xlabel("sparsity of the fully connected layers (%)")
    axis.set_ylabel("MNIST test accuracy (%)")
    axis.set_title(f"{title}, same epochs and batch size")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lenet300100", choices=sorted(MNIST_MODELS))
    parser.add_argument("--data-dir", default=os.path.join(SHARED_DATA, "mnist"))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--targets", type=float, nargs="+", default=[0.9, 0.95, 0.98])
    parser.add_argument("--skip-tfmot", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="mnist_peers", help="results file name")
    parser.add_argument("--task-optimizer", default="adam", choices=sorted(training.TASK_OPTIMIZERS),
                        help="task optimiser of every run (adam: the recommended setting's)")
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="task learning rate of every run; default: the task optimiser's")
    parser.add_argument("--magnitude", nargs="*", default=["blinded", "uniform"],
                        choices=["blinded", "uniform"], help="magnitude pruning methods to run")
    parser.add_argument("--skip-neuron", action="store_true")
    parser.add_argument("--skip-switcher", action="store_true",
                        help="only the peers (the switcher's own runs are in switcher_ablation.py)")
    args = parser.parse_args()

    data = (
        datasets.load("mnist", "train", args.batch_size, args.data_dir, seed=args.seed),
        datasets.load("mnist", "test", 1000, args.data_dir),
    )
    rows = []

    def record(method, target, result, dense_seconds):
        accuracy, sparsity, seconds = result
        rows.append({
            "method": method, "target": target, "test_accuracy": accuracy,
            "sparsity": sparsity, "seconds_per_epoch": seconds,
            "time_ratio_to_dense": seconds / dense_seconds,
        })
        print(json.dumps(rows[-1]), flush=True)

    keras.utils.set_random_seed(args.seed)
    dense_accuracy, dense_seconds = fit(dense_model(args), data, args, [training.decay(args.epochs)])
    record("dense", 0.0, (dense_accuracy, 0.0, dense_seconds), dense_seconds)
    for target in args.targets:
        if not args.skip_switcher:
            keras.utils.set_random_seed(args.seed)
            record("switcher (recommended)", target, switcher_run(data, args, target), dense_seconds)
        for method in args.magnitude:
            keras.utils.set_random_seed(args.seed)
            record(f"magnitude class-{method}", target, magnitude_run(data, args, target, method), dense_seconds)
    if not (args.skip_neuron or args.skip_switcher):
        keras.utils.set_random_seed(args.seed)
        neuron = NeuronSwitcher(depth=3, base_channels=4, gate="binary", magnitude_prior=True)
        record("neuron switcher", args.targets[0], switcher_run(data, args, args.targets[0], neuron), dense_seconds)

    tfmot = None if args.skip_tfmot else tfmot_runs(args)
    if tfmot:
        for target in args.targets:
            run = tfmot[f"tfmot_{target}"]
            rows.append({
                "method": "tfmot prune_low_magnitude", "target": target,
                "test_accuracy": run["test_accuracy"], "sparsity": run["sparsity"],
                "seconds_per_epoch": run["seconds_per_epoch"],
                "time_ratio_to_dense": run["time_ratio_to_dense"],
                "dense_in_its_process": tfmot["dense"],
            })
    paper_file = os.path.join(RESULTS, "mnist_lenet300100.json")
    paper = None
    if args.model == "lenet300100" and os.path.exists(paper_file):
        with open(paper_file) as file:
            paper = json.load(file)

    lines = [
        f"{MNIST_MODELS[args.model]} on full MNIST (60k/10k), {args.epochs} epochs, batch {args.batch_size}, "
        f"{task_optimizer_label(args.task_optimizer, args.learning_rate)} x0.1 at 50%/75%, sparsity ramped over the first half; CPU "
        f"({machine()['cpus']} cores). Time ratios against the dense run of the same process "
        "(tfmot: against its own tf_keras dense run).",
        "",
        "| method | target | test accuracy | FC sparsity (counted) | s/epoch | time vs dense |",
        "|---|---|---|---|---|---|",
    ]
    for row in sorted(rows, key=lambda r: (r["target"], r["method"])):
        lines.append(
            f"| {row['method']} | {row['target']:.0%} | {row['test_accuracy']:.2%} | "
            f"{row['sparsity']:.2%} | {row['seconds_per_epoch']:.1f} | {row['time_ratio_to_dense']:.2f}x |"
        )
    if paper:
        switched = paper["switched"]
        lines += [
            "",
            f"Paper setting (from `benchmarks/mnist_lenet300100.py`, {paper['epochs']} epochs, batch "
            f"{paper['batch_size']}, SGD 0.1, its own dense run): test accuracy "
            f"{switched['test_accuracy']:.2%}, FC sparsity {switched['sparsity']['total']['sparsity']:.2%}, "
            f"{switched['seconds_per_epoch']:.1f} s/epoch, {switched['time_ratio_to_dense']:.1f}x dense.",
        ]
    plot(rows, os.path.join(RESULTS, f"{args.name}_accuracy_vs_sparsity.png"), MNIST_MODELS[args.model])
    write_results(args.name, {"args": vars(args), "machine": machine(), "rows": rows,
                                  "paper": paper}, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

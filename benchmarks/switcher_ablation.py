"""Does the switcher's learning matter? Trained against frozen against magnitude.

On full MNIST with LeNet-300-100 (or `--model lenet5`, LeNet-5-Caffe, whose
fully connected layers are switched), at each target sparsity and seed, in one
process with the same data, epochs, batch size, task optimiser and cubic
sparsity ramp:

- `switcher (SETTING)`: each setting of `--settings` as shipped
  (`recommended`; `concurrent`, whose switcher learns within the task steps
  and reads the gate gradient);
- `switcher (SETTING) frozen at init`: the same run with the switcher's
  learning rate at 0, so its weights never move (same schedule, same phases);
- `magnitude class-blinded`: gradual magnitude pruning (`baselines`),
  masks fixed after the ramp, on the plain model;
- `magnitude switcher (recommended)`: the same method as the package ships
  it, the `"magnitude"` switcher with the setting's plan and ramp;
- `dense`: the plain model, once per seed, for the time ratios.

For the switched runs it also records the number of switcher updates
(`switcher_optimizer.iterations`) and how far the learned mask is from the
magnitude prior: the share of kept connections that a per-layer top-|W|
mask of the same size would also keep (1.0: the gate is magnitude pruning).
Accuracy is the final epoch's on the 10,000 test images; sparsity is
counted from the gates or zeros. Writes `results/NAME.json` and `.md`.

    python benchmarks/switcher_ablation.py --seeds 0 1 2 --targets 0.95 0.98 0.99 \
        --settings recommended concurrent

Seeds run in separate commands are put in one table with
`--combine NAME_A NAME_B --name NAME`. `--every K`,
`--switcher-learning-rate` and `--allocation` change the switched runs'
settings (their rows name the change), `--task-optimizer` changes every
run's task optimiser (the summary names it) and `--learning-rate` its rate,
and `--methods` runs only some of the methods, so a variant can be set
beside rows measured before:

    python benchmarks/switcher_ablation.py --settings concurrent --targets 0.99 \
        --seeds 0 1 2 --every 50 --switcher-learning-rate 5e-3 --methods trained
"""

import argparse
import json
import os

import keras
import numpy as np

from _common import (
    MNIST_MODELS, RESULTS, SHARED_DATA, EpochTimer, machine, task_optimizer_label, write_results,
)
from keras_switcher import baselines, datasets, report, training
from keras_switcher.sparsity import ALLOCATIONS


def load(args):
    folder = os.path.join(SHARED_DATA, "mnist")
    train = datasets.load("mnist", "train", batch_size=args.batch_size, data_dir=folder, seed=args.seed_data)
    test = datasets.load("mnist", "test", batch_size=1000, data_dir=folder)
    return train, test


def magnitude_overlap(model):
    """Share of kept connections that a same-size top-|W| mask also keeps."""
    shared = kept = 0
    for layer in model.switched_layers:
        mask = np.asarray(layer.mask()).ravel()
        magnitude = np.abs(np.asarray(layer.kernel)).ravel()
        top = np.zeros_like(mask)
        top[np.argsort(-magnitude, kind="stable")[: int(mask.sum())]] = True
        shared += int((mask & top).sum())
        kept += int(mask.sum())
    return shared / max(kept, 1)


def switcher_label(setting, args):
    """The switched runs' name: the setting and what the arguments changed."""
    changes = [setting]
    if args.every is not None:
        changes.append(f"K={args.every}")
    if args.switcher_learning_rate is not None:
        changes.append(f"switcher lr {args.switcher_learning_rate:g}")
    if args.allocation is not None:
        changes.append(f"{args.allocation} split")
    return f"switcher ({', '.join(changes)})"


def run(method, target, seed, data, args, setting="recommended"):
    keras.utils.set_random_seed(seed)
    train, test = data
    switched = method.startswith(("switcher", "magnitude switcher"))
    changes = {}
    if method.startswith("magnitude switcher"):
        # Gradual magnitude pruning as the package ships it: the weightless
        # switcher in the setting's plan (class-blinded split) and ramp.
        changes = dict(switcher="magnitude", allocation=args.allocation)
    elif switched:
        changes = dict(
            concurrent_switcher_updates=args.every,
            switcher_learning_rate=args.switcher_learning_rate,
            allocation=args.allocation,
        )
    model = training.build_model(
        args.model, (28, 28, 1), args.epochs, setting=setting, switched=switched,
        target_sparsity=target if switched else None, task_optimizer=args.task_optimizer,
        learning_rate=args.learning_rate, **changes,
    )
    callbacks = [training.decay(args.epochs)]
    if switched:
        callbacks = training.training_callbacks(setting, args.epochs)
        if method.endswith("frozen at init"):
            model.switcher_optimizer.learning_rate = 0.0
    elif method.startswith("magnitude"):
        end = training.ramp_end_epoch("recommended", args.epochs)
        callbacks.append(baselines.GradualMagnitudePruning(target, end_epoch=end, method="blinded"))
    timer = EpochTimer()
    model.fit(train, epochs=args.epochs, callbacks=callbacks + [timer], shuffle=False, verbose=0)
    _, accuracy = model.evaluate(test, verbose=0)
    row = {"method": method, "target": target, "seed": seed, "test_accuracy": float(accuracy),
           "seconds_per_epoch": timer.steady_seconds()}
    if switched:
        counted = report(model)
        row["sparsity"] = counted["total"]["sparsity"]
        row["layer_sparsity"] = [layer["sparsity"] for layer in counted["layers"]]
        row["switcher_updates"] = int(model.switcher_optimizer.iterations.numpy())
        row["magnitude_overlap"] = magnitude_overlap(model)
    else:
        row["sparsity"] = baselines.zero_fraction(model)
    print(row, flush=True)
    return row


def table(rows, args):
    optimizer = task_optimizer_label(args.task_optimizer, args.learning_rate)
    lines = [
        f"# Switcher ablation: {MNIST_MODELS[args.model]}, full MNIST, {args.epochs} epochs, "
        f"batch {args.batch_size}, task optimiser: {optimizer}",
        "",
        "Final-epoch test accuracy (10,000 images), mean over seeds "
        f"{', '.join(map(str, args.seeds))} (each seed in brackets); CPU. Overlap: share of kept "
        "connections a same-size per-layer top-|W| mask also keeps.",
        "",
        "| method | target | test accuracy | per seed | sparsity | switcher updates | overlap with magnitude | time vs dense |",
        "|---|---|---|---|---|---|---|---|",
    ]
    dense = {r["seed"]: r["seconds_per_epoch"] for r in rows if r["method"] == "dense"}
    keys = sorted({(r["target"] or 0.0, r["method"]) for r in rows})
    for target, method in keys:
        group = [r for r in rows if (r["target"] or 0.0) == target and r["method"] == method]
        accuracies = [r["test_accuracy"] for r in group]
        ratio = np.mean([r["seconds_per_epoch"] / dense[r["seed"]] for r in group])
        updates = ", ".join(str(r["switcher_updates"]) for r in group) if "switcher_updates" in group[0] else ""
        overlap = f"{np.mean([r['magnitude_overlap'] for r in group]):.3f}" if "magnitude_overlap" in group[0] else ""
        lines.append(
            f"| {method} | {target:.0%} | {np.mean(accuracies):.2%} | "
            f"{', '.join(f'{a:.2%}' for a in accuracies)} | {np.mean([r['sparsity'] for r in group]):.2%} | "
            f"{updates} | {overlap} | {ratio:.2f}x |"
        )
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lenet300100", choices=sorted(MNIST_MODELS))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--targets", type=float, nargs="+", default=[0.95, 0.98, 0.99])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--seed-data", type=int, default=0, help="shuffling seed of the data")
    parser.add_argument("--settings", nargs="+", default=["recommended", "concurrent"],
                        choices=sorted(training.SETTINGS))
    parser.add_argument("--every", type=int, default=None,
                        help="task steps per concurrent switcher update (K); default: the setting's")
    parser.add_argument("--switcher-learning-rate", type=float, default=None,
                        help="default: the setting's")
    parser.add_argument("--allocation", default=None, choices=ALLOCATIONS,
                        help="how the switched runs share the sparsity among layers; default: the setting's")
    parser.add_argument("--task-optimizer", default=None, choices=sorted(training.TASK_OPTIMIZERS),
                        help="task optimiser of every run (momentum: the published results' SGD 0.1 "
                        "with Nesterov momentum and weight decay); default: the setting's")
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="task learning rate of every run; default: the task optimiser's")
    parser.add_argument("--methods", nargs="+", default=["trained", "frozen", "magnitude"],
                        choices=["trained", "frozen", "magnitude", "magnitude-switcher"],
                        help="which methods to run beside the dense baseline")
    parser.add_argument("--name", default="switcher_ablation")
    parser.add_argument("--combine", nargs="+", default=None, metavar="NAME",
                        help="write one table of the rows of these earlier results instead of training")
    args = parser.parse_args()
    if args.combine:
        rows = []
        for name in args.combine:
            with open(os.path.join(RESULTS, f"{name}.json")) as file:
                earlier = json.load(file)
            rows += earlier["rows"]
        args.seeds = sorted({row["seed"] for row in rows})
        args.epochs, args.batch_size = earlier["args"]["epochs"], earlier["args"]["batch_size"]
        args.model = earlier["args"].get("model", "lenet300100")
        args.task_optimizer = earlier["args"].get("task_optimizer")
        args.learning_rate = earlier["args"].get("learning_rate")
        write_results(args.name, {"machine": machine(), "args": vars(args), "rows": rows}, table(rows, args))
        return
    data = load(args)
    rows = []

    def record(*run_args):
        # Written after every run, so that a long benchmark stopped early keeps its runs.
        rows.append(run(*run_args))
        write_results(args.name, {"machine": machine(), "args": vars(args), "rows": rows}, table(rows, args))

    for seed in args.seeds:
        record("dense", None, seed, data, args)
        for target in args.targets:
            for setting in args.settings:
                label = switcher_label(setting, args)
                if "trained" in args.methods:
                    record(label, target, seed, data, args, setting)
                if "frozen" in args.methods:
                    record(f"{label} frozen at init", target, seed, data, args, setting)
            if "magnitude" in args.methods:
                record("magnitude class-blinded", target, seed, data, args)
            if "magnitude-switcher" in args.methods:
                record("magnitude switcher (recommended)", target, seed, data, args, "recommended")


if __name__ == "__main__":
    main()

"""Every method on MNIST in one table: the switcher, its ablations and the peers.

Reads results written by the other benchmarks and puts them side by side,
mean final-epoch test accuracy over the seeds measured at each sparsity:

- `switcher_ablation*.json` (`switcher_ablation.py`): the switcher's
  settings, each frozen at initialisation, class-blinded gradual magnitude
  pruning and the dense model, with seeds; LeNet-5-Caffe from `--model lenet5`;
- `mnist_peers*.json` (`mnist_peers.py`): class-uniform magnitude pruning
  and tfmot's `prune_low_magnitude`, on either model;
- `pquant_peer*.json` (`pquant_peer.py`'s output): PQuantML's PDP.

One table per model and task optimiser (with batch size). A method
measured in more than one file at the same model, optimiser, target and
seed keeps the row of the first file listed in `--sources`. Time is each run's
seconds per epoch over the dense run of its own process. Writes
`results/NAME.json`, `.md` and `NAME_accuracy_vs_sparsity.png`.

    python benchmarks/mnist_summary.py
"""

import argparse
import json
import os

import numpy as np

from _common import MNIST_MODELS as MODELS, RESULTS, task_optimizer_label, write_results

SOURCES = [
    "switcher_ablation",
    "switcher_ablation_concurrent",
    "switcher_ablation_concurrent_95",
    "switcher_ablation_k50_lr5e-3",
    "switcher_ablation_lr3e-3",
    "mnist_peers_only_seed0",
    "mnist_peers_only_seed1",
    "mnist_peers_only_seed2",
    "pquant_peer_seed0",
    "switcher_ablation_lenet5",
    "switcher_ablation_lenet5_seed1",
    "switcher_ablation_lenet5_seed2",
    "switcher_ablation_lenet5_95",
    "switcher_ablation_lenet5_seed2_98_95",
    "mnist_peers_lenet5_seed0",
    "mnist_peers_lenet5_seed1",
    "mnist_peers_lenet5_seed2",
    "switcher_ablation_momentum",
    "mnist_peers_momentum_seed0",
    "mnist_peers_momentum_seed1",
    "mnist_peers_momentum_seed2",
    "switcher_ablation_lenet5_momentum_99",
    "switcher_ablation_lenet5_momentum_98",
    "switcher_ablation_lenet5_momentum_seed1",
    "switcher_ablation_lenet5_momentum_seed2",
    "switcher_ablation_learned_split_99",
    "switcher_ablation_learned_split_99_seeds12",
    "switcher_ablation_100_epochs_99",
    "switcher_ablation_100_epochs_99_gmp_seeds12",
]
# Issue 14's goals: published final-epoch accuracies to reach, by model and target.
GOALS = {
    "lenet300100": {0.95: 0.985, 0.98: 0.982, 0.99: 0.976},
    "lenet5": {0.98: 0.992, 0.99: 0.991},
}


# Labels that earlier versions of switcher_ablation.py wrote, and their names now.
RENAMED = {"switcher frozen at init": "switcher (recommended) frozen at init"}


def recipe(args):
    """The table a results file belongs to: its task optimiser, rate and batch size."""
    label = task_optimizer_label(args.get("task_optimizer"), args.get("learning_rate"))
    return f"{label}, batch {args['batch_size']}"


def ablation_rows(results):
    args = results["args"]
    # Runs longer than the table's 20 epochs are methods of their own.
    budget = "" if args["epochs"] == 20 else f" [{args['epochs']} epochs]"
    dense = {row["seed"]: row["seconds_per_epoch"] for row in results["rows"] if row["method"] == "dense"}
    for row in results["rows"]:
        yield {
            "model": args.get("model", "lenet300100"), "recipe": recipe(args),
            "method": RENAMED.get(row["method"], row["method"]) + budget,
            "target": row["target"] or 0.0,
            "seed": row["seed"], "test_accuracy": row["test_accuracy"], "sparsity": row["sparsity"],
            "time_ratio": row["seconds_per_epoch"] / dense[row["seed"]],
            "switcher_updates": row.get("switcher_updates"),
        }


def peers_rows(results):
    args = results["args"]
    for row in results["rows"]:
        yield {
            "model": args.get("model", "lenet300100"), "recipe": recipe(args),
            "method": row["method"], "target": row["target"],
            "seed": args["seed"], "test_accuracy": row["test_accuracy"],
            "sparsity": row["sparsity"], "time_ratio": row["time_ratio_to_dense"],
            "switcher_updates": None,
        }


def pquant_rows(results, seed):
    for key, run in results.items():
        if key.startswith("pquant_pdp_"):
            yield {
                "model": "lenet300100", "recipe": recipe({"batch_size": 128}),
                "method": "PQuantML PDP", "target": run["target"],
                "seed": seed, "test_accuracy": run["test_accuracy"], "sparsity": run["sparsity"],
                "time_ratio": run["time_ratio_to_dense"], "switcher_updates": None,
            }


def read(name):
    """The rows of one results file, in the summary's form."""
    with open(os.path.join(RESULTS, f"{name}.json")) as file:
        results = json.load(file)
    if name.startswith("pquant_peer"):
        return list(pquant_rows(results, int(name.rsplit("seed", 1)[1])))
    if "rows" in results and results["rows"] and "seed" in results["rows"][0]:
        return list(ablation_rows(results))
    return list(peers_rows(results))


def collect(sources):
    """Rows of every file present, the first file winning a repeated run."""
    rows, seen, missing = [], set(), []
    for name in sources:
        if not os.path.exists(os.path.join(RESULTS, f"{name}.json")):
            missing.append(name)
            continue
        for row in read(name):
            key = (row["model"], row["recipe"], row["method"], row["target"], row["seed"])
            if key not in seen:
                seen.add(key)
                rows.append(row)
    return rows, missing


def tables(rows):
    """The (model, recipe) pairs measured, one table each, in the order of MODELS."""
    pairs = dict.fromkeys((r["model"], r["recipe"]) for r in rows)
    return sorted(pairs, key=lambda pair: list(MODELS).index(pair[0]))


def sparse_runs(rows, table, method=None):
    """A table's runs at a sparsity target, of one method or of all."""
    return [r for r in rows if (r["model"], r["recipe"]) == table and r["target"] > 0
            and method in (None, r["method"])]


def group(rows, table, method, target):
    return [r for r in rows if (r["model"], r["recipe"]) == table and r["method"] == method
            and r["target"] == target]


def cell(runs):
    if not runs:
        return ""
    accuracies = [r["test_accuracy"] for r in runs]
    return f"{np.mean(accuracies):.2%} (n={len(runs)})"


def table(rows, pair):
    model, task_recipe = pair
    goals = GOALS.get(model, {})
    targets = sorted({r["target"] for r in sparse_runs(rows, pair)} | set(goals))
    methods = list(dict.fromkeys(r["method"] for r in sparse_runs(rows, pair)))
    lines = [
        f"## {MODELS[model]}; {task_recipe}",
        "",
        "| method | " + " | ".join(f"{t:.0%}" for t in targets) + " | time vs dense | switcher updates |",
        "|---|" + "---|" * (len(targets) + 2),
    ]
    for method in methods:
        runs = [r for r in sparse_runs(rows, pair) if r["method"] == method]
        updates = sorted({r["switcher_updates"] for r in runs if r["switcher_updates"] is not None})
        lines.append(
            f"| {method} | " + " | ".join(cell(group(rows, pair, method, t)) for t in targets)
            + f" | {np.mean([r['time_ratio'] for r in runs]):.2f}x | "
            + ", ".join(map(str, updates)) + " |"
        )
    in_table = [r for r in rows if (r["model"], r["recipe"]) == pair]
    dense = [
        f"{method.capitalize()}: {cell(group(rows, pair, method, 0.0))}"
        for method in dict.fromkeys(r["method"] for r in in_table if r["target"] == 0.0)
    ]
    lines += [
        "| issue 14's goal (published) | " + " | ".join(
            f"{goals[t]:.1%}" if t in goals else "" for t in targets) + " | <= 2x | |",
        "",
        f"{'; '.join(dense)}. Mean of the seeds measured (n) of the final-epoch test "
        "accuracy on the 10,000 test images; 20 epochs unless the method says otherwise.",
        "",
    ]
    return lines


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = tables(rows)
    figure, axes = plt.subplots(1, len(pairs), figsize=(7 * len(pairs), 4.5), squeeze=False)
    for axis, pair in zip(axes[0], pairs):
        for method in dict.fromkeys(r["method"] for r in sparse_runs(rows, pair)):
            targets = sorted({r["target"] for r in sparse_runs(rows, pair, method)})
            means = [np.mean([r["test_accuracy"] for r in group(rows, pair, method, t)]) for t in targets]
            axis.plot([100 * t for t in targets], [100 * m for m in means], "o-", label=method)
        goals = sorted(GOALS.get(pair[0], {}).items())
        axis.plot([100 * t for t, _ in goals], [100 * g for _, g in goals], "k*", markersize=10,
                  label="issue 14's goal")
        axis.set_xlabel("share of fully connected weights removed (%)")
        axis.set_ylabel("MNIST test accuracy, final epoch (%)")
        axis.set_title(f"{MODELS[pair[0]]}\n{pair[1]}", fontsize=9)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", nargs="+", default=SOURCES)
    parser.add_argument("--name", default="mnist_summary")
    args = parser.parse_args()
    rows, missing = collect(args.sources)
    lines = [
        "# MNIST: the switcher against its ablations and peers",
        "",
        "Read from `benchmarks/results/`: " + ", ".join(f"`{s}`" for s in args.sources if s not in missing)
        + "." + (f" Not found: {', '.join(missing)}." if missing else ""),
        "",
    ]
    for pair in tables(rows):
        lines += table(rows, pair)
    plot(rows, os.path.join(RESULTS, f"{args.name}_accuracy_vs_sparsity.png"))
    write_results(args.name, {"sources": args.sources, "missing": missing, "rows": rows}, "\n".join(lines))


if __name__ == "__main__":
    main()

"""Where the switcher's training time goes: seconds per epoch against dense.

On full MNIST with LeNet-300-100 at 99% sparsity, in one process, it times
(median epoch after the first, tracing, one):

- `dense`: the plain model, the baseline of every ratio;
- `recommended`: the shipped setting (switcher phases, cached gates);
- `magnitude`, `movement`: the weightless switchers in the `recommended`
  setting (cached gates, no switcher phase; class-blinded split);
- `concurrent, K=...`: the `concurrent` setting, one switcher update per
  `K` task steps; `K=never` (a `K` beyond the run) keeps the task steps'
  gate-gradient bookkeeping but makes no switcher update, so it is the cost
  of the task steps alone.

From the `concurrent` rows it derives the seconds of one switcher update,
`(epoch(K) - epoch(never)) * K / steps`, and writes
`results/switcher_cost.json` and `.md`.

    python benchmarks/switcher_cost.py --epochs 3 --every 10 50 200 --kinds magnitude movement
"""

import argparse
import os

import keras

from _common import SHARED_DATA, EpochTimer, machine, write_results
from keras_switcher import datasets, training

NEVER = 10**9


def seconds_per_epoch(train, epochs, **model_kwargs):
    keras.utils.set_random_seed(0)
    model = training.build_model("lenet300100", (28, 28, 1), epochs, target_sparsity=0.99, **model_kwargs)
    timer = EpochTimer()
    model.fit(train, epochs=epochs, callbacks=[timer], shuffle=False, verbose=0)
    return timer.steady_seconds()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--every", type=int, nargs="+", default=[10, 50, 200],
                        help="task steps per switcher update (K) of the concurrent rows")
    parser.add_argument("--kinds", nargs="*", default=["magnitude", "movement"],
                        help="switcher names timed in the recommended setting")
    parser.add_argument("--name", default="switcher_cost")
    args = parser.parse_args()
    folder = os.path.join(SHARED_DATA, "mnist")
    train = datasets.load("mnist", "train", batch_size=args.batch_size, data_dir=folder, seed=0)
    steps = int(train.cardinality())
    rows = [
        {"run": "dense", "seconds_per_epoch": seconds_per_epoch(train, args.epochs, switched=False)},
        {"run": "recommended", "seconds_per_epoch": seconds_per_epoch(train, args.epochs, setting="recommended")},
    ]
    for kind in args.kinds:
        rows.append({"run": kind, "seconds_per_epoch": seconds_per_epoch(
            train, args.epochs, setting="recommended", switcher=kind)})
        print(rows[-1], flush=True)
    for every in [NEVER] + args.every:
        seconds = seconds_per_epoch(train, args.epochs, setting="concurrent", concurrent_switcher_updates=every)
        rows.append({"run": f"concurrent, K={'never' if every == NEVER else every}", "every": every,
                     "seconds_per_epoch": seconds})
        print(rows[-1], flush=True)
    dense = rows[0]["seconds_per_epoch"]
    never = next(row["seconds_per_epoch"] for row in rows if row.get("every") == NEVER)
    for row in rows:
        row["ratio_to_dense"] = row["seconds_per_epoch"] / dense
        if row.get("every", NEVER) != NEVER:
            row["seconds_per_update"] = (row["seconds_per_epoch"] - never) * row["every"] / steps
    lines = [
        f"# Switcher training cost: LeNet-300-100, full MNIST, 99% sparsity, batch {args.batch_size}",
        "",
        f"Median seconds per epoch ({steps} steps) after the first epoch, one process; CPU "
        f"({machine()['cpus']} cores).",
        "",
        "| run | seconds per epoch | vs dense | seconds per switcher update |",
        "|---|---|---|---|",
    ]
    for row in rows:
        update = f"{row['seconds_per_update']:.3f}" if "seconds_per_update" in row else ""
        lines.append(f"| {row['run']} | {row['seconds_per_epoch']:.2f} | {row['ratio_to_dense']:.2f}x | {update} |")
    write_results(args.name, {"machine": machine(), "args": vars(args), "steps_per_epoch": steps, "rows": rows},
                  "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

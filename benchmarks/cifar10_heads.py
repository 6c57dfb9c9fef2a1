"""A CIFAR-10 backbone with four heads: switched (recommended, paper), plain, magnitude.

Trains the backbone once per head, in this process, on the same data,
seed, epochs, batch size and one-cycle schedule of the task optimiser
(SGD with Nesterov momentum; the switchers keep their setting's
optimiser):

- `switched-recommended`: the `recommended` switcher at `--target-sparsity`;
- `switched-paper`: the authors' setting (ReLU gate, sparsity learned);
- `plain`: `Dense` head;
- `magnitude`: `Dense` head pruned by class-blinded gradual magnitude
  pruning to `--target-sparsity` over the same ramp as the recommended one.

It writes the final epoch's accuracy on the 1,000 CIFAR-10 test images at
hand, the head's sparsity counted from its weights, seconds per epoch and
the device to `--out/results.json` and `.md`. Every head is saved after
every epoch in `--out`; running the same command again continues where it
stopped (finished heads are kept), so `--time-budget` can cut a run into
commands of a few minutes. Runs on any backend that trains a
`SwitchedModel` (TensorFlow or JAX), with no TensorFlow on JAX.

    python benchmarks/cifar10_heads.py --backbone resnet18 --epochs 15 \\
        --data-dir ../shared/data --out runs/resnet18 --time-budget 540
"""

import argparse
import json
import math
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_switcher import SparsityRamp, baselines, datasets, report, saving, training  # noqa: E402

from _common import cifar10_test_arrays  # noqa: E402

HEADS = ("switched-recommended", "switched-paper", "plain", "magnitude")
UNFINISHED = 3  # Exit status when the time budget stopped the run.


def one_cycle_rate(step, total_steps, peak):
    """Learning rate of a one-cycle schedule (Smith & Topin, 2019).

    Rises linearly from `peak / 25` to `peak` over the first 30% of the
    steps, then falls along a cosine to `peak / 1e4`.
    """
    warmup = max(1, int(0.3 * total_steps))
    if step < warmup:
        return peak / 25 + (peak - peak / 25) * step / warmup
    progress = min((step - warmup) / max(1, total_steps - warmup), 1.0)
    return peak / 1e4 + (peak - peak / 1e4) * 0.5 * (1 + math.cos(math.pi * progress))


class OneCycle(keras.callbacks.Callback):
    """Sets the task optimiser's learning rate before every step."""

    def __init__(self, steps_per_epoch, epochs, peak):
        super().__init__()
        self.steps_per_epoch = steps_per_epoch
        self.total_steps = steps_per_epoch * epochs
        self.peak = peak
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        step = self._epoch * self.steps_per_epoch + batch
        self.model.optimizer.learning_rate = one_cycle_rate(step, self.total_steps, self.peak)


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves the model and the run's progress after every epoch.

    Stops training once another epoch would pass `deadline` (a
    `time.monotonic()` value, or `None`).
    """

    def __init__(self, model_path, state_path, state, deadline):
        super().__init__()
        self.model_path = model_path
        self.state_path = state_path
        self.state = state
        self.deadline = deadline

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        with saving.atomic_path(self.model_path) as partial:
            self.model.save(partial)
        self.state["epochs"] = epoch + 1
        self.state["epoch_seconds"].append(seconds)
        write_json(self.state_path, self.state)
        if self.deadline is not None and time.monotonic() + seconds > self.deadline:
            self.model.stop_training = True


def write_json(path, value):
    saving.write_atomic(path, json.dumps(value, indent=2).encode())


def device_name():
    """The accelerator (or processor) the backend trains on."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        return f"{device.platform}: {device.device_kind}"
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            return "gpu: " + tf.config.experimental.get_device_details(gpus[0]).get("device_name", "?")
    return f"cpu: {platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def build(head, args):
    """A compiled model for one head."""
    switched = head.startswith("switched")
    setting = "paper" if head == "switched-paper" else "recommended"
    return training.build_model(
        args.backbone,
        (32, 32, 3),
        args.epochs,
        setting=setting,
        switched=switched,
        target_sparsity=args.target_sparsity if head == "switched-recommended" else None,
        task_optimizer="momentum",
        learning_rate=args.peak_lr,
    )


def head_sparsity(model):
    """Share of the head's connections that are off, counted from the weights."""
    if hasattr(model, "switched_layers"):
        return report(model)["total"]["sparsity"]
    return baselines.zero_fraction(model)


def train_head(head, train, test, args, deadline):
    """Trains (or continues) one head; returns its result row, or `None`."""
    model_path = os.path.join(args.out, f"{head}.keras")
    state_path = os.path.join(args.out, f"{head}.json")
    state = {"epochs": 0, "epoch_seconds": []}
    if os.path.exists(state_path):
        with open(state_path) as file:
            state = json.load(file)
    if "result" in state:
        return state["result"]
    keras.utils.set_random_seed(args.seed)
    if state["epochs"]:
        model = keras.models.load_model(model_path)
        print(f"{head}: continuing after epoch {state['epochs']}", flush=True)
    else:
        model = build(head, args)
    callbacks = [
        OneCycle(len(train), args.epochs, args.peak_lr),
        EpochCheckpoint(model_path, state_path, state, deadline),
    ]
    ramp_end = training.ramp_end_epoch("recommended", args.epochs)
    if head == "switched-recommended":
        callbacks.append(SparsityRamp(end_epoch=ramp_end))
    if head == "magnitude":
        layers = baselines.prunable_layers(model)
        if state["epochs"]:  # The masks are not saved: the zeros are.
            baselines.apply_masks(layers, [keras.ops.convert_to_numpy(l.kernel) != 0 for l in layers])
        callbacks.append(
            baselines.GradualMagnitudePruning(args.target_sparsity, end_epoch=ramp_end, method="blinded")
        )
    model.fit(
        train,
        epochs=args.epochs,
        initial_epoch=state["epochs"],
        callbacks=callbacks,
        verbose=args.verbose,
    )
    if state["epochs"] < args.epochs:
        return None
    images, labels = test
    predictions = model.predict(images, batch_size=500, verbose=0)
    correct = int((np.argmax(predictions, -1) == labels).sum())
    seconds = state["epoch_seconds"]
    state["result"] = {
        "head": head,
        "test_accuracy": correct / len(labels),
        "test_images": len(labels),
        "head_sparsity": head_sparsity(model),
        "seconds_per_epoch": float(np.median(seconds[1:] or seconds)),
        "epochs": args.epochs,
    }
    write_json(state_path, state)
    return state["result"]


def table(rows, args, device):
    lines = [
        f"# {args.backbone} on CIFAR-10: switched, plain and magnitude-pruned heads",
        "",
        f"Device: {device}. Backend: {keras.backend.backend()}. {args.epochs} epochs, batch "
        f"{args.batch_size}, {args.train_examples or 50000} training images, one-cycle SGD "
        f"(peak {args.peak_lr}), seed {args.seed}. Accuracy at the final epoch on the first "
        "1,000 test images (standard error about 1 point at 90%).",
        "",
        "| head | test accuracy | head sparsity | s/epoch | time vs plain |",
        "|---|---|---|---|---|",
    ]
    plain = next((r["seconds_per_epoch"] for r in rows if r["head"] == "plain"), None)
    for row in rows:
        ratio = f"{row['seconds_per_epoch'] / plain:.2f}x" if plain else ""
        lines.append(
            f"| {row['head']} | {row['test_accuracy']:.1%} | {row['head_sparsity']:.1%} | "
            f"{row['seconds_per_epoch']:.1f} | {ratio} |"
        )
    return "\n".join(lines) + "\n"


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="resnet18", choices=sorted(training.BUILDERS))
    parser.add_argument("--heads", nargs="+", default=list(HEADS), choices=HEADS)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--train-examples", type=int, default=None, help="default: all 50,000")
    parser.add_argument("--target-sparsity", type=float, default=0.9)
    parser.add_argument("--peak-lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", required=True, help="holds cifar-10-batches-bin and cifar10-test-first1000")
    parser.add_argument("--out", required=True, help="folder of checkpoints and results")
    parser.add_argument("--time-budget", type=float, default=None, help="seconds; stop between epochs before it")
    parser.add_argument("--verbose", type=int, default=2)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    deadline = None if args.time_budget is None else time.monotonic() + args.time_budget
    os.makedirs(args.out, exist_ok=True)
    split = "train" if args.train_examples is None else f"train[:{args.train_examples}]"
    train = datasets.load(
        "cifar10", split, batch_size=args.batch_size, data_dir=args.data_dir,
        augment=True, normalize=True, seed=args.seed, output="pydataset",
    )
    test = cifar10_test_arrays(args.data_dir)
    device = device_name()
    rows = []
    for head in args.heads:
        row = train_head(head, train, test, args, deadline)
        if row is None:
            print(f"Stopped by the time budget in head {head}: run the same command again.")
            return UNFINISHED
        rows.append(row)
    results = {"device": device, "backend": keras.backend.backend(), "args": vars(args), "rows": rows}
    write_json(os.path.join(args.out, "results.json"), results)
    markdown = table(rows, args, device)
    with open(os.path.join(args.out, "results.md"), "w") as file:
        file.write(markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())

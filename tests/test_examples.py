"""Every script of `examples/` runs, each in a process of its own, on TensorFlow.

The budget is the smallest the scripts allow: one epoch of one step on 16
training images, no validation split and no comparison runs, then the
scripts' own evaluation, TFLite export, summary and pictures. The data are
small folders written here in the datasets' original formats: the first
images of the MNIST and CIFAR-10 files of ../shared/data (tests needing them
skip without them) and, for CIFAR-100, which that folder lacks, random images
in its binary layout.

The ResNet34, VGG16 and MobileNet pairs are only checked with `--dry-run`
(the command they run, parsed by `keras-switcher train`'s parser): even at
one step, training and converting their backbones to TFLite take 25-45
CPU-seconds each, more than the suite's time budget holds. The ResNet18 pair
runs the same command line on CIFAR-10 in full, and test_backbones.py trains
and reloads every builder. Set `KERAS_SWITCHER_FULL_EXAMPLES=1` to run them
all in full.
"""

import gzip
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import MNIST_DIR, SHARED_DATA

HERE = os.path.dirname(__file__)
EXAMPLES = os.path.join(HERE, "..", "examples")
CIFAR10_DIR = os.path.join(SHARED_DATA, "cifar-10-batches-bin")
CIFAR10_TEST = os.path.join(SHARED_DATA, "cifar10-test-first1000", "test_batch_first1000.bin")
TRAIN_EXAMPLES, TEST_EXAMPLES = 16, 32
SMALLEST_RUN = [
    "--epochs", "1", "--train-split", f"train[:{TRAIN_EXAMPLES}]", "--batch-size", str(TRAIN_EXAMPLES),
    "--validation-split", "0", "--no-compare", "--verbose", "0",
]
# Script: its dataset, and whether it only runs with --dry-run.
PAPER_SCRIPTS = {
    "mnist_lenet300100.py": ("mnist", False),
    "mnist_lenet5.py": ("mnist", False),
    "cifar10_resnet18.py": ("cifar10", False),
    "cifar10_resnet34.py": ("cifar10", True),
    "cifar10_vgg16.py": ("cifar10", True),
    "cifar10_mobilenet.py": ("cifar10", True),
    "cifar100_resnet34.py": ("cifar100", True),
}
FULL = os.environ.get("KERAS_SWITCHER_FULL_EXAMPLES") == "1"


def _mnist_folder(folder):
    """The first MNIST images of ../shared/data, as the four IDX files."""
    files = {
        "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", TRAIN_EXAMPLES),
        "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", TEST_EXAMPLES),
    }
    if not all(os.path.isfile(os.path.join(MNIST_DIR, name)) for *names, _ in files.values() for name in names):
        pytest.skip(f"MNIST files not found in {MNIST_DIR} (README.md, 'Quick start', says where the tests look for data)")
    folder.mkdir()
    for images, labels, count in files.values():
        for name, header_size, item_bytes in ((images, 16, 28 * 28), (labels, 8, 1)):
            with gzip.open(os.path.join(MNIST_DIR, name), "rb") as file:
                header = np.frombuffer(file.read(header_size), ">u4").copy()
                body = file.read(count * item_bytes)
            header[1] = count
            with gzip.open(folder / name, "wb") as file:
                file.write(header.tobytes() + body)
    return folder


def _cifar10_folder(folder):
    """The first CIFAR-10 images of ../shared/data, as the six binary files."""
    test = os.path.join(CIFAR10_DIR, "test_batch.bin")
    test = test if os.path.isfile(test) else CIFAR10_TEST
    train = [os.path.join(CIFAR10_DIR, f"data_batch_{i}.bin") for i in range(1, 6)]
    if not all(os.path.isfile(path) for path in train + [test]):
        pytest.skip(
            f"CIFAR-10 files not found in {CIFAR10_DIR} and {os.path.dirname(CIFAR10_TEST)} "
            "(README.md, 'Quick start', says where the tests look for data)"
        )
    folder.mkdir()
    record = 1 + 32 * 32 * 3
    for source, name, count in [(path, os.path.basename(path), TRAIN_EXAMPLES) for path in train] + [
        (test, "test_batch.bin", TEST_EXAMPLES)
    ]:
        with open(source, "rb") as file:
            (folder / name).write_bytes(file.read(count * record))
    return folder


def _cifar100_folder(folder):
    """Random images and labels in CIFAR-100's binary layout (coarse, fine, pixels)."""
    folder.mkdir()
    rng = np.random.RandomState(0)
    for name, count in (("train.bin", TRAIN_EXAMPLES), ("test.bin", TEST_EXAMPLES)):
        columns = [rng.randint(0, 20, (count, 1)), rng.randint(0, 100, (count, 1)), rng.randint(0, 256, (count, 3072))]
        (folder / name).write_bytes(np.concatenate(columns, axis=1).astype("uint8").tobytes())
    return folder


DATA = {"mnist": _mnist_folder, "cifar10": _cifar10_folder, "cifar100": _cifar100_folder}


def run_example(script, arguments, cwd):
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, os.path.join(EXAMPLES, script), *arguments],
        capture_output=True, text=True, timeout=600, env=env, cwd=cwd,
    )
    printed = result.stdout + result.stderr
    assert result.returncode == 0, printed[-4000:]
    return result.stdout


def test_every_example_is_checked():
    scripts = {name for name in os.listdir(EXAMPLES) if name.endswith(".py") and not name.startswith("_")}
    assert scripts == set(PAPER_SCRIPTS) | {"tune_lenet_mnist.py"}


@pytest.mark.parametrize("script", sorted(PAPER_SCRIPTS))
def test_paper_example_trains_evaluates_and_exports(script, tmp_path):
    dataset, dry_run_only = PAPER_SCRIPTS[script]
    data = DATA[dataset](tmp_path / "data")
    model = script[len(dataset) + 1 : -len(".py")]
    arguments = ["--data-dir", str(data), *SMALLEST_RUN]
    if dry_run_only and not FULL:
        printed = run_example(script, arguments + ["--dry-run"], tmp_path)
        assert printed.startswith(f"keras-switcher train --model {model} --dataset {dataset} --setting paper "), printed
        assert printed.rstrip().endswith(f"--output {model}_{dataset}.keras"), printed
        assert not list(tmp_path.glob("*.keras"))
        return
    printed = run_example(script, arguments, tmp_path)
    stem = f"{model}_{dataset}"  # The scripts' default output, in the working folder.
    assert "Test accuracy: " in printed and "sparsity of switched layers: " in printed, printed
    for ending in (".keras", ".tflite", ".json", "_curves.png", "_model.png"):
        assert (tmp_path / f"{stem}{ending}").is_file(), (ending, sorted(os.listdir(tmp_path)))
    summary = (tmp_path / f"{stem}.json").read_text()
    assert f'"test_examples": {TEST_EXAMPLES}' in summary and '"setting": "paper"' in summary
    assert '"epochs": 1' in summary


def test_tuning_example_searches_and_reports_the_best_model(tmp_path):
    data = _mnist_folder(tmp_path / "data")
    printed = run_example(
        "tune_lenet_mnist.py",
        ["--data-dir", str(data), "--train-examples", str(TRAIN_EXAMPLES), "--max-epochs", "1",
         "--directory", str(tmp_path / "tuning")],
        tmp_path,
    )
    assert "Best settings: {" in printed, printed[-3000:]
    assert "Test accuracy of the best model: " in printed
    assert "total " in printed  # The best model's sparsity report.

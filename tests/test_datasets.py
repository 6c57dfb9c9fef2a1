import gzip
import os
import shutil

import numpy as np
import pytest

from keras_switcher import datasets
from keras_switcher.datasets import splits


def test_digits_ships_with_scikit_learn():
    train = datasets.load("digits", split="train", batch_size=2000)
    test = datasets.load("digits", split="test", batch_size=2000)
    (x_train, y_train), (x_test, _) = next(iter(train)), next(iter(test))
    assert x_train.shape == (1437, 8, 8, 1) and x_test.shape == (360, 8, 8, 1)
    assert 0.0 <= float(np.min(x_train)) and float(np.max(x_train)) == 1.0
    assert set(np.unique(y_train)) == set(range(10))


def test_digits_slices_and_does_not_shuffle_test():
    first = next(iter(datasets.load("digits", split="test[:10]", batch_size=10)))[1]
    again = next(iter(datasets.load("digits", split="test[:10]", batch_size=10)))[1]
    np.testing.assert_array_equal(first, again)
    assert len(first) == 10


@pytest.mark.parametrize(
    "split, expected",
    [("train", ("train", None, None)), ("test[:10%]", ("test", None, "10%")), ("train[-500:]", ("train", "-500", None))],
)
def test_split_strings(split, expected):
    assert splits.parse(split, ("train", "test")) == expected


def test_bad_split_is_named():
    with pytest.raises(ValueError, match="split='validation'"):
        datasets.load("digits", split="validation")


def test_unknown_dataset_is_named():
    with pytest.raises(ValueError, match="name='imagenet'"):
        datasets.load("imagenet")


def test_bad_batch_size_is_named():
    with pytest.raises(ValueError, match="batch_size=0"):
        datasets.load("digits", batch_size=0)


def test_mnist_from_original_files(mnist_dir):
    train = datasets.load("mnist", split="train", batch_size=10_000, data_dir=mnist_dir)
    test = datasets.load("mnist", split="test", batch_size=10_000, data_dir=mnist_dir)
    counts = [sum(len(y) for _, y in data) for data in (train, test)]
    assert counts == [60_000, 10_000]
    x, y = next(iter(test))
    assert x.shape == (10_000, 28, 28, 1) and x.dtype == "float32"
    assert np.bincount(y.numpy()).tolist()[:2] == [980, 1135]


def test_unreadable_folder_is_named(tmp_path):
    missing = str(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        datasets.load("mnist", data_dir=missing)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz"):
        datasets.load("mnist", data_dir=str(tmp_path))


def _write_mnist_like(folder, images_bytes):
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        payload = images_bytes if "images" in name else np.array([2049, 2], ">u4").tobytes() + bytes([1, 2])
        with gzip.open(os.path.join(folder, name), "wb") as file:
            file.write(payload)


def test_truncated_file_is_named(tmp_path):
    header = np.array([2051, 2, 28, 28], ">u4").tobytes()
    _write_mnist_like(tmp_path, header + bytes(100))
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz holds .* truncated or corrupt"):
        datasets.load("mnist", split="test", data_dir=str(tmp_path))


def test_wrong_magic_is_named(tmp_path):
    _write_mnist_like(tmp_path, np.array([7, 0, 28, 28], ">u4").tobytes())
    with pytest.raises(ValueError, match="magic number 7"):
        datasets.load("mnist", split="test", data_dir=str(tmp_path))


def test_not_gzip_is_named(tmp_path, mnist_dir):
    for name in os.listdir(mnist_dir):
        shutil.copy(os.path.join(mnist_dir, name), tmp_path / name)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not a gzip file")
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz is not a readable gzip file"):
        datasets.load("mnist", split="test", data_dir=str(tmp_path))


def test_tensorflow_datasets_gets_as_far_as_the_download(tmp_path, monkeypatch):
    """The real tfds path: everything it imports is installed and it tries
    to download, which fails here only for want of a network (or, with a
    network, downloads MNIST into a temporary folder)."""
    from tensorflow_datasets.core import constants
    from tensorflow_datasets.core.download import downloader

    monkeypatch.setattr(constants, "DATA_DIR", str(tmp_path))
    monkeypatch.setattr(downloader, "MAX_RETRIES", 0)  # No minutes of back-off.
    try:
        images, labels = next(iter(datasets.load("mnist", split="test[:8]", batch_size=8)))
    except RuntimeError as error:
        assert "network is unreachable" in str(error), error
        assert "is not installed" not in str(error)
    else:
        assert tuple(images.shape) == (8, 28, 28, 1) and tuple(labels.shape) == (8,)


def test_a_missing_package_of_tensorflow_datasets_is_told_apart_from_the_network(monkeypatch):
    import tensorflow_datasets as tfds

    def missing(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'importlib_resources'", name="importlib_resources")

    monkeypatch.setattr(tfds, "load", missing)
    with pytest.raises(RuntimeError, match="'importlib_resources' it needs is not installed.*pip install importlib_resources"):
        datasets.load("mnist")


def test_offline_download_names_the_network(monkeypatch):
    import tensorflow_datasets as tfds

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(tfds, "load", offline)
    with pytest.raises(RuntimeError, match="network is unreachable.*pass their folder as data_dir"):
        datasets.load("mnist")

import numpy as np
import pytest

from keras_switcher import datasets
from keras_switcher.datasets import cifar


def write_cifar100(folder, count, seed=0):
    """Writes train.bin and test.bin in CIFAR-100's binary layout."""
    rng = np.random.RandomState(seed)
    folder.mkdir()
    expected = {}
    for split in ("train", "test"):
        coarse, fine = rng.randint(0, 20, count), rng.randint(0, 100, count)
        images = rng.randint(0, 256, (count, 32, 32, 3)).astype(np.uint8)
        planes = images.transpose(0, 3, 1, 2).reshape(count, -1)  # R, G, B planes.
        records = np.concatenate([coarse[:, None], fine[:, None], planes], axis=1)
        records.astype(np.uint8).tofile(folder / f"{split}.bin")
        expected[split] = (images, coarse, fine)
    return expected


def test_cifar100_reader_reads_images_fine_and_coarse_labels(tmp_path):
    expected = write_cifar100(tmp_path / "cifar-100-binary", 7)
    images, coarse, fine = expected["test"]
    read, labels = cifar.read_split(tmp_path, "cifar100", "test")
    np.testing.assert_array_equal(read, images)
    np.testing.assert_array_equal(labels, fine)
    _, labels = cifar.read_split(tmp_path / "cifar-100-binary", "cifar100", "test", "coarse")
    np.testing.assert_array_equal(labels, coarse)
    batch = next(iter(datasets.load("cifar100", "test", batch_size=7, data_dir=tmp_path)))
    np.testing.assert_allclose(batch[0].numpy(), images / 255.0, atol=1e-6)
    np.testing.assert_array_equal(batch[1].numpy(), fine)


def test_truncated_or_foreign_files_give_clear_errors(tmp_path):
    write_cifar100(tmp_path / "cifar-100-binary", 3)
    path = tmp_path / "cifar-100-binary" / "train.bin"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="train.bin.*truncated"):
        datasets.load("cifar100", "train", data_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="data_batch_1.bin"):
        datasets.load("cifar10", "train", data_dir=tmp_path)
    # A CIFAR-100 file read as CIFAR-10 has the wrong record size.
    (tmp_path / "cifar-10-batches-bin").mkdir()
    for i in range(1, 6):
        (tmp_path / "cifar-10-batches-bin" / f"data_batch_{i}.bin").write_bytes(
            (tmp_path / "cifar-100-binary" / "test.bin").read_bytes()
        )
    with pytest.raises(ValueError, match="whole number"):
        datasets.load("cifar10", "train", data_dir=tmp_path)


def test_augmentation_and_normalisation_in_the_pipeline(tmp_path):
    expected = write_cifar100(tmp_path / "cifar-100-binary", 16)
    plain = next(iter(datasets.load("cifar100", "train", 16, tmp_path, shuffle=False)))[0].numpy()
    augmented = next(
        iter(datasets.load("cifar100", "train", 16, tmp_path, shuffle=False, augment=True, seed=1))
    )[0].numpy()
    assert augmented.shape == plain.shape == (16, 32, 32, 3)
    assert not np.allclose(augmented, plain)
    normalized = next(
        iter(datasets.load("cifar100", "train", 16, tmp_path, shuffle=False, normalize=True))
    )[0].numpy()
    mean, std = datasets.CHANNEL_STATISTICS["cifar100"]
    np.testing.assert_allclose(normalized, (expected["train"][0] / 255.0 - mean) / std, atol=1e-5)


def test_augment_and_normalize_are_refused_where_they_do_not_apply():
    with pytest.raises(ValueError, match="augment=True"):
        datasets.load("mnist", augment=True)
    with pytest.raises(ValueError, match="normalize=True"):
        datasets.load("digits", normalize=True)


def test_cifar10_training_files(cifar10_dir):
    images, labels = cifar.read_split(cifar10_dir, "cifar10", "train")
    assert images.shape == (50_000, 32, 32, 3) and images.dtype == np.uint8
    assert labels.min() == 0 and labels.max() == 9
    assert np.all(np.bincount(labels) == 5_000)

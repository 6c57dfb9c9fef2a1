import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

SHARED_DATA = os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
)
MNIST_DIR = os.path.join(SHARED_DATA, "mnist")


@pytest.fixture
def mnist_dir():
    """The original MNIST files of ../shared/data/mnist, or a skip."""
    if not os.path.isfile(os.path.join(MNIST_DIR, "t10k-images-idx3-ubyte.gz")):
        pytest.skip(f"MNIST files not found in {MNIST_DIR} (README.md, 'Quick start', says where the tests look for data)")
    return MNIST_DIR


@pytest.fixture
def cifar10_dir():
    """The CIFAR-10 binary training files of ../shared/data, or a skip."""
    folder = os.path.join(SHARED_DATA, "cifar-10-batches-bin")
    if not os.path.isfile(os.path.join(folder, "data_batch_5.bin")):
        pytest.skip(f"CIFAR-10 files not found in {folder} (README.md, 'Quick start', says where the tests look for data)")
    return folder

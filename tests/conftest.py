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
        pytest.skip(f"MNIST files not found in {MNIST_DIR} (see SPEC.md, section 5)")
    return MNIST_DIR

"""keras-switcher: sparse dense layers learned by switcher networks."""

import importlib
import os
import sys

if os.path.basename(sys.argv[0]) == "keras-switcher":
    # The command line: keep TensorFlow's native start-up log lines (CUDA
    # probing, CPU features) off the terminal unless the user asks for them.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # An install without TensorFlow (the `jax` or `torch` extra) runs the
    # command line on the backend it has.
    from keras_switcher import _extras

    _extras.choose_backend()

from keras_switcher import applications, baselines, datasets, plot, sparsity, switchers  # noqa: E402
from keras_switcher.callbacks import (  # noqa: E402
    MultiStepDecay,
    NonFiniteGuard,
    SparsityLogger,
)
from keras_switcher.conversion import switch  # noqa: E402
from keras_switcher.layers import SwitchedDense, SwitchedEinsumDense  # noqa: E402
from keras_switcher.models import SwitchedModel  # noqa: E402
from keras_switcher.optimizers import PairedOptimizer  # noqa: E402
from keras_switcher.reporting import format_report, report  # noqa: E402
from keras_switcher.sparsity import SparsityPlan, SparsityRamp  # noqa: E402
from keras_switcher.switchers import (  # noqa: E402
    MagnitudeSwitcher,
    MovementSwitcher,
    NeuronSwitcher,
    Switcher,
    UNetSwitcher,
)

__version__ = "0.1.0"

# Submodules reached as attributes (`ks.export.to_tflite`), imported on first
# use. `tuner` needs Keras Tuner (the `tuner` extra); `export.to_tflite`
# imports TensorFlow and LiteRT (the `tensorflow` extra) when called.
_LAZY_SUBMODULES = ("export", "saving", "training", "tuner", "cli")


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"keras_switcher.{name}")
    raise AttributeError(f"module 'keras_switcher' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_SUBMODULES))

"""keras-switcher: sparse dense layers learned by switcher networks."""

from keras_switcher import applications, baselines, datasets, plot
from keras_switcher.callbacks import (
    MultiStepDecay,
    NonFiniteGuard,
    SparsityLogger,
    SparsityRamp,
)
from keras_switcher.conversion import switch
from keras_switcher.layers import SwitchedDense
from keras_switcher.models import SwitchedModel
from keras_switcher.reporting import format_report, report
from keras_switcher.switchers import NeuronSwitcher, Switcher, UNetSwitcher

__version__ = "0.1.0"

"""keras-switcher: sparse dense layers learned by switcher networks."""

from keras_switcher.layers import SwitchedDense
from keras_switcher.switchers import Switcher, UNetSwitcher

__version__ = "0.1.0"

"""Peers to measure the switcher against: magnitude pruning and CKA-SR."""

from keras_switcher.baselines.cka import CKAPenalty, linear_cka
from keras_switcher.baselines.magnitude import (
    GradualMagnitudePruning,
    MaskConstraint,
    apply_masks,
    prunable_layers,
    remove_masks,
    zero_fraction,
)

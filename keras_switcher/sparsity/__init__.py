"""How sparse the switched layers are: the plan, its allocations, the ramp.

- `SparsityPlan`: the overall target and how layers share it
  (`ALLOCATIONS`); builders, `switch()`, the command line and the tuner
  all turn their `target_sparsity` into one.
- `allocations`: ERK shares, the magnitude splits and the exact top-k rule
  (`lowest`) that every switcher's gate is made with.
- `schedules`: the cubic schedule and the base of gradual callbacks.
- `SparsityRamp`: raises the sparsity in use to the plan's target.
"""

from keras_switcher.sparsity.allocations import (
    MAGNITUDE_METHODS,
    erk_sparsities,
    lowest,
    magnitude_masks,
)
from keras_switcher.sparsity.plan import (
    ALLOCATIONS,
    SparsityPlan,
    get,
    kernel_shapes,
    share_by_threshold,
)
from keras_switcher.sparsity.ramp import SparsityRamp
from keras_switcher.sparsity.schedules import (
    UPDATES_PER_EPOCH,
    GradualUpdates,
    check_frequency,
    cubic_schedule,
    update_period,
)

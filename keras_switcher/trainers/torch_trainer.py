"""`SwitchedModel`'s training step on the PyTorch backend."""

import functools

import torch
from keras import ops
from keras import tree

from keras_switcher.trainers.base import SwitchedTrainer


class TorchSwitchedTrainer(SwitchedTrainer):
    """Trains a `SwitchedModel` eagerly, with `torch.autograd.grad`.

    As in Keras's PyTorch trainer, a step runs eagerly, and under
    `torch.compile` when the model is compiled with `jit_compile=True`;
    `steps_per_execution` must be 1. The phase is chosen on the host
    before each step, and one function per phase runs it (compiled once
    each, so that `torch.compile` never traces the choice). The gate
    cache's work before and after a step is decided on the host too, where
    every value already is.

    The step runs under `torch.no_grad()`, and only the loss of
    `_gradients` records a graph. Its gradients come from
    `torch.autograd.grad` with respect to the variables' tensors, not from
    `.backward()`: the cached gates are non-trainable variables (their
    tensors do not require a gradient), and no `.grad` is left behind to be
    added to by the next step.
    """

    def _gradients(self, loss_fn, variables):
        # Read outside the layers' autocast scope (mixed precision), the
        # value is the variable's own leaf tensor, not a cast copy.
        sources = [variable.value for variable in variables]
        frozen = [source for source in sources if not source.requires_grad]
        try:
            for source in frozen:  # Cached gates, for the duration.
                source.requires_grad_(True)
            with torch.enable_grad():
                loss, aux = loss_fn()
                gradients = torch.autograd.grad(loss, sources, allow_unused=True)
        finally:
            for source in frozen:
                source.requires_grad_(False)
        # As on TensorFlow, a variable the loss does not reach gets `None`.
        return loss.detach(), _detached(aux), list(gradients)

    def _read(self, variable):
        return ops.convert_to_numpy(variable)  # One transfer to the host.

    def _run_if(self, condition, fn, *args):
        if bool(condition):  # Eager: decided on the host.
            fn(*args)

    def _apply_gradients(self, optimizer, gradients, variables):
        with torch.no_grad():
            optimizer.apply(gradients, variables)

    def train_step(self, data):
        """Runs one training step in the current phase of the schedule.

        Args:
            data: A batch `(x, y)` or `(x, y, sample_weight)`.

        Returns:
            The step's logs.
        """
        with torch.no_grad():
            return self._cached_phase_train_step(self.current_phase(), data)

    def evaluate(self, *args, **kwargs):
        # Keras's PyTorch trainer reads `self.optimizer` before checking
        # that the model is compiled; on the other backends an uncompiled
        # model's `evaluate` says to call `compile()` first, as here.
        self._assert_compile_called("evaluate")
        return super().evaluate(*args, **kwargs)

    def make_train_function(self, force=False):
        if self.train_function is not None and not force:
            return self.train_function
        if self.steps_per_execution > 1:  # As Keras's PyTorch trainer says.
            raise ValueError(
                "`steps_per_execution` must be 1 with the PyTorch backend. "
                f"Received: steps_per_execution={self.steps_per_execution}"
            )
        self._prepare_training()

        def phase_step(phase, data):
            with torch.no_grad():
                return self._phase_train_step(phase, data)

        compiled = self._should_torch_compile()
        steps = {}
        for phase in self.schedule.phases():
            step = functools.partial(phase_step, phase)
            steps[phase] = torch.compile(step) if compiled else step

        def train_function(data):
            data = data[0]  # One step per execution.
            phase = self.current_phase()
            with torch.no_grad():
                return self._with_gate_cache(phase, steps[phase], data)

        self.train_function = train_function
        return train_function


def _detached(structure):
    """`structure` with its tensors detached from the graph of the loss."""
    return tree.map_structure(
        lambda value: value.detach() if isinstance(value, torch.Tensor) else value,
        structure,
    )

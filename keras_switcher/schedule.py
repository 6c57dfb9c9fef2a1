"""Which weights a `SwitchedModel` trains at a given point of training."""

WARMUP = "warmup"
TASK = "task"
SWITCHER = "switcher"
PHASE_CODES = {WARMUP: -1, TASK: 0, SWITCHER: 1}


class AlternationSchedule:
    """Alternation of the task and switcher phases.

    Args:
        alternate: `"epoch"` for whole-epoch alternation (the authors':
            task phase in even epochs, switcher phase in odd epochs), a
            positive integer `N` for `N` task steps then `N` switcher steps,
            or a pair `(task_steps, switcher_steps)`; `switcher_steps` may be
            0 when the switchers learn within the task phase
            (`SwitchedModel(concurrent_switcher_updates=...)`).
        warmup_epochs: Number of epochs at the start that train the task
            weights with the gates switched off (plain dense layers).
        freeze_switchers_after: `None`, or the number of epochs after which
            only the task phase runs, so the last epochs fine-tune the task
            weights under switchers that no longer change (an extension).
        learns: `False` when the switchers have no trainable weights
            (magnitude, movement): every step after the warm-up is then a
            task step, whatever `alternate` says.

        fit_to_epoch: If `True`, a cycle of steps longer than an epoch is
            shrunk to one epoch, keeping the phases' ratio (each at least
            one step), once `set_steps_per_epoch` is told the number of
            steps per epoch (`SwitchedModel.fit` does): the switchers then
            train on any dataset size, and before `freeze_switchers_after`.

    Example:

    >>> schedule = AlternationSchedule(alternate="epoch", warmup_epochs=1)
    >>> [schedule.phase(epoch, 0) for epoch in range(4)]
    ['warmup', 'task', 'switcher', 'task']
    """

    def __init__(
        self,
        alternate="epoch",
        warmup_epochs=0,
        freeze_switchers_after=None,
        learns=True,
        fit_to_epoch=False,
    ):
        if alternate != "epoch":
            steps = alternate if isinstance(alternate, (tuple, list)) else (alternate,)
            minimums = (1, 0) if len(steps) == 2 else (1,)
            if len(steps) not in (1, 2) or not all(
                isinstance(n, int) and not isinstance(n, bool) and n >= least
                for n, least in zip(steps, minimums)
            ):
                raise ValueError(
                    "Received an invalid value for `alternate`, expected "
                    "'epoch', a positive integer number of steps or a pair "
                    "(task_steps, switcher_steps) with task_steps > 0 and "
                    f"switcher_steps >= 0. Received: alternate={alternate!r}"
                )
            alternate = steps[0] if len(steps) == 1 else tuple(steps)
        if (
            not isinstance(warmup_epochs, int)
            or isinstance(warmup_epochs, bool)
            or warmup_epochs < 0
        ):
            raise ValueError(
                "Received an invalid value for `warmup_epochs`, expected a "
                f"non-negative integer. Received: warmup_epochs={warmup_epochs!r}"
            )
        if freeze_switchers_after is not None and (
            not isinstance(freeze_switchers_after, int)
            or isinstance(freeze_switchers_after, bool)
            or freeze_switchers_after <= warmup_epochs
        ):
            raise ValueError(
                "Received an invalid value for `freeze_switchers_after`, "
                "expected None or an integer number of epochs larger than "
                f"`warmup_epochs` ({warmup_epochs}). "
                f"Received: freeze_switchers_after={freeze_switchers_after!r}"
            )
        self.alternate = alternate
        self.warmup_epochs = warmup_epochs
        self.freeze_switchers_after = freeze_switchers_after
        self.learns = learns
        if not isinstance(fit_to_epoch, bool):
            raise ValueError(
                "Received an invalid value for `fit_alternation_to_epoch`, "
                f"expected True or False. Received: {fit_to_epoch!r}"
            )
        self.fit_to_epoch = fit_to_epoch
        self.steps_per_epoch = None

    def set_steps_per_epoch(self, steps_per_epoch):
        """Sets the number of steps per epoch, which with `fit_to_epoch`
        bounds a cycle's length.

        Args:
            steps_per_epoch: A positive integer, or `None` (unknown: the
                cycle stays as given).
        """
        self.steps_per_epoch = steps_per_epoch

    @property
    def cycle(self):
        """`(task_steps, switcher_steps)` of one cycle, or `None` for `"epoch"`."""
        if self.alternate == "epoch":
            return None
        task_steps, switcher_steps = (
            self.alternate if isinstance(self.alternate, tuple) else (self.alternate,) * 2
        )
        epoch = self.steps_per_epoch if self.fit_to_epoch else None
        if not epoch or task_steps + switcher_steps <= epoch or not switcher_steps:
            return task_steps, switcher_steps
        switcher_steps = max(1, round(epoch * switcher_steps / (task_steps + switcher_steps)))
        return max(1, epoch - switcher_steps), switcher_steps

    def phase(self, epoch, step):
        """Returns the phase of a training step.

        Args:
            epoch: Number of epochs completed so far.
            step: Number of task or switcher steps completed so far (warm-up
                steps not counted).

        Returns:
            One of `"warmup"`, `"task"` and `"switcher"`.
        """
        if epoch < self.warmup_epochs:
            return WARMUP
        if not self.learns:
            return TASK
        if self.freeze_switchers_after is not None and epoch >= self.freeze_switchers_after:
            return TASK
        if self.alternate == "epoch":
            return TASK if (epoch - self.warmup_epochs) % 2 == 0 else SWITCHER
        task_steps, switcher_steps = self.cycle
        return TASK if step % (task_steps + switcher_steps) < task_steps else SWITCHER

    @property
    def has_switcher_phase(self):
        """Whether any step trains the switchers alone (not `(n, 0)`)."""
        return self.learns and not (isinstance(self.alternate, tuple) and self.alternate[1] == 0)

    def phases(self):
        """The phases that this schedule can reach, in `PHASE_CODES` order."""
        return [WARMUP] * (self.warmup_epochs > 0) + [TASK] + [SWITCHER] * self.has_switcher_phase

    def get_config(self):
        return {
            "alternate": self.alternate,
            "warmup_epochs": self.warmup_epochs,
            "freeze_switchers_after": self.freeze_switchers_after,
            "fit_alternation_to_epoch": self.fit_to_epoch,
        }

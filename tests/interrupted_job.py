"""Trains a small SwitchedModel with BackupAndRestore, optionally killing itself.

Run by test_interruption.py:

    python tests/interrupted_job.py BACKUP_DIR RESULT.npz [KILL_AT_STEP]

With KILL_AT_STEP the process sends itself SIGKILL when that many training
steps have run; run again without it, it resumes from the backup and saves
every weight, both optimisers' variables and the schedule position.
"""

import os
import signal
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_switcher import UNetSwitcher  # noqa: E402
from keras_switcher.applications import LeNet300100  # noqa: E402


class KillAt(keras.callbacks.Callback):
    def __init__(self, step):
        super().__init__()
        self.step = step
        self.seen = 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


def main(backup_dir, result, kill_at=None):
    keras.utils.set_random_seed(5)
    model = LeNet300100(
        input_shape=(8, 8, 1),
        switcher=UNetSwitcher(depth=1, base_channels=2),
        alternate=(3, 2),
        gate_cache_steps=2,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        switcher_optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
    )
    rng = np.random.RandomState(0)
    x, y = rng.rand(64, 8, 8, 1).astype("float32"), rng.randint(0, 10, 64)
    callbacks = [keras.callbacks.BackupAndRestore(backup_dir)]
    if kill_at is not None:
        callbacks.append(KillAt(kill_at))
    model.fit(x, y, batch_size=16, epochs=4, shuffle=False, verbose=0, callbacks=callbacks)
    state = {f"model/{v.path}": np.asarray(v) for v in model.weights}
    for name, optimizer in (("task", model.optimizer), ("switcher", model.switcher_optimizer)):
        state.update({f"{name}/{v.path}": np.asarray(v) for v in optimizer.variables})
    state["phase"] = np.array(model.current_phase())
    np.savez(result, **state)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else None)

"""A small distributed search on digits; run by test_tuner.py as chief and worker.

    KERASTUNER_TUNER_ID=chief|tuner0 KERASTUNER_ORACLE_IP=127.0.0.1 \
    KERASTUNER_ORACLE_PORT=PORT python tests/tuning_job.py DIRECTORY
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras_tuner  # noqa: E402

from keras_switcher import datasets  # noqa: E402
from keras_switcher.tuner import SwitchedHyperModel, build_tuner  # noqa: E402

SMALL_SPACE = {
    "switcher_depth": 1,
    "switcher_channels": 2,
    "target_sparsity": [0.8, 0.9],
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "switcher_learning_rate": 1e-3,
    "task_steps": 5,
    "switcher_steps": 1,
    "gate_cache_steps": 2,
}


def main(directory):
    hypermodel = SwitchedHyperModel("lenet300100", (8, 8, 1), 10, search_space=SMALL_SPACE)
    tuner = build_tuner(
        keras_tuner.RandomSearch,
        hypermodel,
        max_trials=2,
        directory=directory,
        project_name="distributed",
        seed=0,
    )
    train = datasets.load("digits", "train[:256]", 64, seed=0)
    val = datasets.load("digits", "test[:100]", 100)
    tuner.search(train, validation_data=val, epochs=1, verbose=0)
    if os.environ["KERASTUNER_TUNER_ID"] == "chief":
        print("best score", tuner.oracle.get_best_trials(1)[0].score)


if __name__ == "__main__":
    main(sys.argv[1])

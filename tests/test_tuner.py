import os
import socket
import subprocess
import sys

import keras_tuner
import numpy as np
import pytest

from keras_switcher import SwitchedModel, datasets, report
from keras_switcher.tuner import DEFAULT_SEARCH_SPACE, SparsityScore, SwitchedHyperModel, build_tuner
from tuning_job import SMALL_SPACE


@pytest.fixture(scope="module")
def digits():
    train = datasets.load("digits", "train[:256]", 64, seed=0)
    val = datasets.load("digits", "test", 360)
    return train, val


def hypermodel(**kwargs):
    return SwitchedHyperModel("lenet300100", (8, 8, 1), 10, search_space=SMALL_SPACE, **kwargs)


@pytest.mark.parametrize(
    "tuner_class, kwargs",
    [
        # RandomSearch searches in test_distributed_chief_and_worker_finish_a_search.
        (keras_tuner.Hyperband, {"max_epochs": 2, "factor": 2, "hyperband_iterations": 1}),
    ],
)
def test_search_with_the_sparsity_score_and_reload_the_best(tuner_class, kwargs, digits, tmp_path):
    train, val = digits
    tuner = build_tuner(
        tuner_class,
        hypermodel(min_sparsity=0.85),
        directory=tmp_path,
        project_name="search",
        seed=0,
        **kwargs,
    )
    tuner.search(train, validation_data=val, epochs=2, verbose=0)
    trials = tuner.oracle.get_best_trials(10)
    assert len(trials) >= 2 and all(t.score is not None for t in trials)
    best = trials[0]
    # Only models at >= 85% sparsity score above 0: the 0.9 target wins.
    assert best.hyperparameters.get("target_sparsity") == 0.9 and best.score > 0
    model = tuner.get_best_models(1)[0]
    assert isinstance(model, SwitchedModel)
    x, y = next(iter(val))
    accuracy = float(np.mean(np.argmax(model.predict(x, verbose=0), -1) == y.numpy()))
    # The reloaded model is the best epoch's: its score is its accuracy.
    assert report(model)["total"]["sparsity"] >= 0.85
    assert best.score == pytest.approx(accuracy, abs=1e-6)


def test_distributed_chief_and_worker_finish_a_search(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    job = os.path.join(os.path.dirname(__file__), "tuning_job.py")

    def start(tuner_id):
        env = dict(
            os.environ,
            KERASTUNER_TUNER_ID=tuner_id,
            KERASTUNER_ORACLE_IP="127.0.0.1",
            KERASTUNER_ORACLE_PORT=str(port),
        )
        return subprocess.Popen(
            [sys.executable, job, str(tmp_path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    chief = start("chief")
    worker = start("tuner0")
    try:
        worker_out, _ = worker.communicate(timeout=240)
        chief_out, _ = chief.communicate(timeout=120)
    finally:
        for process in (chief, worker):
            process.kill()
    assert worker.returncode == 0, worker_out[-2000:]
    assert chief.returncode == 0, chief_out[-2000:]
    assert "best score" in chief_out
    trials = os.listdir(tmp_path / "distributed")
    assert sum(name.startswith("trial_") for name in trials) == 2


def test_score_weighs_sparsity_and_penalises_too_dense_models():
    score = SparsityScore(min_sparsity=0.5, sparsity_weight=0.1)
    score.set_model(_FakeModel(sparsity=0.6))
    logs = {"val_accuracy": 0.9}
    score.on_epoch_end(0, logs)
    assert logs["val_score"] == pytest.approx(0.96) and logs["val_sparsity"] == pytest.approx(0.6)
    score.set_model(_FakeModel(sparsity=0.4))
    logs = {"val_accuracy": 0.9}
    score.on_epoch_end(0, logs)
    assert logs["val_score"] == pytest.approx(0.9 + 0.04 - 1)
    with pytest.raises(ValueError, match="validation_data"):
        score.on_epoch_end(0, {"accuracy": 0.5})


class _FakeModel:
    """A one-layer model whose gate switches off a given fraction."""

    def __init__(self, sparsity):
        from keras_switcher import SwitchedDense, UNetSwitcher

        import keras

        inputs = keras.Input((10,))
        layer = SwitchedDense(10, switcher=UNetSwitcher(depth=0, base_channels=1, target_sparsity=sparsity))
        self.model = keras.Model(inputs, layer(inputs))

    def __getattr__(self, name):
        return getattr(self.model, name)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"backbone": "resnet99"}, "backbone='resnet99'"),
        ({"backbone": "lenet300100", "input_shape": None}, "input_shape=None"),
        ({"search_space": {"depth": [1, 2]}}, "unknown names"),
        ({"search_space": {"gate": []}}, "empty list"),
        ({"search_space": {"switcher": ["unet", "magnitud"]}}, "names among \\['magnitude'"),
        ({"search_space": {name: value[0] if isinstance(value, (list, tuple)) else value
                           for name, value in DEFAULT_SEARCH_SPACE.items()}}, "search space is empty"),
    ],
)
def test_bad_hypermodel_arguments_fail_before_any_trial(kwargs, message):
    arguments = {"backbone": "lenet300100", "input_shape": (8, 8, 1), **kwargs}
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        SwitchedHyperModel(**arguments)


def test_objective_that_is_never_logged_fails_before_any_trial(tmp_path):
    with pytest.raises(ValueError, match="never logged: 'val_f1'"):
        build_tuner(keras_tuner.RandomSearch, hypermodel(), objective="val_f1", directory=tmp_path)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("tuner_class", [keras_tuner.GridSearch, keras_tuner.BayesianOptimization])
def test_grid_and_bayesian_tuners_run_the_hypermodel(tuner_class, tmp_path):
    train = datasets.load("digits", "train[:128]", 64, seed=0)
    val = datasets.load("digits", "test[:100]", 100)
    tuner = build_tuner(tuner_class, hypermodel(), max_trials=1, directory=tmp_path, project_name="other")
    tuner.search(train, validation_data=val, epochs=1, verbose=0)
    (trial,) = tuner.oracle.get_best_trials(1)
    assert trial.score is not None and trial.metrics.exists("val_sparsity")


def test_the_search_can_range_over_switcher_kinds():
    hypermodel = SwitchedHyperModel("lenet300100", (8, 8, 1), search_space={"switcher": ["unet", "magnitude"]})
    for kind, expected in (("unet", "UNetSwitcher"), ("magnitude", "MagnitudeSwitcher")):
        hp = keras_tuner.HyperParameters()
        hypermodel.declare_hyperparameters(hp)
        hp.values["switcher"] = kind
        model = hypermodel.build(hp)
        assert {layer.switcher.__class__.__name__ for layer in model.switched_layers} == {expected}

import numpy as np
import pytest

from keras_switcher import SwitchedModel, format_report, report, training


def test_recommended_setting_builds_a_cached_sparse_model():
    model = training.build_model("lenet300100", (8, 8, 1), epochs=8, setting="recommended")
    assert isinstance(model, SwitchedModel)
    assert (model.gate_refresh_steps, model.switcher_accumulation_steps) == (100, 100)
    assert model.schedule.freeze_switchers_after == 6
    assert np.isclose(report(model)["total"]["sparsity"], 0.9, atol=0.002)
    names = [type(c).__name__ for c in training.training_callbacks("recommended", 8)]
    assert names == ["MultiStepDecay", "SparsityRamp"]


def test_paper_setting_matches_the_authors_code():
    model = training.build_model("lenet300100", (28, 28, 1), epochs=4, setting="paper")
    fc1 = model.get_layer("fc1")
    assert fc1.bias is None
    assert abs(float(np.std(fc1.kernel.numpy())) - 0.01) < 0.001
    task_optimizer = model.optimizer.task_optimizer
    assert type(task_optimizer).__name__ == "SGD" and float(task_optimizer.learning_rate.numpy()) == pytest.approx(0.1)
    assert model.switched_layers[0].switcher.depth == 5


def test_plain_model_for_comparison():
    model = training.build_model("lenet5", (28, 28, 1), epochs=4, setting="adam", switched=False)
    assert not isinstance(model, SwitchedModel)


def test_task_optimizer_replaces_the_settings_for_every_model():
    switched = training.build_model("lenet300100", (8, 8, 1), epochs=2, setting="recommended", task_optimizer="momentum")
    plain = training.build_model("lenet300100", (8, 8, 1), epochs=2, setting="recommended", switched=False,
                                 task_optimizer="momentum", learning_rate=0.05)
    for optimizer, rate in ((switched.optimizer.task_optimizer, 0.1), (plain.optimizer, 0.05)):
        config = optimizer.get_config()
        assert type(optimizer).__name__ == "SGD"
        assert (config["momentum"], config["nesterov"], config["weight_decay"]) == (0.9, True, 5e-4)
        assert config["learning_rate"] == pytest.approx(rate)
    assert type(switched.switcher_optimizer).__name__ == "Adam"


@pytest.mark.parametrize("kwargs, message", [
    ({"setting": "fast"}, "setting='fast'"),
    ({"builder_name": "resnet"}, "model='resnet'"),
    ({"task_optimizer": "rmsprop"}, "task_optimizer='rmsprop'"),
])
def test_unknown_names_are_errors(kwargs, message):
    args = {"builder_name": "lenet300100", "input_shape": (8, 8, 1), "epochs": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        training.build_model(**args)


def test_report_counts_from_the_masks():
    model = training.build_model("lenet300100", (8, 8, 1), epochs=2, setting="adam")
    counted = report(model)
    for row, layer in zip(counted["layers"], model.switched_layers):
        mask = np.asarray(layer.mask())
        assert row["kept"] == int(mask.sum())
        assert row["dead_inputs"] == int((~mask.any(axis=1)).sum())
        assert row["dead_outputs"] == int((~mask.any(axis=0)).sum())
    assert counted["total"]["connections"] == 64 * 300 + 300 * 100 + 100 * 10
    assert "total" in format_report(counted)

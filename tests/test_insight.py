import json

import keras
import matplotlib.image
import numpy as np
import pytest
import tensorflow as tf

from keras_switcher import SparsityLogger, SparsityRamp, UNetSwitcher, cli, plot, report, saving
from keras_switcher.applications import LeNet300100


def small_lenet(target=0.9):
    keras.utils.set_random_seed(0)
    model = LeNet300100(
        input_shape=(8, 8, 1),
        switcher=UNetSwitcher(depth=1, base_channels=2, gate="binary", magnitude_prior=True),
        target_sparsity=target,
        alternate=(3, 1),
    )
    model.compile(optimizer="adam", switcher_optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def data():
    rng = np.random.RandomState(0)
    return rng.rand(32, 8, 8, 1).astype("float32"), rng.randint(0, 10, 32)


def test_report_counts_what_the_weights_say():
    model = small_lenet()
    counted = report(model)
    for row in counted["layers"]:
        layer = model.get_layer(row["name"])
        mask = np.asarray(layer.switcher(layer.kernel)) > 0
        assert row["kept"] == int(mask.sum())
        assert row["sparsity"] == pytest.approx(1 - mask.mean())
        assert row["dead_inputs"] == int((~mask.any(axis=1)).sum())
        assert row["dead_outputs"] == int((~mask.any(axis=0)).sum())
    assert counted["total"]["kept"] == sum(row["kept"] for row in counted["layers"])


def test_report_command_prints_a_table_or_json(tmp_path, capsys):
    model = small_lenet()
    path = tmp_path / "m.keras"
    saving.save_model(model, path)
    assert cli.main(["report", str(path)]) == 0
    assert "fc1" in capsys.readouterr().out
    assert cli.main(["report", str(path), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["total"]["kept"] == report(model)["total"]["kept"]
    assert cli.main(["report", str(tmp_path / "none.keras")]) == 1
    error = capsys.readouterr().err.strip()
    assert "none.keras" in error and "\n" not in error


def test_sparsity_logger_fills_the_history_and_tensorboard(tmp_path):
    model = small_lenet()
    x, y = data()
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[SparsityLogger(tmp_path)])
    counted = report(model)
    for row in counted["layers"]:
        assert history.history[f"sparsity_{row['name']}"][-1] == pytest.approx(row["sparsity"])
    assert history.history["sparsity_counted"][-1] == pytest.approx(counted["total"]["sparsity"])
    tags = set()
    for event_file in (tmp_path / "train").iterdir():
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            tags.update(value.tag for value in event.summary.value)
    assert {"sparsity_fc1", "sparsity_counted", "mask_fc1", "mask_predictions"} <= tags


def test_mask_png_shows_the_mask(tmp_path):
    model = small_lenet(target=0.5)
    layer = model.get_layer("fc2")  # 300x100: drawn at one pixel per connection or more.
    path = plot.mask(layer, tmp_path / "fc2.png")
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 100
    dark = image[..., :3].mean(axis=-1) < 0.5
    # The axes' frame: the long dark lines. Inside it, black pixels are kept
    # connections, as many as the mask keeps.
    frame_rows = np.flatnonzero(dark.mean(axis=1) > 0.5)
    frame_cols = np.flatnonzero(dark.mean(axis=0) > 0.5)
    box = dark[frame_rows.min() + 2 : frame_rows.max() - 1, frame_cols.min() + 2 : frame_cols.max() - 1]
    kept = float(np.asarray(layer.mask()).mean())
    assert 0.3 < kept < 0.7
    assert box.mean() == pytest.approx(kept, abs=0.05)


def test_training_curves_png(tmp_path):
    model = small_lenet()
    x, y = data()
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[SparsityLogger()])
    path = plot.training_curves(history, tmp_path / "curves.png")
    assert matplotlib.image.imread(path).shape[2] in (3, 4)
    with pytest.raises(ValueError, match="neither accuracy nor sparsity"):
        plot.training_curves({"loss": [1.0]}, tmp_path / "none.png")
    with pytest.raises(ValueError, match="'.png'"):
        plot.training_curves(history, tmp_path / "curves.jpg")


def test_sparsity_ramp_refreshes_cached_gates():
    model = LeNet300100(
        input_shape=(8, 8, 1),
        switcher=UNetSwitcher(depth=1, base_channels=2, gate="binary", magnitude_prior=True),
        target_sparsity=0.9,
        gate_cache_steps=1000,
    )
    model.compile(optimizer="adam", switcher_optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = data()
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[SparsityRamp(end_epoch=1)])
    # The step's own sparsity follows the ramp although the cache would last 1,000 steps.
    assert history.history["sparsity"][-1] == pytest.approx(0.9, abs=0.01)

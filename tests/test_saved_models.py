import json
import os

import numpy as np
import pytest

from keras_switcher import SwitchedModel, datasets, export, report, saving

FOLDER = os.path.join(os.path.dirname(__file__), "..", "saved_models")
# Scattered gates, and gates switched in 1x4 blocks (TFLite's fast sparse layout).
STEMS = ["lenet300100_mnist", "lenet300100_mnist_blocks"]


@pytest.fixture(scope="module", params=STEMS)
def stem(request):
    return os.path.join(FOLDER, request.param)


@pytest.fixture(scope="module")
def card(stem):
    with open(f"{stem}.json") as file:
        return json.load(file)


def test_files_load_and_match_the_card(stem, card):
    model = saving.load_model(f"{stem}.keras")
    assert isinstance(model, SwitchedModel)
    counted, expected = report(model), json.loads(json.dumps(card["sparsity"]), object_hook=_tuples)
    # The cards predate the parameter counts of `report`: compare what they hold.
    assert len(counted["layers"]) == len(expected["layers"])
    for row, card_row in zip(counted["layers"] + [counted["total"]], expected["layers"] + [expected["total"]]):
        assert {key: row[key] for key in card_row} == card_row
    assert os.path.getsize(f"{stem}.keras") == card["keras_bytes"]
    assert os.path.getsize(f"{stem}.tflite") == card["tflite_bytes"]
    with open(os.path.join(FOLDER, "README.md")) as file:
        text = file.read()
    assert f"{card['keras_accuracy']:.2%} ({card['keras_correct']:,} correct)" in text
    assert f"{card['tflite_accuracy']:.2%} ({card['tflite_correct']:,} correct)" in text
    assert f"{card['tflite_bytes']:,} bytes" in text


def _tuples(row):
    if "shape" in row:
        row["shape"] = tuple(row["shape"])
    return row


def test_block_model_switches_whole_blocks_of_four_inputs():
    model = saving.load_model(os.path.join(FOLDER, "lenet300100_mnist_blocks.keras"))
    for layer in model.switched_layers:
        mask = np.asarray(layer.mask())
        rows = mask.shape[0] - mask.shape[0] % 4
        blocks = mask[:rows].reshape(-1, 4, mask.shape[1])
        assert (blocks == blocks[:, :1]).all(), layer.name


def test_card_accuracy_is_reproduced_exactly(stem, card, mnist_dir):
    images, labels = next(iter(datasets.load("mnist", "test", 10_000, data_dir=mnist_dir)))
    images, labels = np.asarray(images), np.asarray(labels)
    model = saving.load_model(f"{stem}.keras")
    predictions = model.predict(images, batch_size=1000, verbose=0)
    keras_correct = int(np.sum(np.argmax(predictions, -1) == labels))
    tflite_correct = int(np.sum(np.argmax(export.run_tflite(f"{stem}.tflite", images), -1) == labels))
    assert (keras_correct, tflite_correct) == (card["keras_correct"], card["tflite_correct"])

import json
import os

import numpy as np
import pytest

from keras_switcher import SwitchedModel, datasets, export, report, saving

FOLDER = os.path.join(os.path.dirname(__file__), "..", "saved_models")
STEM = os.path.join(FOLDER, "lenet300100_mnist")


@pytest.fixture(scope="module")
def card():
    with open(f"{STEM}.json") as file:
        return json.load(file)


def test_files_load_and_match_the_card(card):
    model = saving.load_model(f"{STEM}.keras")
    assert isinstance(model, SwitchedModel)
    assert report(model) == json.loads(json.dumps(card["sparsity"]), object_hook=_tuples)
    assert os.path.getsize(f"{STEM}.keras") == card["keras_bytes"]
    assert os.path.getsize(f"{STEM}.tflite") == card["tflite_bytes"]
    with open(os.path.join(FOLDER, "README.md")) as file:
        text = file.read()
    assert f"{card['keras_accuracy']:.2%} ({card['keras_correct']:,} correct)" in text
    assert f"{card['tflite_accuracy']:.2%} ({card['tflite_correct']:,} correct)" in text
    assert f"{card['tflite_bytes']:,} bytes" in text


def _tuples(row):
    if "shape" in row:
        row["shape"] = tuple(row["shape"])
    return row


def test_card_accuracy_is_reproduced_exactly(card, mnist_dir):
    images, labels = next(iter(datasets.load("mnist", "test", 10_000, data_dir=mnist_dir)))
    images, labels = np.asarray(images), np.asarray(labels)
    model = saving.load_model(f"{STEM}.keras")
    predictions = model.predict(images, batch_size=1000, verbose=0)
    keras_correct = int(np.sum(np.argmax(predictions, -1) == labels))
    tflite_correct = int(np.sum(np.argmax(export.run_tflite(f"{STEM}.tflite", images), -1) == labels))
    assert (keras_correct, tflite_correct) == (card["keras_correct"], card["tflite_correct"])

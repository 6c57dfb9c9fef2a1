import keras
import numpy as np
import pytest

from keras_switcher import SwitchedModel, UNetSwitcher
from keras_switcher.applications import MobileNet, ResNet18, ResNet34, VGG16

LIGHT = UNetSwitcher(depth=1, base_channels=2)
# For the 4096x4096 kernels of VGG16's ImageNet head: one 3x3 level.
TINY = UNetSwitcher(depth=0, base_channels=1)


def trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize(
    "builder, expected",
    [(ResNet18, 11_689_512), (ResNet34, 21_797_672)],
)
def test_resnets_have_torchvision_sizes(builder, expected):
    assert trainable(builder(input_shape=(224, 224, 3), switched=False)) == expected


@pytest.mark.parametrize(
    "builder, reference, kwargs",
    [
        (VGG16, keras.applications.VGG16, {}),
        (MobileNet, keras.applications.MobileNet, {}),
        (MobileNet, keras.applications.MobileNet, {"alpha": 0.5, "depth_multiplier": 2}),
    ],
)
def test_keras_backbones_have_keras_sizes(builder, reference, kwargs):
    ours = builder(input_shape=(224, 224, 3), switched=False, **kwargs)
    assert ours.count_params() == reference(weights=None, **kwargs).count_params()


@pytest.mark.parametrize(
    "builder, expected",
    [(ResNet18, 11_173_962), (ResNet34, 21_282_122), (VGG16, 15_253_578), (MobileNet, 3_217_226)],
)
def test_cifar_variants_have_the_documented_sizes(builder, expected):
    model = builder(classes=10, switched=False)
    assert trainable(model) == expected
    assert f"{expected:,}" in builder.__doc__


# Every builder in the small-image regime (32x32x3) and in the ImageNet
# regime, forced on 64x64 images to stay small enough for CPU; 28x28x1 for two.
CASES = [
    (builder, input_shape, small_inputs)
    for builder in (ResNet18, ResNet34, VGG16, MobileNet)
    for input_shape, small_inputs in (((32, 32, 3), None), ((64, 64, 3), False))
] + [(ResNet18, (28, 28, 1), None), (MobileNet, (28, 28, 1), None)]


@pytest.mark.parametrize("builder, input_shape, small_inputs", CASES)
def test_builders_train_with_alternation_and_round_trip(builder, input_shape, small_inputs, tmp_path):
    keras.utils.set_random_seed(0)
    kwargs = {"alpha": 0.25} if builder is MobileNet else {}
    model = builder(
        input_shape=input_shape,
        small_inputs=small_inputs,
        classes=3,
        switcher=TINY if builder is VGG16 and small_inputs is False else LIGHT,
        alternate=1,
        gate_cache_steps=1,
        **kwargs,
    )
    assert isinstance(model, SwitchedModel)
    assert "predictions" in {layer.name for layer in model.switched_layers}
    model.compile(optimizer="sgd", switcher_optimizer="sgd", loss="sparse_categorical_crossentropy")
    x = np.random.RandomState(0).rand(4, *input_shape).astype("float32")
    y = np.arange(4) % 3
    history = model.fit(x, y, batch_size=2, epochs=1, verbose=0)
    assert history.history["phase"] == [1.0]  # A task step, then a switcher step.
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_vgg16_switches_its_three_dense_layers():
    model = VGG16(classes=10, switcher=LIGHT)
    assert [layer.name for layer in model.switched_layers] == ["fc1", "fc2", "predictions"]
    assert model.get_layer("fc1").kernel.shape == (512, 512)


def test_imagenet_weights_fail_clearly_offline_or_load():
    try:
        model = VGG16(weights="imagenet", classes=10, switcher=LIGHT)
    except RuntimeError as error:
        assert "ImageNet weights" in str(error) and "weights=None" in str(error)
    else:
        assert float(np.abs(model.get_layer("block1_conv1").kernel.numpy()).sum()) > 0


def test_headless_backbones_pool():
    model = ResNet18(include_top=False, pooling="avg")
    assert not isinstance(model, SwitchedModel)
    assert model.output_shape == (None, 512)


@pytest.mark.parametrize(
    "builder, kwargs, message",
    [
        (ResNet18, {"weights": "imagenet"}, "weights='imagenet'"),
        (VGG16, {"weights": "nowhere.h5"}, "weights='nowhere.h5'"),
        (VGG16, {"input_shape": (64, 64)}, "input_shape"),
        (MobileNet, {"alpha": 0}, "alpha=0"),
        (MobileNet, {"depth_multiplier": 1.5}, "depth_multiplier=1.5"),
        (ResNet34, {"pooling": "mean", "include_top": False}, "pooling='mean'"),
        (MobileNet, {"classes": 0}, "classes=0"),
    ],
)
def test_bad_arguments_are_named(builder, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        builder(**kwargs)

"""The classic architectures of seed 004: shapes, hand-counted parameters, training."""

from __future__ import annotations

import numpy as np
import pytest

from hepclf import CNNClassifier
from hepclf.models import VGG, AlexNet, InceptionNet, LeNet5, get_module
from hepclf.models._classic import InceptionBlock

from .conftest import make_blob_images

torch = pytest.importorskip("torch")
nn = torch.nn


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def conv(c_in, c_out, k, bias=True):
    return c_out * c_in * k * k + (c_out if bias else 0)


def dense(n_in, n_out):
    return n_in * n_out + n_out


def build_on_meta(cls, **kwargs):
    """Build a big network without allocating its weights."""
    with torch.device("meta"):
        return cls(**kwargs)


def test_registered_by_name():
    assert get_module("lenet5") is LeNet5
    assert get_module("alexnet") is AlexNet
    assert get_module("vgg") is VGG
    assert get_module("inception") is InceptionNet


@pytest.mark.parametrize(
    ("cls", "sizes"),
    [
        (LeNet5, [16, 28, 32, 64, 192]),
        (AlexNet, [63, 64, 192, 256]),
        (VGG, [32, 64, 192, 256]),
        (InceptionNet, [1, 8, 28, 64, 192, 256]),
    ],
)
@pytest.mark.parametrize("channels", [1, 3])
def test_output_shapes_for_several_sizes_and_channels(cls, sizes, channels):
    small = {
        AlexNet: {"channels": (4, 4, 4, 4, 4), "dense": (8,)},
        VGG: {"width": 2, "dense": (8,)},
        InceptionNet: {"stem_channels": (4, 8), "stages": (((2, 2, 2, 2, 2, 2),),)},
    }.get(cls, {})
    for size in sizes:
        net = cls(in_channels=channels, image_size=size, n_classes=5, **small).eval()
        with torch.no_grad():
            assert net(torch.zeros(2, channels, size, size)).shape == (2, 5), size
    # rectangular images too
    net = cls(in_channels=channels, image_size=(sizes[-1], sizes[-2]), n_classes=3)
    with torch.no_grad():
        out = net.eval()(torch.zeros(1, channels, sizes[-1], sizes[-2]))
    assert out.shape == (1, 3)


def test_lenet5_has_the_classic_61706_parameters():
    classic = (
        conv(1, 6, 5) + conv(6, 16, 5) + dense(16 * 5 * 5, 120) + dense(120, 84)
    ) + dense(84, 10)
    assert classic == 61_706
    assert n_params(LeNet5()) == classic
    # MNIST's 28x28 images with the first convolution padded by 2: the same network
    assert n_params(LeNet5(image_size=28, padding=2)) == classic
    net = LeNet5()
    assert [type(m) for m in net.features[1:4]] == [nn.Conv2d, nn.Tanh, nn.AvgPool2d]
    # larger images: the first dense layer grows with the feature map (192 -> 45x45)
    big = LeNet5(image_size=192, n_classes=4)
    assert big.classifier[1].in_features == 16 * 45 * 45
    assert n_params(big) == classic - dense(400, 120) + dense(16 * 45 * 45, 120) - (
        dense(84, 10) - dense(84, 4)
    )
    # two parameters per input channel for the optional input standardisation
    assert n_params(LeNet5(in_channels=3, input_norm=True)) == classic + 6 + 2 * 150


def test_lenet5_relu_and_max_pooling():
    net = LeNet5(activation="relu", pooling="max")
    assert isinstance(net.features[2], nn.ReLU)
    assert isinstance(net.features[3], nn.MaxPool2d)
    with pytest.raises(ValueError, match=r"LeNet5: activation must be one of"):
        LeNet5(activation="sigmoid")


def test_alexnet_with_the_original_widths_matches_the_published_count():
    # torchvision's single-tower AlexNet on 224x224 RGB images: 61,100,840
    widths = (64, 192, 384, 256, 256)
    expected = (
        conv(3, 64, 11)
        + conv(64, 192, 5)
        + conv(192, 384, 3)
        + conv(384, 256, 3)
        + conv(256, 256, 3)
        + dense(256 * 6 * 6, 4096)
        + dense(4096, 4096)
        + dense(4096, 1000)
    )
    assert expected == 61_100_840
    net = build_on_meta(
        AlexNet,
        in_channels=3,
        image_size=224,
        n_classes=1000,
        channels=widths,
        dense=(4096, 4096),
    )
    assert n_params(net) == expected


def test_alexnet_sized_for_detector_images():
    # defaults: 192 -> 47 -> 23 -> 23 -> 11 -> 11 -> 5: 128 maps of 5x5
    net = AlexNet()
    assert net.classifier[2].in_features == 128 * 5 * 5
    assert AlexNet(image_size=256).classifier[2].in_features == 128 * 7 * 7
    dropouts = [m.p for m in net.classifier if isinstance(m, nn.Dropout)]
    assert dropouts == [0.5, 0.5]
    # batch norm adds a weight and a bias per channel and drops the conv's bias
    assert n_params(AlexNet(batch_norm=True)) == n_params(net) + sum(
        (48, 128, 192, 192, 128)
    )


def test_vgg16_with_the_original_widths_matches_the_published_count():
    net = build_on_meta(
        VGG,
        in_channels=3,
        image_size=224,
        n_classes=1000,
        depth=16,
        width=64,
        dense=(4096, 4096),
    )
    assert n_params(net) == 138_357_544  # VGG-16
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert len(convs) + len(linears) == 16
    assert [c.out_channels for c in convs] == [64, 64, 128, 128] + [256] * 3 + [512] * 6


@pytest.mark.parametrize(("depth", "n_convs"), [(11, 8), (13, 10), (16, 13), (19, 16)])
def test_vgg_depths(depth, n_convs):
    net = VGG(depth=depth, width=2, dense=(8, 8))
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == n_convs
    assert len([m for m in net.modules() if isinstance(m, nn.MaxPool2d)]) == 5


def test_vgg_custom_blocks_for_small_images():
    net = VGG(image_size=28, depth=(1, 1, 2), width=4, dense=(16,))
    # 28 -> 14 -> 7 -> 3: 16 maps of 3x3
    assert net.classifier[2].in_features == 16 * 3 * 3
    with pytest.raises(
        ValueError, match=r"VGG: an image of size \(28, 28\) is too small"
    ):
        VGG(image_size=28)
    with pytest.raises(ValueError, match="VGG: depth must be one of"):
        VGG(depth=12)


def test_inception_block_counts_and_concatenation():
    # GoogLeNet's 3a on 192 channels: 163,696 parameters, 256 output channels
    block = InceptionBlock(192, (64, 96, 128, 16, 32, 32))
    expected = (
        conv(192, 64, 1)
        + conv(192, 96, 1)
        + conv(96, 128, 3)
        + conv(192, 16, 1)
        + conv(16, 32, 5)
        + conv(192, 32, 1)
    )
    assert expected == 163_696
    assert n_params(block) == expected
    assert block.out_channels == 256
    x = torch.rand(1, 192, 7, 9)
    with torch.no_grad():
        out = block(x)
        assert out.shape == (1, 256, 7, 9)
        # the branches in order along the channels
        torch.testing.assert_close(out[:, :64], block.branch1(x))
        torch.testing.assert_close(out[:, 64:192], block.branch3(x))
        torch.testing.assert_close(out[:, 192:224], block.branch5(x))
        torch.testing.assert_close(out[:, 224:], block.branch_pool(x))
    # the 1x1 reductions: a 5x5 conv straight from 192 channels would cost 5.8x more
    assert conv(192, 32, 5) > 5 * (conv(192, 16, 1) + conv(16, 32, 5))
    with pytest.raises(ValueError, match="InceptionBlock: widths needs 6 entries"):
        InceptionBlock(8, (1, 2, 3))


def test_inception_network_is_independent_of_the_image_size():
    a, b = InceptionNet(image_size=28), InceptionNet(image_size=256)
    assert n_params(a) == n_params(b)
    blocks = [m for m in a.blocks if isinstance(m, InceptionBlock)]
    assert [blk.out_channels for blk in blocks] == [128, 240, 256]
    assert a.head[-1].in_features == 256


def test_inception_unshuffle_folds_fine_pixels_into_channels():
    torch.manual_seed(0)
    fine = InceptionNet(image_size=(192, 96), pixel_unshuffle=2)
    coarse = InceptionNet(image_size=(96, 48))
    # only the first convolution widens: 4 input channels instead of 1
    assert n_params(fine) - n_params(coarse) == 3 * conv(1, 32, 7, bias=False)
    # the saved weights keep their names: a model saved before still loads
    assert list(fine.state_dict()) == list(coarse.state_dict())
    assert list(fine.state_dict())[:2] == ["stem.1.0.weight", "stem.1.0.bias"]
    x = torch.rand(2, 1, 192, 96)
    with torch.no_grad():
        folded = fine.unshuffle(x)
    assert folded.shape == (2, 4, 96, 48)
    # nothing is summed away: channel k holds pixel (k // 2, k % 2) of each block
    for k in range(4):
        torch.testing.assert_close(folded[:, k], x[:, 0, k // 2 :: 2, k % 2 :: 2])
    fine.eval()
    with torch.no_grad():
        assert fine(x).shape == (2, 4)
    with pytest.raises(ValueError, match=r"multiples of 2, got \(191, 96\)"):
        InceptionNet(image_size=(191, 96), pixel_unshuffle=2)
    with pytest.raises(ValueError, match="positive integer, got 0"):
        InceptionNet(pixel_unshuffle=0)


@pytest.mark.parametrize(
    ("cls", "size", "match"),
    [
        (LeNet5, 15, r"LeNet5: an image of size \(15, 15\) is too small"),
        (AlexNet, 62, r"AlexNet: an image of size \(62, 62\) is too small"),
        (VGG, 31, r"VGG: an image of size \(31, 31\) is too small"),
    ],
)
def test_too_small_images(cls, size, match):
    cls(image_size=size + 1)
    with pytest.raises(ValueError, match=match):
        cls(image_size=size)


def test_alexnet_needs_five_widths():
    with pytest.raises(ValueError, match="AlexNet: channels needs 5 entries"):
        AlexNet(channels=(8, 8))


TINY_NETS = {
    "lenet5": ({"module__activation": "relu"}, 16),
    "alexnet": ({"module__channels": (4, 4, 4, 4, 4), "module__dense": (8,)}, 64),
    "vgg": ({"module__depth": (1, 1), "module__width": 4, "module__dense": (8,)}, 16),
    "inception": (
        {
            "module__stem_channels": (4, 8),
            "module__stages": (((2, 2, 4, 2, 2, 2),),),
        },
        16,
    ),
}


@pytest.mark.parametrize("name", sorted(TINY_NETS))
def test_each_trains_one_epoch_in_cnnclassifier(name):
    params, size = TINY_NETS[name]
    X, y = make_blob_images(n=24, size=size, n_classes=3, channels=2)
    clf = CNNClassifier(name, max_epochs=1, batch_size=8, random_state=0, **params)
    clf.fit(X, y)
    assert isinstance(clf.module_, get_module(name))
    assert len(clf.history_) == 1
    assert np.isfinite(clf.history_[-1, "train_loss"])
    proba = clf.predict_proba(X[:5])
    assert proba.shape == (5, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_cnnclassifier_reports_images_too_small_for_alexnet():
    X, y = make_blob_images(n=8, size=32)
    with pytest.raises(ValueError, match=r"AlexNet: an image of size \(32, 32\)"):
        CNNClassifier("alexnet", max_epochs=1).fit(X, y)


def test_save_model_round_trip_by_registered_name(tmp_path):
    from hepclf import load_model, save_model

    params, size = TINY_NETS["inception"]
    X, y = make_blob_images(n=16, size=size)
    clf = CNNClassifier("inception", max_epochs=1, random_state=0, **params).fit(X, y)
    save_model(clf, tmp_path / "inception.hepclf")
    loaded = load_model(tmp_path / "inception.hepclf")
    assert isinstance(loaded.module_, InceptionNet)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))

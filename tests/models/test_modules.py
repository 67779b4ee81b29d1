"""The seed-000 ResNet against the original's layer list (fact sheet of seed 000)."""

from __future__ import annotations

import numpy as np
import pytest

from hepclf.models import InceptionNet, ResNet

torch = pytest.importorskip("torch")
nn = torch.nn


def trainable(module):
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def hand_count(c_in=1, base=16, blocks=(2, 2, 2, 2, 2), n_classes=10):
    """Parameters of ResNet(n_classes, c_in, base, blocks), layer by layer."""
    total = 0
    for stage, n_blocks in enumerate(blocks):
        c_out = base * 2**stage
        for b in range(n_blocks):
            total += 9 * c_in * c_out + 2 * c_out  # 3x3 conv (no bias), BN
            total += 9 * c_out * c_out + 2 * c_out  # 3x3 conv (no bias), BN
            if c_in != c_out or (stage > 0 and b == 0):
                total += c_in * c_out  # 1x1 projection shortcut, no bias
            c_in = c_out
    return total + c_in * n_classes + n_classes


def test_seed_resnet_has_the_originals_2798890_parameters():
    assert hand_count() == 2_798_890
    assert trainable(ResNet(in_channels=1, n_classes=10)) == 2_798_890
    # the same class as the top-tagging benchmark configures it
    assert trainable(ResNet(n_classes=2, blocks=(2, 2, 2))) == hand_count(
        blocks=(2, 2, 2), n_classes=2
    )


def test_seed_resnet_layers_are_the_originals():
    net = ResNet(in_channels=1, n_classes=10)
    blocks = list(net.features)
    assert len(blocks) == 10
    first = blocks[0]
    # no stem: the first layer is a 3x3 stride-1 conv 1 -> 16 with a 1x1 projection
    assert (first.conv1.in_channels, first.conv1.out_channels) == (1, 16)
    assert first.conv1.kernel_size == (3, 3)
    assert first.conv1.stride == (1, 1)
    assert first.conv1.bias is None
    assert isinstance(first.shortcut, nn.Conv2d)
    assert first.shortcut.kernel_size == (1, 1)
    assert isinstance(blocks[1].shortcut, nn.Identity)
    for stage in range(5):
        down, same = blocks[2 * stage], blocks[2 * stage + 1]
        assert down.conv1.out_channels == 16 * 2**stage
        stride = (1, 1) if stage == 0 else (2, 2)
        assert down.conv1.stride == stride
        assert same.conv1.stride == (1, 1)
        if stage > 0:
            assert down.shortcut.stride == (2, 2)
            assert down.shortcut.bias is None
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(norms) == 20
    # PyTorch's convention, as in the original: 90 % of the running stats from the batch
    assert {m.momentum for m in norms} == {0.9}
    assert not any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)) for m in net.modules())
    assert (net.fc.in_features, net.fc.out_features) == (256, 10)


def test_running_statistics_take_ninety_percent_from_the_batch():
    net = ResNet(in_channels=1, n_classes=2, base_filters=2, blocks=(1,))
    bn = net.features[0].bn1
    net.train()
    with torch.no_grad():
        conv = net.features[0].conv1
        x = torch.randn(8, 1, 6, 6)
        batch_mean = conv(x).mean(dim=(0, 2, 3))
        net(x)
    torch.testing.assert_close(bn.running_mean, 0.9 * batch_mean)


def test_post_activation_and_global_max_pooling():
    net = ResNet(in_channels=1, n_classes=3, base_filters=4, blocks=(1, 1)).eval()
    x = torch.rand(2, 1, 12, 12)
    with torch.no_grad():
        features = net.features(x)
        # ReLU after the sum: no negative feature
        assert features.min() >= 0
        expected = net.fc(features.flatten(2).max(dim=2).values)
        torch.testing.assert_close(net(x), expected)


@pytest.mark.parametrize("size", [1, 12, 28, 64, 192])
@pytest.mark.parametrize("channels", [1, 3])
def test_output_shapes_for_any_image_size(size, channels):
    net = ResNet(in_channels=channels, n_classes=4, base_filters=4).eval()
    with torch.no_grad():
        assert net(torch.zeros(2, channels, size, size)).shape == (2, 4)
        maps = net.features(torch.zeros(1, channels, size, size))
    expected = size
    for _ in range(4):
        expected = (expected + 1) // 2  # 3x3, stride 2, padding 1
    assert maps.shape == (1, 64, expected, expected)


def test_a_192_pixel_image_ends_as_256_maps_of_12x12():
    net = ResNet(in_channels=1, n_classes=10).eval()
    with torch.no_grad():
        assert net.features(torch.zeros(1, 1, 192, 192)).shape == (1, 256, 12, 12)


def test_unshuffled_resnet_folds_each_2x2_block_into_the_first_block():
    torch.manual_seed(0)
    fine = ResNet(n_classes=4, image_size=(192, 96), pixel_unshuffle=2)
    seed = ResNet(n_classes=4)
    # only the first block's 3x3 convolution and 1x1 projection take 4 channels
    assert trainable(fine) - trainable(seed) == 3 * (9 * 16 + 16)
    assert trainable(fine) == hand_count(c_in=4, n_classes=4)
    # the weights keep their names: a model saved before still loads
    assert list(fine.state_dict()) == list(seed.state_dict())
    x = torch.rand(2, 1, 192, 96)
    fine.eval()
    with torch.no_grad():
        folded = fine.unshuffle(x)
        # channel k holds pixel (k // 2, k % 2) of each block: nothing summed away
        for k in range(4):
            torch.testing.assert_close(folded[:, k], x[:, 0, k // 2 :: 2, k % 2 :: 2])
        # every stage sees a quarter of the pixels: 192 x 96 ends as 6 x 3
        assert fine.features(folded).shape == (2, 256, 6, 3)
        torch.testing.assert_close(fine(x), fine.fc(fine.features(folded).amax((2, 3))))
    with pytest.raises(
        ValueError, match=r"ResNet: pixel_unshuffle=2 needs .* \(191, 96\)"
    ):
        ResNet(image_size=(191, 96), pixel_unshuffle=2)
    with pytest.raises(ValueError, match="ResNet: pixel_unshuffle must be a positive"):
        ResNet(pixel_unshuffle=1.5)
    # a factor from a NumPy grid is an integer too
    assert isinstance(ResNet(pixel_unshuffle=np.int64(2)).unshuffle, nn.PixelUnshuffle)


@pytest.mark.parametrize(
    "make",
    [
        lambda: ResNet(n_classes=3, base_filters=4, blocks=(1, 1)),
        lambda: InceptionNet(image_size=16, n_classes=3, stem_channels=(4, 8)),
    ],
    ids=["resnet", "inception"],
)
def test_a_network_pickled_before_pixel_unshuffle_still_predicts(make):
    import pickle

    net = make().eval()
    x = torch.rand(2, 1, 16, 16)
    with torch.no_grad():
        expected = net(x)
    del net._modules["unshuffle"]  # as a network of an earlier hepclf was
    old = pickle.loads(pickle.dumps(net))
    with torch.no_grad():
        torch.testing.assert_close(old(x), expected)

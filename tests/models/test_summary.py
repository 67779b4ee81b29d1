"""hepclf.models.summary: per-layer shapes and parameter counts against hand counts."""

from __future__ import annotations

import pytest

from hepclf import CNNClassifier
from hepclf.models import LeNet5, ModelSummary, ResNet, summary

from .conftest import TINY, make_blob_images

torch = pytest.importorskip("torch")
nn = torch.nn


def test_ten_5x5_filters_on_three_channels_are_760_parameters():
    # each filter: 5 * 5 * 3 weights + 1 bias = 76; ten of them: 760
    s = summary(nn.Conv2d(3, 10, 5, padding=2), (3, 32, 32))
    assert isinstance(s, ModelSummary)
    assert s.total_params == s.trainable_params == 760
    assert s.non_trainable_params == 0
    assert s.layers["params"].tolist() == [760]
    assert s.layers["output_shape"].tolist() == [(10, 32, 32)]
    assert summary(nn.Conv2d(3, 10, 5, bias=False), (3, 32, 32)).total_params == 750
    # stride 1 without padding: (N - F) / stride + 1 = (7 - 3) + 1 = 5
    assert summary(nn.Conv2d(1, 1, 3), (1, 7, 7)).layers["output_shape"][0] == (1, 5, 5)
    s2 = summary(nn.Conv2d(1, 1, 3, stride=2), (1, 7, 7))
    assert s2.layers["output_shape"][0] == (1, 3, 3)


def test_lenet5_layer_by_layer():
    s = summary(LeNet5(), (1, 32, 32))
    layers = s.layers.set_index("name")
    expected = {
        "features.1": ("Conv2d", (6, 28, 28), 6 * (5 * 5 * 1 + 1)),
        "features.3": ("AvgPool2d", (6, 14, 14), 0),
        "features.4": ("Conv2d", (16, 10, 10), 16 * (5 * 5 * 6 + 1)),
        "features.6": ("AvgPool2d", (16, 5, 5), 0),
        "classifier.0": ("Flatten", (400,), 0),
        "classifier.1": ("Linear", (120,), 120 * 401),
        "classifier.3": ("Linear", (84,), 84 * 121),
        "classifier.5": ("Linear", (10,), 10 * 85),
    }
    for name, (kind, shape, params) in expected.items():
        assert layers.loc[name, "type"] == kind, name
        assert layers.loc[name, "output_shape"] == shape, name
        assert layers.loc[name, "params"] == params, name
    assert s.total_params == 61_706
    assert s.layers["params"].sum() == s.total_params
    assert list(s.layers.columns) == [
        "name",
        "type",
        "output_shape",
        "params",
        "trainable",
    ]


def test_seed_resnet_total_and_layers():
    s = summary(ResNet(in_channels=1, n_classes=10), (1, 192, 192))
    assert s.total_params == s.trainable_params == 2_798_890
    assert s.layers["params"].sum() == 2_798_890
    layers = s.layers.set_index("name")
    assert layers.loc["features.0.conv1", "output_shape"] == (16, 192, 192)
    assert layers.loc["features.0.shortcut", "params"] == 16  # 1x1, 1 -> 16, no bias
    assert layers.loc["features.2.conv1", "output_shape"] == (32, 96, 96)
    assert layers.loc["features.9.bn2", "output_shape"] == (256, 12, 12)
    assert layers.loc["features.9.bn2", "params"] == 512  # running stats are buffers
    assert layers.loc["fc", "output_shape"] == (10,)
    assert layers.loc["fc", "params"] == 2570
    # the blocks run in order
    convs = s.layers[s.layers["name"].str.endswith("conv1")]["name"].tolist()
    assert convs == [f"features.{i}.conv1" for i in range(10)]


def test_frozen_layers_are_counted_as_not_trainable():
    net = nn.Sequential(nn.Conv2d(3, 10, 5), nn.Flatten(), nn.LazyLinear(4))
    net[0].requires_grad_(False)
    s = summary(net, (3, 8, 8))
    assert s.total_params == 760 + 10 * 4 * 4 * 4 + 4
    assert s.trainable_params == 10 * 4 * 4 * 4 + 4
    assert s.non_trainable_params == 760
    assert s.layers["trainable"].tolist() == [0, 0, 644]
    text = str(s)
    assert "Non-trainable params: 760" in text
    assert "Total params: 1,404" in text


def test_shared_layers_and_own_parameters():
    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(3))
            self.lin = nn.Linear(3, 3)

        def forward(self, x):
            return self.lin(self.lin(x)) * self.scale

    s = summary(Shared(), (3,))
    # the linear layer twice, its 12 parameters counted once; the top module's own 3
    assert s.layers["name"].tolist() == ["lin", "lin", "(top)"]
    assert s.layers["params"].tolist() == [12, 0, 3]
    assert s.total_params == 15


def test_state_is_restored_and_hooks_removed():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten())
    net.train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    summary(net, (1, 5, 5))
    assert net.training
    for key, value in net.state_dict().items():
        torch.testing.assert_close(value, before[key])  # no batch-norm update
    assert all(not m._forward_hooks for m in net.modules())
    assert all(p.grad is None for p in net.parameters())
    net.eval()
    summary(net, (1, 5, 5))
    assert not net.training


def test_fitted_classifier_uses_its_image_shape():
    X, y = make_blob_images(n=40, size=16)
    clf = CNNClassifier(max_epochs=1, random_state=0, **TINY).fit(X, y)
    s = summary(clf)
    assert s.input_shape == (1, 16, 16)
    assert s.total_params == sum(p.numel() for p in clf.module_.parameters())
    assert s.layers["output_shape"].iloc[-1] == (2,)


def test_readable_text_and_html():
    s = summary(LeNet5(), (1, 32, 32))
    text = str(s)
    assert text == repr(s)
    lines = text.splitlines()
    assert lines[0].split() == ["name", "type", "output_shape", "params", "trainable"]
    assert "classifier.1 Linear (120,) 48,120 48,120" in " ".join(text.split())
    assert "Total params: 61,706" in text
    html = s._repr_html_()
    assert "<table" in html
    assert "Total params: 61,706" in html


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((nn.Linear(2, 2), None), "input_shape is required"),
        ((nn.Linear(2, 2), (0, 2)), "input_shape must be a sequence of positive"),
        ((nn.Linear(2, 2), (2.5,)), "input_shape must be a sequence of positive"),
        ((nn.Linear(2, 2), "2"), "input_shape must be a sequence of positive"),
        (("lenet5", (1, 32, 32)), "module must be a torch.nn.Module or a fitted"),
    ],
)
def test_bad_arguments(args, match):
    with pytest.raises(ValueError, match=f"summary: {match}"):
        summary(*args)

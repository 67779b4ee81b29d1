"""TransferNet: backbones, pretrained weights without network, freezing, persistence."""

from __future__ import annotations

import re
import socket
import sys

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from hepclf import CNNClassifier
from hepclf.models import BACKBONES, TransferNet, get_module
from hepclf.persistence import load_model, save_model

from .conftest import make_blob_images

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")


@pytest.fixture(autouse=True)
def _one_thread():
    """One torch thread: these networks are tiny, and a busy machine's threads
    fight over cores (a step is 5-10 times slower with two threads on two
    loaded cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a network connection was attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def empty_hub(tmp_path, monkeypatch, no_network):
    """An empty torch hub cache (TORCH_HOME) and no network."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


@pytest.fixture(scope="module")
def resnet18_state():
    torch.manual_seed(1)
    return torchvision.models.resnet18().state_dict()


@pytest.fixture(scope="module")
def images():
    """A separable 3-class set of 3 x 32 x 32 images: a blob per class."""
    return make_blob_images(n=96, size=32, n_classes=3, channels=3)


def small(**kwargs):
    params = {"max_epochs": 1, "batch_size": 16, "random_state": 0, "lr": 1e-3}
    return CNNClassifier("transfer", **{**params, **kwargs})


def trainable(net):
    return [name for name, p in net.backbone.named_parameters() if p.requires_grad]


# -- structure ---------------------------------------------------------------------
def test_registered_and_listed():
    assert get_module("transfer") is TransferNet
    assert {
        "resnet18",
        "resnet50",
        "vgg16",
        "vgg19",
        "inception_v3",
        "efficientnet_b0",
        "inception_resnet_v2",
    } <= set(BACKBONES)


@pytest.mark.parametrize(
    ("fraction", "n_trainable"), [(0.0, 0), (0.2, 8), (0.5, 20), (0.7, 28), (1.0, 40)]
)
def test_fraction_to_trainable_layers(fraction, n_trainable):
    # resnet18: conv1, bn1, 8 blocks of (conv, bn, conv, bn), 3 downsamples of
    # (conv, bn) = 40 layers holding parameters; the last round(f * 40) train
    net = TransferNet(image_size=32, n_classes=3, unfrozen_fraction=fraction)
    assert len(net.backbone_layers) == 40
    assert net.backbone_layers[:3] == ["conv1", "bn1", "layer1.0.conv1"]
    assert net.n_trainable_layers == n_trainable
    trained = net.backbone_layers[len(net.backbone_layers) - n_trainable :]
    expected = [f"{layer}.{p}" for layer in trained for p in ("weight", "bias")]
    expected = [n for n in expected if n in dict(net.backbone.named_parameters())]
    assert trainable(net) == expected
    assert all(p.requires_grad for p in net.head.parameters())
    assert all(p.requires_grad for p in net.input_norm.parameters())
    if fraction == 0.2:  # the last 8: from layer4.0's second conv/bn pair on
        assert trained == [
            "layer4.0.conv2",
            "layer4.0.bn2",
            "layer4.0.downsample.0",
            "layer4.0.downsample.1",
            "layer4.1.conv1",
            "layer4.1.bn1",
            "layer4.1.conv2",
            "layer4.1.bn2",
        ]


def test_bad_parameters_name_the_problem():
    with pytest.raises(ValueError, match=r"unknown backbone 'resnet9'.*resnet18"):
        TransferNet(backbone="resnet9")
    with pytest.raises(ValueError, match=r"unfrozen_fraction must be in \[0, 1\]"):
        TransferNet(unfrozen_fraction=1.5)
    with pytest.raises(ValueError, match="normalize must be"):
        TransferNet(normalize="zscore")
    with pytest.raises(ValueError, match="head must be one of"):
        TransferNet(head="mlp")
    with pytest.raises(TypeError, match="weights must be None"):
        TransferNet(weights=3)


def test_missing_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)
    monkeypatch.setitem(sys.modules, "torchvision.models", None)
    with pytest.raises(ImportError, match=r'pip install "hepclf\[transfer\]"'):
        TransferNet()


def test_channels_and_resize():
    net = TransferNet(in_channels=5, image_size=(20, 40), n_classes=4)
    assert net.backbone.conv1.in_channels == 5
    assert net.backbone_layers[0] == "conv1"  # the new stem keeps its place
    assert net.resize_to == (32, 40)  # the short side up to resnet's minimum
    net.eval()
    assert net(torch.rand(2, 5, 20, 40)).shape == (2, 4)
    assert TransferNet(image_size=64, resize=48).resize_to == (48, 48)
    assert TransferNet(image_size=64).resize_to is None


def backbone_input(net, x):
    seen = []
    net.backbone.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    net.eval()
    with torch.no_grad():
        net(x)
    return seen[0]


def test_imagenet_normalisation_after_input_scale():
    net = TransferNet(image_size=32, normalize="imagenet", input_scale=1 / 255)
    x = torch.full((1, 3, 32, 32), 255.0)
    x[:, :, 0, 0] = 0.0
    seen = backbone_input(net, x)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    for c in range(3):
        assert_allclose(seen[0, c, 1, 1].item(), (1 - mean[c]) / std[c], rtol=1e-6)
        assert_allclose(seen[0, c, 0, 0].item(), -mean[c] / std[c], rtol=1e-6)
    # other than 3 channels: the mean of ImageNet's three values for each
    one = TransferNet(in_channels=2, image_size=32, normalize="imagenet")
    seen = backbone_input(one, torch.zeros(1, 2, 32, 32))
    assert_allclose(seen[0, :, 0, 0].numpy(), [-np.mean(mean) / np.mean(std)] * 2)
    # the Inception backbones expect [-1, 1]; None passes the raw input
    raw = TransferNet(image_size=32, normalize=None)
    assert_array_equal(backbone_input(raw, x).numpy(), x.numpy())


def test_default_normalisation_and_heads(tmp_path, resnet18_state):
    assert isinstance(TransferNet().input_norm, torch.nn.BatchNorm2d)
    path = tmp_path / "r18.pt"
    torch.save(resnet18_state, path)
    pretrained = TransferNet(weights=str(path))
    assert isinstance(pretrained.input_norm, torch.nn.Identity)
    assert pretrained.mean is not None
    head = TransferNet(n_classes=3, head="seed").head
    linear = [m for m in head if isinstance(m, torch.nn.Linear)]
    drop = [m.p for m in head if isinstance(m, torch.nn.Dropout)]
    assert [(m.in_features, m.out_features) for m in linear] == [
        (512, 512),
        (512, 512),
        (512, 512),
        (512, 3),
    ]
    assert drop == [0.3, 0.3, 0.3]
    assert [m.p for m in TransferNet().head if isinstance(m, torch.nn.Dropout)] == [0.2]


# -- pretrained weights ------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_local_weights_file_loads(tmp_path, resnet18_state, suffix, no_network):
    path = tmp_path / f"resnet18{suffix}"
    if suffix == ".pt":
        torch.save(resnet18_state, path)
    else:
        from safetensors.torch import save_file

        save_file(resnet18_state, path)
    net = TransferNet(image_size=32, weights=str(path))
    assert net._weights_pending  # read at the first train()/eval(), not now
    net.eval()
    got = net.backbone.state_dict()
    for key, value in got.items():
        assert_array_equal(value.numpy(), resnet18_state[key].numpy(), err_msg=key)
    assert "fc.weight" not in got  # the ImageNet classifier is dropped


def test_pretrained_stem_averaged_over_channels(tmp_path, resnet18_state):
    path = tmp_path / "r18.pt"
    torch.save(resnet18_state, path)
    rgb = resnet18_state["conv1.weight"]
    nets = {
        channels: TransferNet(in_channels=channels, weights=str(path)).load_pretrained()
        for channels in (1, 2, 3)
    }
    for channels, net in nets.items():
        stem = net.backbone.conv1.weight.detach()
        if channels == 3:
            expected = rgb
        else:  # each channel: mean of the RGB filters x 3 / channels
            expected = (rgb.mean(dim=1, keepdim=True) * 3 / channels).repeat(
                1, channels, 1, 1
            )
        assert_allclose(stem.numpy(), expected.numpy(), rtol=1e-6)
    # a grey image repeated over channels gives the RGB network's response
    grey = torch.rand(1, 1, 32, 32)
    one, three = nets[1], nets[3]
    assert_allclose(
        one.backbone.conv1(grey).detach().numpy(),
        three.backbone.conv1(grey.repeat(1, 3, 1, 1)).detach().numpy(),
        rtol=1e-4,
        atol=1e-5,
    )


def test_missing_weights_file_names_it(tmp_path, no_network):
    path = tmp_path / "nowhere" / "weights.pt"
    net = TransferNet(weights=str(path))  # nothing read yet
    with pytest.raises(
        ValueError,
        match=re.escape(f"weights file {path} does not exist, and ")
        + ".*IMAGENET1K_V1",
    ):
        net.eval()
    from pathlib import Path

    with pytest.raises(ValueError, match=f"weights file {path} does not exist"):
        TransferNet(weights=Path(path)).load_pretrained()


def test_unfitting_weights_name_the_first_mismatches(tmp_path, resnet18_state):
    wrong = dict(resnet18_state)
    wrong["conv1.weight"] = torch.zeros(64, 5, 7, 7)
    del wrong["layer4.1.bn2.weight"]
    wrong["extra.weight"] = torch.zeros(1)
    path = tmp_path / "wrong.pt"
    torch.save(wrong, path)
    with pytest.raises(ValueError, match="do not fit the backbone resnet18") as info:
        TransferNet(weights=str(path)).load_pretrained()
    message = str(info.value)
    assert "missing: layer4.1.bn2.weight" in message
    assert "unexpected: extra.weight" in message
    assert "conv1.weight (64, 5, 7, 7) in the file, (64, 3, 7, 7)" in message
    torch.save({"model": [1, 2]}, path)
    with pytest.raises(ValueError, match="does not hold a state dict"):
        TransferNet(weights=str(path)).load_pretrained()


def test_weight_name_without_cache_errors_without_network(empty_hub):
    net = TransferNet(weights="IMAGENET1K_V1")
    expected = empty_hub / "resnet18-f37072fd.pth"
    with pytest.raises(ValueError, match="not in the local cache") as info:
        net.train()
    assert str(expected) in str(info.value)
    assert "never downloads" in str(info.value)
    assert "download.pytorch.org" in str(info.value)  # where to get it


def test_weight_name_from_cache(empty_hub, resnet18_state):
    empty_hub.mkdir(parents=True)
    torch.save(resnet18_state, empty_hub / "resnet18-f37072fd.pth")
    for name in ("IMAGENET1K_V1", "DEFAULT"):
        net = TransferNet(weights=name).load_pretrained()
        assert_array_equal(
            net.backbone.layer1[0].conv1.weight.detach().numpy(),
            resnet18_state["layer1.0.conv1.weight"].numpy(),
        )


def test_load_state_dict_cancels_the_pending_read(tmp_path):
    net = TransferNet(image_size=32, weights=str(tmp_path / "gone.pt"))
    net.load_state_dict(TransferNet(image_size=32, normalize="imagenet").state_dict())
    net.eval()  # no error: the file is not needed any more
    assert not net._weights_pending


# -- freezing ----------------------------------------------------------------------
def snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def frozen_and_trained(net):
    frozen = set(
        net.backbone_layers[: len(net.backbone_layers) - net.n_trainable_layers]
    )
    names = {
        f"backbone.{layer}.{p}": layer in frozen
        for layer in net.backbone_layers
        for p in ("weight", "bias")
    }
    state = net.state_dict()
    return (
        [k for k, is_frozen in names.items() if k in state and is_frozen],
        [k for k, is_frozen in names.items() if k in state and not is_frozen],
    )


@pytest.mark.parametrize(
    ("optimizer", "kwargs"),
    [
        ("AdamW", {"weight_decay": 0.5}),
        pytest.param("RMSprop", {"weight_decay": 0.5}, marks=pytest.mark.slow),
    ],
)
def test_frozen_layers_unchanged_by_fit(images, optimizer, kwargs):
    X, y = images
    clf = small(
        module__unfrozen_fraction=0.2,
        optimizer=getattr(torch.optim, optimizer),
        max_epochs=0,
        warm_start=True,
        **{f"optimizer__{k}": v for k, v in kwargs.items()},
    )
    clf.fit(X[:16], y[:16])
    before = snapshot(clf.module_)
    clf.set_params(max_epochs=1).fit(X[:16], y[:16])  # one step
    after = clf.module_.state_dict()
    frozen, trained = frozen_and_trained(clf.module_)
    # 20 convolutions (weight) and 20 BatchNorms (weight, bias); 8 layers train
    assert len(frozen) == 48
    assert len(trained) == 12
    for key in frozen:
        assert_array_equal(after[key].numpy(), before[key].numpy(), err_msg=key)
    for key in trained:
        assert not torch.equal(after[key], before[key]), key
    for key in ("head.1.weight", "input_norm.weight"):
        assert not torch.equal(after[key], before[key]), key
    # the frozen BatchNorms' running statistics did not move either
    names = {id(m): n for n, m in clf.module_.named_modules()}
    frozen_bn = [
        f"{names[id(m)]}.{stat}"
        for m in clf.module_._frozen_batchnorms
        for stat in ("running_mean", "running_var")
    ]
    assert len(frozen_bn) == 2 * 16
    for key in frozen_bn:
        assert_array_equal(after[key].numpy(), before[key].numpy(), err_msg=key)


def train_steps(net, steps=1):
    optimizer = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], 0.1)
    net.train()
    for _ in range(steps):
        loss = net(torch.rand(4, 3, 32, 32) * 5).logsumexp(dim=1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


@pytest.mark.parametrize("freeze_batchnorm", [True, False])
def test_frozen_batchnorm_statistics(freeze_batchnorm):
    net = TransferNet(
        image_size=32, unfrozen_fraction=0.5, freeze_batchnorm=freeze_batchnorm
    )
    before = snapshot(net)
    train_steps(net)
    after = net.state_dict()
    frozen_bn = net._frozen_batchnorms
    assert len(frozen_bn) == 10  # bn1 and the BatchNorms of layer1, layer2
    assert all(m.training is not freeze_batchnorm for m in frozen_bn)
    assert net.backbone.layer4[1].bn2.training  # a trained BatchNorm
    moved = not torch.equal(
        after["backbone.bn1.running_mean"], before["backbone.bn1.running_mean"]
    )
    assert moved is not freeze_batchnorm
    # their affine parameters never move; the trained BatchNorms' statistics do
    assert torch.equal(after["backbone.bn1.weight"], before["backbone.bn1.weight"])
    key = "backbone.layer4.1.bn2.running_var"
    assert not torch.equal(after[key], before[key])
    net.eval()
    assert not any(m.training for m in net.modules())


# -- with CNNClassifier ------------------------------------------------------------
@pytest.fixture(scope="module")
def fitted(images, tmp_path_factory):
    """A classifier fitted from a local weights file (which is then removed)."""
    X, y = images
    path = tmp_path_factory.mktemp("weights") / "resnet18.pt"
    torch.manual_seed(2)
    torch.save(torchvision.models.resnet18().state_dict(), path)
    clf = small(
        module__weights=str(path),
        module__unfrozen_fraction=0.5,
        module__normalize="batchnorm",
        max_epochs=3,
        optimizer=torch.optim.Adam,
    ).fit(X[:48], y[:48])
    path.unlink()
    return clf


@pytest.mark.slow
def test_classifier_learns_separable_images(fitted, images):
    X, y = images
    assert (fitted.predict(X[48:]) == y[48:]).mean() >= 0.8  # chance: 1/3
    assert fitted.module_.resize_to is None
    assert fitted.module_.backbone.conv1.in_channels == 3


@pytest.mark.slow
def test_save_model_round_trip_needs_no_weights_file(fitted, images, tmp_path):
    X, _ = images
    path = save_model(fitted, tmp_path / "transfer.hepclf")
    loaded = load_model(path)  # the weights file is gone: not needed
    assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    assert loaded.get_params()["module__weights"] == fitted.module__weights


@pytest.mark.slow
def test_joblib_round_trip(fitted, images, tmp_path):
    X, _ = images
    joblib.dump(fitted, tmp_path / "transfer.joblib")
    loaded = joblib.load(tmp_path / "transfer.joblib")
    assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))


# -- every backbone, ONNX ----------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("backbone", sorted(BACKBONES))
def test_every_backbone_runs_on_a_small_canvas(backbone):
    net = TransferNet(
        in_channels=2, image_size=32, n_classes=3, backbone=backbone, head="seed"
    )
    spec = BACKBONES[backbone]
    assert net.resize_to == (None if spec.min_size <= 32 else (75, 75))
    train_steps_on = torch.rand(2, 2, 32, 32)
    net.train()
    net(train_steps_on).sum().backward()
    net.eval()
    with torch.no_grad():
        out = net(train_steps_on)
    assert out.shape == (2, 3)
    assert torch.isfinite(out).all()


@pytest.mark.slow
def test_onnx_export_matches_predict_proba(fitted, images):
    pytest.importorskip("onnxruntime")
    from hepclf.export import export_onnx

    X, _ = images
    # export_onnx runs the graph with ONNX Runtime and compares with predict_proba
    model = export_onnx(fitted, X_check=X[:8], atol=1e-4)
    assert model.graph.input[0].name == "images"


@pytest.mark.slow
def test_event_pipeline_exports_as_one_graph(tmp_path):
    pytest.importorskip("onnxruntime")
    from sklearn.pipeline import make_pipeline

    from hepclf import EventImager
    from hepclf.export import export_onnx

    from .._events import random_events

    X = random_events(40, k=6, seed=0).astype(np.float32)
    y = np.arange(40) % 3
    pipe = make_pipeline(
        EventImager(npix=24, engine="numpy"), small(module__unfrozen_fraction=0.3)
    ).fit(X, y)
    assert pipe[-1].module_.resize_to == (32, 32)  # 24 px resized up in the graph
    # export_onnx compares ONNX Runtime's output with predict_proba (atol 1e-4)
    export_onnx(pipe, tmp_path / "events.onnx")

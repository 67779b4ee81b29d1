"""Transfer learning: ImageNet backbones from torchvision and timm with a new head.

``TransferNet`` (registered as ``"transfer"``) wraps a backbone of the
``transfer`` extra (``pip install "hepclf[transfer]"``), so that
``CNNClassifier("transfer", module__backbone="resnet50", ...)`` trains it like
any other hepclf module. Nothing here opens a network connection: pretrained
weights come from a local file or from the local torch hub (or Hugging Face)
cache, and a weight that is not there is an error that says where to put it.

Pretrained weights are read when the network is first put in training or
evaluation mode (or first run), not when it is built, so that ``load_model``,
whose archive holds the trained weights, rebuilds the network without the
weights file: loading a state dict into the module cancels the pending read.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from ..utils._optional import import_optional
from ._modules import _image_size, register_module

#: ImageNet's per-channel mean and standard deviation (RGB, pixels in [0, 1]),
#: which torchvision's ImageNet weights expect.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: What the Inception weights ported from TensorFlow expect: pixels in [-1, 1].
INCEPTION_MEAN = (0.5, 0.5, 0.5)
INCEPTION_STD = (0.5, 0.5, 0.5)


def _fan_out_init(weight):
    nn.init.kaiming_normal_(weight, mode="fan_out", nonlinearity="relu")


def _inception_init(weight):
    # torchvision's Inception3 initialisation of its convolutions
    nn.init.trunc_normal_(weight, mean=0.0, std=0.1, a=-2, b=2)


@dataclass(frozen=True)
class _Backbone:
    """How to build one backbone, adapt its stem and read its weights."""

    library: str  # "torchvision" or "timm"
    stem: str  # dotted name of the first convolution
    head_keys: tuple[str, ...]  # state-dict prefixes of the ImageNet classifier
    min_size: int  # smallest input side (pixels) the backbone runs on
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    init: Callable | None = None  # initialisation of a new stem (torchvision)


#: The backbones ``TransferNet`` builds, by name: torchvision's ``resnet18``,
#: ``resnet50``, ``vgg16``, ``vgg19``, ``inception_v3`` and
#: ``efficientnet_b0``, and timm's ``inception_resnet_v2``.
BACKBONES: dict[str, _Backbone] = {
    "resnet18": _Backbone(
        "torchvision", "conv1", ("fc.",), 32, IMAGENET_MEAN, IMAGENET_STD, _fan_out_init
    ),
    "resnet50": _Backbone(
        "torchvision", "conv1", ("fc.",), 32, IMAGENET_MEAN, IMAGENET_STD, _fan_out_init
    ),
    "vgg16": _Backbone(
        "torchvision",
        "features.0",
        ("classifier.",),
        32,
        IMAGENET_MEAN,
        IMAGENET_STD,
        _fan_out_init,
    ),
    "vgg19": _Backbone(
        "torchvision",
        "features.0",
        ("classifier.",),
        32,
        IMAGENET_MEAN,
        IMAGENET_STD,
        _fan_out_init,
    ),
    "inception_v3": _Backbone(
        "torchvision",
        "Conv2d_1a_3x3.conv",
        ("fc.", "AuxLogits."),
        75,
        INCEPTION_MEAN,
        INCEPTION_STD,
        _inception_init,
    ),
    "efficientnet_b0": _Backbone(
        "torchvision",
        "features.0.0",
        ("classifier.",),
        32,
        IMAGENET_MEAN,
        IMAGENET_STD,
        _fan_out_init,
    ),
    "inception_resnet_v2": _Backbone(
        "timm", "conv2d_1a.conv", ("classif.",), 75, INCEPTION_MEAN, INCEPTION_STD
    ),
}

#: Default dropout before the classifier of each ``head``.
_HEAD_DROPOUT = {"linear": 0.2, "seed": 0.3}


def _build_torchvision(name, in_channels):
    """Build a randomly initialised torchvision backbone without its classifier.

    Return the model, whose output is the globally average-pooled features,
    and their number.
    """
    models = import_optional("torchvision.models")
    if name == "inception_v3":
        model = models.inception_v3(
            weights=None, aux_logits=False, init_weights=True, transform_input=False
        )
        n_features = model.fc.in_features
        model.dropout = nn.Identity()
        model.fc = nn.Identity()
    elif name.startswith("resnet"):
        model = getattr(models, name)(weights=None)
        n_features = model.fc.in_features
        model.fc = nn.Identity()
    elif name.startswith("vgg"):
        model = getattr(models, name)(weights=None)
        n_features = model.features[-3].out_channels
        model.avgpool = nn.AdaptiveAvgPool2d(1)  # the seed's global average pooling
        model.classifier = nn.Identity()
    else:  # efficientnet
        model = getattr(models, name)(weights=None)
        n_features = model.classifier[-1].in_features
        model.classifier = nn.Identity()
    if in_channels != 3:
        parent, _, attr = BACKBONES[name].stem.rpartition(".")
        owner = model.get_submodule(parent) if parent else model
        old = getattr(owner, attr)
        new = nn.Conv2d(
            in_channels,
            old.out_channels,
            old.kernel_size,
            stride=old.stride,
            padding=old.padding,
            dilation=old.dilation,
            groups=old.groups,
            bias=old.bias is not None,
        )
        BACKBONES[name].init(new.weight)
        if new.bias is not None:
            nn.init.zeros_(new.bias)
        setattr(owner, attr, new)  # same place in the module order
    return model, n_features


def _build_timm(name, in_channels):
    timm = import_optional("timm")
    model = timm.create_model(
        name, pretrained=False, num_classes=0, in_chans=in_channels
    )
    return model, model.num_features


def _torchvision_cache_file(backbone, name):
    """Find the torch hub cache file of torchvision weight ``name`` (None: unknown)."""
    models = import_optional("torchvision.models")
    enum = models.get_model_weights(backbone)
    names = [w.name for w in enum]
    if name == "DEFAULT":
        weight = enum.DEFAULT
    elif name in names:
        weight = enum[name]
    else:
        return None, [*names, "DEFAULT"]
    filename = os.path.basename(weight.url)
    return Path(torch.hub.get_dir()) / "checkpoints" / filename, weight.url


def _timm_cache_file(backbone, name):
    """Find the Hugging Face cache file of timm tag ``name`` (None: unknown)."""
    timm = import_optional("timm")
    hub = import_optional("huggingface_hub", extra="transfer")
    tags = timm.list_pretrained(f"{backbone}.*")
    tags = [t.split(".", 1)[1] for t in tags]
    tag = tags[0] if name == "DEFAULT" and tags else name
    if tag not in tags:
        return None, [*tags, "DEFAULT"]
    cfg = timm.models.get_pretrained_cfg(f"{backbone}.{tag}")
    for filename in ("model.safetensors", "pytorch_model.bin"):
        found = hub.try_to_load_from_cache(cfg.hf_hub_id, filename)
        if isinstance(found, str):
            return Path(found), cfg.hf_hub_id
    where = Path(hub.constants.HF_HUB_CACHE)
    return where / f"models--{cfg.hf_hub_id.replace('/', '--')}", cfg.hf_hub_id


def _read_state_dict(path):
    """Read a state dict from a ``.safetensors`` file or a ``torch.save`` file."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as exc:  # safetensors raises its own error types
            raise ValueError(
                f"TransferNet: {path} is not a safetensors file ({exc})"
            ) from exc
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and torch errors alike
        raise ValueError(
            f"TransferNet: could not read weights from {path} with "
            f"torch.load(weights_only=True) ({exc})"
        ) from exc
    if not (
        isinstance(state, dict)
        and all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
        )
    ):
        raise ValueError(
            f"TransferNet: {path} does not hold a state dict (a dict of tensors by "
            "name); save one with torch.save(model.state_dict(), path)"
        )
    return state


def _adapt_stem(weight, in_channels):
    """Spread a pretrained RGB stem filter over ``in_channels`` channels.

    Every new channel gets the mean of the three RGB filters times
    ``3 / in_channels``: an image whose channels are all equal to a grey
    image gives the response the pretrained filter gives to that grey image.
    """
    mean = weight.mean(dim=1, keepdim=True) * (3.0 / in_channels)
    return mean.expand(-1, in_channels, -1, -1).contiguous()


@register_module("transfer")
class TransferNet(nn.Module):
    """An ImageNet backbone (torchvision or timm) with a new classification head.

    The network of transfer learning: ``CNNClassifier("transfer",
    module__backbone="resnet50", module__weights="IMAGENET1K_V2",
    module__unfrozen_fraction=0.2)``. The input is scaled and normalised as
    the backbone expects, resized up if it is smaller than the backbone can
    take, run through the backbone (whose ImageNet classifier is removed, its
    features average-pooled over the image) and a new head with
    ``n_classes`` outputs. The first layers of the backbone can be frozen.
    Needs the ``transfer`` extra (``pip install "hepclf[transfer]"``).

    Parameters
    ----------
    in_channels : int, default=3
        Image channels (inferred by ``CNNClassifier`` at fit). With pretrained
        weights and a number other than 3, the first convolution's filter of
        every channel is the mean of its three RGB filters times
        ``3 / in_channels``; with 3 they are kept as they are.
    image_size : int or (int, int), default=224
        Image height and width (inferred by ``CNNClassifier`` at fit).
    n_classes : int, default=2
        Number of output logits (inferred by ``CNNClassifier`` at fit).
    backbone : str, default="resnet18"
        A name in :data:`BACKBONES`: ``"resnet18"``, ``"resnet50"``,
        ``"vgg16"``, ``"vgg19"``, ``"inception_v3"``, ``"efficientnet_b0"``
        (torchvision) or ``"inception_resnet_v2"`` (timm).
    weights : str, path-like or None, default=None
        ``None``: random initialisation (the library's own). A weight name:
        for torchvision backbones a member of its weight enum
        (``"IMAGENET1K_V1"``) or ``"DEFAULT"``, for timm a pretrained tag
        (``"tf_in1k"``) or ``"DEFAULT"``; it is read from the local torch hub
        cache (``$TORCH_HOME/hub/checkpoints``) or Hugging Face cache, and
        never downloaded: a weight not there is a ``ValueError`` that says
        where to put the file. Anything else is the path of a local file
        holding the backbone's state dict, as the library names it (e.g.
        ``torch.save(torchvision.models.resnet18(...).state_dict(), path)``,
        or a ``.safetensors`` file), read with ``weights_only=True``; the
        ImageNet classifier's entries are ignored, any other key or shape that
        does not fit the backbone is a ``ValueError`` naming it. The weights
        are read when the network is first put in training or evaluation mode
        (see Notes). Give a path as ``str`` for ``save_model``.
    unfrozen_fraction : float, default=1.0
        Fraction of the backbone's layers that train, counted from its end;
        the others are frozen (``requires_grad=False``). A layer is a module
        of the backbone that holds parameters itself (a convolution, a
        BatchNorm, a linear layer), in the order the backbone registers them
        (its forward order for these backbones); the last
        ``floor(unfrozen_fraction * n_layers + 0.5)`` train. 0 freezes the
        whole backbone, 1 trains everything. The head, and the input
        BatchNorm of ``normalize="batchnorm"``, always train.
    freeze_batchnorm : bool, default=True
        Keep the BatchNorm layers of the frozen part in evaluation mode while
        training, so their running statistics do not move and training sees
        the statistics prediction uses. ``False`` lets them update their
        statistics in training mode, as Keras 2.x did in the seed's study
        (training then uses batch statistics and prediction the ImageNet ones).
    normalize : {"auto", "imagenet", "batchnorm"} or None, default="auto"
        What is done to the scaled input (``input_scale``) before the
        backbone. ``"imagenet"``: subtract the mean and divide by the standard
        deviation the backbone's pretrained weights expect (ImageNet's RGB
        statistics; 0.5 and 0.5 for the TensorFlow-ported Inception backbones),
        for inputs in [0, 1]; with other than 3 channels, the mean of the
        three values for every channel. ``"batchnorm"``: a learnt
        ``BatchNorm2d`` over the input channels, for images of arbitrary scale
        (pT-weighted images). ``None``: the scaled input as it is (the seed's
        raw 0-255 pixels). ``"auto"``: ``"imagenet"`` with pretrained
        weights, ``"batchnorm"`` without.
    input_scale : float, default=1.0
        Factor applied to the input first: ``1 / 255`` for 0-255 RGB images
        such as ``EventImager(preset="seed")``'s.
    resize : int, (int, int) or None, default=None
        Resize (bilinear) every image to this size before the backbone, e.g.
        200 as in the seed. ``None`` keeps the image size, except that a side
        below the backbone's minimum (75 pixels for the Inception backbones,
        32 for the others) is resized up to that minimum.
    head : {"linear", "seed"}, default="linear"
        The new head on the pooled features. ``"linear"``: dropout then one
        linear layer. ``"seed"``: the seed's three dense layers of 512 units
        with ReLU and dropout, then a linear layer.
    dropout : float or None, default=None
        Dropout rate of the head; None: 0.2 for ``"linear"``, 0.3 (the seed's)
        for ``"seed"``.

    Attributes
    ----------
    backbone_layers : list of str
        Names of the backbone's layers (modules holding parameters), in order.
    n_trainable_layers : int
        How many of them train (the last ones).

    See Also
    --------
    hepclf.models.CNNClassifier : trains this module (``module="transfer"``).

    Notes
    -----
    The count of layers differs from Keras's ``len(base.layers)``, which the
    seed's "% unfrozen" used: Keras also counts the input, activation,
    pooling, padding and concatenation layers, so the same fraction cuts the
    network at another place (e.g. ResNet50 has 175 Keras layers and 106
    layers here: 53 convolutions, 53 BatchNorms).

    Pretrained weights are not read when the module is built but the first
    time it is put in training or evaluation mode (``train()``, ``eval()``;
    ``CNNClassifier`` does so at the first batch of ``fit``), first run, or
    :meth:`load_pretrained` is called; a missing or unfitting file is reported
    then. Loading a state dict into the module (``load_model``, skorch's
    ``load_params``, a checkpoint) cancels the read, so a saved model loads
    without the weights file.

    Examples
    --------
    >>> import torch
    >>> from hepclf.models import TransferNet
    >>> net = TransferNet(in_channels=1, image_size=32, n_classes=3,
    ...                   unfrozen_fraction=0.5)
    >>> net(torch.zeros(2, 1, 32, 32)).shape
    torch.Size([2, 3])
    >>> net.n_trainable_layers, len(net.backbone_layers)
    (20, 40)
    """

    def __init__(
        self,
        in_channels: int = 3,
        image_size: int | tuple[int, int] = 224,
        n_classes: int = 2,
        backbone: str = "resnet18",
        weights: str | os.PathLike | None = None,
        unfrozen_fraction: float = 1.0,
        freeze_batchnorm: bool = True,
        normalize: str | None = "auto",
        input_scale: float = 1.0,
        resize: int | tuple[int, int] | None = None,
        head: str = "linear",
        dropout: float | None = None,
    ):
        super().__init__()
        if backbone not in BACKBONES:
            raise ValueError(
                f"TransferNet: unknown backbone {backbone!r}; available: "
                f"{sorted(BACKBONES)}"
            )
        if not 0.0 <= unfrozen_fraction <= 1.0:
            raise ValueError(
                "TransferNet: unfrozen_fraction must be in [0, 1], got "
                f"{unfrozen_fraction!r}"
            )
        if normalize not in ("auto", "imagenet", "batchnorm", None):
            raise ValueError(
                "TransferNet: normalize must be 'auto', 'imagenet', 'batchnorm' or "
                f"None, got {normalize!r}"
            )
        if head not in _HEAD_DROPOUT:
            raise ValueError(
                f"TransferNet: head must be one of {sorted(_HEAD_DROPOUT)}, got {head!r}"
            )
        if weights is not None and not isinstance(weights, (str, os.PathLike)):
            raise TypeError(
                "TransferNet: weights must be None, a weight name or a file path, "
                f"got {type(weights).__name__}"
            )
        spec = BACKBONES[backbone]
        self.backbone_name = backbone
        self.in_channels = in_channels

        # -- the input: scale, normalise, resize
        if normalize == "auto":
            normalize = "batchnorm" if weights is None else "imagenet"
        self.input_scale = float(input_scale)
        self.input_norm = (
            nn.BatchNorm2d(in_channels) if normalize == "batchnorm" else nn.Identity()
        )
        if normalize == "imagenet":
            mean, std = torch.tensor(spec.mean), torch.tensor(spec.std)
            if in_channels != 3:
                mean = mean.mean().expand(in_channels)
                std = std.mean().expand(in_channels)
            self.register_buffer("mean", mean.reshape(1, -1, 1, 1).clone())
            self.register_buffer("std", std.reshape(1, -1, 1, 1).clone())
        else:
            self.mean = self.std = None
        height, width = _image_size(image_size)
        if resize is not None:
            self.resize_to = _image_size(resize)
        elif min(height, width) < spec.min_size:
            self.resize_to = (max(height, spec.min_size), max(width, spec.min_size))
        else:
            self.resize_to = None

        # -- the backbone and the head
        build = _build_timm if spec.library == "timm" else _build_torchvision
        self.backbone, n_features = build(backbone, in_channels)
        rate = _HEAD_DROPOUT[head] if dropout is None else dropout
        if head == "linear":
            self.head = nn.Sequential(
                nn.Dropout(rate), nn.Linear(n_features, n_classes)
            )
        else:
            layers: list[nn.Module] = []
            for _ in range(3):
                layers += [nn.Linear(n_features, 512), nn.ReLU(), nn.Dropout(rate)]
                n_features = 512
            self.head = nn.Sequential(*layers, nn.Linear(512, n_classes))

        # -- freezing
        named = [
            (name, m)
            for name, m in self.backbone.named_modules()
            if next(m.parameters(recurse=False), None) is not None
        ]
        self.backbone_layers = [name for name, _ in named]
        self.n_trainable_layers = math.floor(unfrozen_fraction * len(named) + 0.5)
        n_frozen = len(named) - self.n_trainable_layers
        for _, module in named[:n_frozen]:
            module.requires_grad_(False)
        frozen = {id(m) for _, m in named[:n_frozen]}
        first_trainable = named[n_frozen][1] if n_frozen < len(named) else None
        self._frozen_batchnorms: list[nn.Module] = []
        for module in self.backbone.modules():
            if module is first_trainable:
                break
            if isinstance(module, nn.modules.batchnorm._BatchNorm) and (
                id(module) in frozen or next(module.parameters(), None) is None
            ):
                self._frozen_batchnorms.append(module)
        self.freeze_batchnorm = freeze_batchnorm

        # -- pretrained weights, read later (see Notes)
        self._weights = weights
        self._weights_pending = weights is not None

    # -- pretrained weights ---------------------------------------------------------
    def load_pretrained(self):
        """Read the pretrained weights into the backbone now, if still pending.

        Returns
        -------
        self : TransferNet
            The module, with the weights of ``weights`` in its backbone.
        """
        if self._weights_pending:
            state = self._pretrained_state()
            self._check_and_load(state)
            self._weights_pending = False
        return self

    def _pretrained_state(self):
        weights, backbone = self._weights, self.backbone_name
        library = BACKBONES[backbone].library
        path = Path(weights)
        if isinstance(weights, str) and not path.exists():
            lookup = _timm_cache_file if library == "timm" else _torchvision_cache_file
            cached, source = lookup(backbone, weights)
            if cached is None:
                raise ValueError(
                    f"TransferNet: weights file {path} does not exist, and "
                    f"{weights!r} is not a pretrained weight name of {backbone} "
                    f"either ({', '.join(source)})"
                )
            if not cached.is_file():
                raise ValueError(
                    f"TransferNet: the {library} weights {weights!r} of {backbone} "
                    f"are not in the local cache (looked for {cached}); hepclf never "
                    f"downloads: put the file from {source} there, or pass the path "
                    "of a local weights file as weights="
                )
            path = cached
        elif not path.is_file():
            raise ValueError(f"TransferNet: weights file {path} does not exist")
        return _read_state_dict(path)

    def _check_and_load(self, state):
        spec = BACKBONES[self.backbone_name]
        state = {
            k: v
            for k, v in state.items()
            if not any(k.startswith(prefix) for prefix in spec.head_keys)
        }
        stem = f"{spec.stem}.weight"
        if (
            self.in_channels != 3
            and stem in state
            and state[stem].ndim == 4
            and state[stem].shape[1] == 3
        ):
            state[stem] = _adapt_stem(state[stem], self.in_channels)
        expected = self.backbone.state_dict()
        problems = []
        missing = [k for k in expected if k not in state]
        unexpected = [k for k in state if k not in expected]
        shapes = [
            f"{k} {tuple(state[k].shape)} in the file, {tuple(v.shape)} in the backbone"
            for k, v in expected.items()
            if k in state and state[k].shape != v.shape
        ]
        for label, items in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("of another shape", shapes),
        ):
            if items:
                more = f" and {len(items) - 5} more" if len(items) > 5 else ""
                problems.append(f"{label}: {', '.join(items[:5])}{more}")
        if problems:
            raise ValueError(
                f"TransferNet: the weights {self._weights!r} do not fit the backbone "
                f"{self.backbone_name} (" + "; ".join(problems) + ")"
            )
        self.backbone.load_state_dict(state)

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Load a state dict; pretrained weights still pending are then never read.

        Parameters
        ----------
        state_dict : dict
            The whole module's parameters and buffers.
        strict : bool, default=True
            As in :meth:`torch.nn.Module.load_state_dict`.
        assign : bool, default=False
            As in :meth:`torch.nn.Module.load_state_dict`.

        Returns
        -------
        keys : NamedTuple
            The missing and unexpected keys.
        """
        result = super().load_state_dict(state_dict, strict=strict, assign=assign)
        self._weights_pending = False
        return result

    # -- modes and forward ----------------------------------------------------------
    def train(self, mode: bool = True):
        """Set training mode; frozen BatchNorm layers stay in evaluation mode.

        Reads pending pretrained weights first. With ``freeze_batchnorm``, the
        BatchNorm layers of the frozen part of the backbone stay in evaluation
        mode even in training mode.

        Parameters
        ----------
        mode : bool, default=True
            Training (True) or evaluation (False) mode.

        Returns
        -------
        self : TransferNet
            The module.
        """
        self.load_pretrained()
        super().train(mode)
        if mode and self.freeze_batchnorm:
            for module in self._frozen_batchnorms:
                module.eval()
        return self

    def forward(self, x):
        """Return the class logits of a batch of images ``(n, C, H, W)``."""
        if self._weights_pending:
            self.load_pretrained()
        if self.input_scale != 1.0:
            x = x * self.input_scale
        x = self.input_norm(x)
        if self.mean is not None:
            x = (x - self.mean) / self.std
        if self.resize_to is not None and tuple(x.shape[-2:]) != self.resize_to:
            x = F.interpolate(
                x, size=self.resize_to, mode="bilinear", align_corners=False
            )
        return self.head(self.backbone(x))

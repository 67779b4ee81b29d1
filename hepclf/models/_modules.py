"""Plain ``torch.nn.Module`` CNN architectures, and a registry of them by name."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch
from torch import nn

_REGISTRY: dict[str, type[nn.Module]] = {}


def register_module(name: str, module: type[nn.Module] | None = None):
    """Register a module class under ``name`` so ``CNNClassifier(module=name)`` finds it.

    Can be used as a decorator (``@register_module("mynet")``) or called directly.

    Parameters
    ----------
    name : str
        The registry name (case-insensitive).
    module : type of torch.nn.Module, optional
        The class. If omitted, a decorator is returned.
    """

    def add(cls):
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise TypeError(
                f"register_module expects a torch.nn.Module subclass, got {cls!r}"
            )
        _REGISTRY[name.lower()] = cls
        return cls

    return add if module is None else add(module)


def get_module(name: str) -> type[nn.Module]:
    """Return the module class registered as ``name``.

    Parameters
    ----------
    name : str
        A registered name, e.g. ``"jetcnn"`` or ``"resnet"``.

    Returns
    -------
    cls : type of torch.nn.Module
        The registered class.
    """
    try:
        return _REGISTRY[name.lower()]
    except KeyError:
        raise ValueError(
            f"unknown module name {name!r}; registered modules: {sorted(_REGISTRY)}"
        ) from None


def registered_modules() -> dict[str, type[nn.Module]]:
    """Every registered module class, by name.

    Returns
    -------
    modules : dict of str to type
        A copy of the registry: ``{"jetcnn": JetCNN, "resnet": ResNet, ...}``.
    """
    return dict(_REGISTRY)


def _image_size(size) -> tuple[int, int]:
    if isinstance(size, int):
        return size, size
    height, width = size
    return int(height), int(width)


def _pixel_unshuffle(owner: str, factor, image_size=None) -> nn.Module:
    """Return the layer that folds each ``factor x factor`` block into channels.

    ``torch.nn.PixelUnshuffle(factor)``, or ``nn.Identity()`` for a factor of
    1; the factor must be a positive integer and, where the image size is
    known, divide both sides (``owner`` names the module in the errors).
    """
    integral = isinstance(factor, numbers.Integral) and not isinstance(factor, bool)
    if not integral or factor < 1:
        raise ValueError(
            f"{owner}: pixel_unshuffle must be a positive integer, got {factor!r}"
        )
    factor = int(factor)
    if image_size is not None:
        size = _image_size(image_size)
        if size[0] % factor or size[1] % factor:
            raise ValueError(
                f"{owner}: pixel_unshuffle={factor} needs an image whose height and "
                f"width are multiples of {factor}, got {size}; crop or pad the "
                "images, or choose another factor."
            )
    return nn.PixelUnshuffle(factor) if factor > 1 else nn.Identity()


class _FoldsPixels(nn.Module):
    """A module whose ``unshuffle`` layer came after some were saved."""

    def __setstate__(self, state):
        super().__setstate__(state)
        # pickled before pixel_unshuffle existed: nothing was folded
        self._modules.setdefault("unshuffle", nn.Identity())


class GaussianNoise(nn.Module):
    """Add zero-mean Gaussian noise of standard deviation ``std`` in training mode."""

    def __init__(self, std: float = 0.0):
        super().__init__()
        self.std = std

    def forward(self, x):
        if self.training and self.std > 0:
            return x + torch.randn_like(x) * self.std
        return x


@register_module("jetcnn")
class JetCNN(nn.Module):
    """The seed-003 top-tagging CNN: conv blocks with max pooling, then dense layers.

    Default: ``conv32-conv32-maxpool3-conv32-conv64-maxpool3-flatten-dense100-
    dense200-dropout0.15-dense200-dropout0.3-dense(n_classes)``, the winning
    architecture of the INFIERI 2019 top-tagging challenge (40x40 jet images).
    Unlike the Keras original, whose convolutions had no activation, every
    convolution is followed by a ReLU.

    Parameters
    ----------
    in_channels : int, default=1
        Image channels (inferred by ``CNNClassifier`` at fit).
    image_size : int or (int, int), default=40
        Image height and width (inferred by ``CNNClassifier`` at fit).
    n_classes : int, default=2
        Number of output logits (inferred by ``CNNClassifier`` at fit).
    conv_blocks : sequence of sequence of int, default=((32, 32), (32, 64))
        Output channels of the 3x3 "same" convolutions, grouped in blocks; each
        block ends with a max pooling of ``pool_size``.
    pool_size : int, default=3
        Max-pooling kernel and stride.
    dense : sequence of int, default=(100, 200, 200)
        Widths of the hidden dense layers.
    dropout : float or sequence of float, default=(0.0, 0.15, 0.3)
        Dropout after each dense layer (one value for all, or one per layer).
    noise_std : float, default=0.0
        Standard deviation of Gaussian noise added to the (standardised) input
        while training.
    batch_norm : bool, default=False
        Batch normalisation after each convolution.
    input_norm : bool, default=True
        Standardise each input channel with a batch normalisation layer (running
        mean and variance learnt in training, used at prediction). Unit-sum jet
        images have pixels of order 1e-3; without this the first epochs barely
        move.
    """

    def __init__(
        self,
        in_channels: int = 1,
        image_size: int | tuple[int, int] = 40,
        n_classes: int = 2,
        conv_blocks: Sequence[Sequence[int]] = ((32, 32), (32, 64)),
        pool_size: int = 3,
        dense: Sequence[int] = (100, 200, 200),
        dropout: float | Sequence[float] = (0.0, 0.15, 0.3),
        noise_std: float = 0.0,
        batch_norm: bool = False,
        input_norm: bool = True,
    ):
        super().__init__()
        height, width = _image_size(image_size)
        dropouts = (
            [dropout] * len(dense)
            if isinstance(dropout, (int, float))
            else list(dropout)
        )
        if len(dropouts) != len(dense):
            raise ValueError(
                f"dropout has {len(dropouts)} entries but there are {len(dense)} dense layers"
            )
        layers: list[nn.Module] = [
            nn.BatchNorm2d(in_channels) if input_norm else nn.Identity(),
            GaussianNoise(noise_std),
        ]
        channels = in_channels
        for block in conv_blocks:
            for out in block:
                layers.append(
                    nn.Conv2d(channels, out, 3, padding=1, bias=not batch_norm)
                )
                if batch_norm:
                    layers.append(nn.BatchNorm2d(out))
                layers.append(nn.ReLU(inplace=True))
                channels = out
            layers.append(nn.MaxPool2d(pool_size))
            height, width = height // pool_size, width // pool_size
            if height < 1 or width < 1:
                raise ValueError(
                    f"JetCNN: an image of size {_image_size(image_size)} is too small for "
                    f"{len(conv_blocks)} max-pooling steps of {pool_size}; use larger "
                    "images, fewer conv_blocks or a smaller pool_size"
                )
        self.features = nn.Sequential(*layers)
        head: list[nn.Module] = [nn.Flatten()]
        width_in = channels * height * width
        for units, p in zip(dense, dropouts, strict=False):
            head += [nn.Linear(width_in, units), nn.ReLU(inplace=True)]
            if p > 0:
                head.append(nn.Dropout(p))
            width_in = units
        head.append(nn.Linear(width_in, n_classes))
        self.classifier = nn.Sequential(*head)

    def forward(self, x):
        """Return the class logits of a batch of images ``(n, C, H, W)``."""
        return self.classifier(self.features(x))


class _BasicBlock(nn.Module):
    """3x3 conv-BN-ReLU-3x3 conv-BN plus shortcut, ReLU after the sum."""

    def __init__(self, c_in: int, c_out: int, stride: int, bn_momentum: float):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out, momentum=bn_momentum)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out, momentum=bn_momentum)
        self.shortcut = (
            nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)
            if stride != 1 or c_in != c_out
            else nn.Identity()
        )

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


@register_module("resnet")
class ResNet(_FoldsPixels):
    """The seed-000 ResNet for single-particle images in a liquid-argon TPC.

    ``ResNet(n_classes=4, base_filters=16, blocks=(2, 2, 2, 2, 2))`` is the
    original ``ResNet(10, 1, 16, [2, 2, 2, 2, 2])`` with as many outputs as
    classes: no stem; stages of basic post-activation residual blocks whose first
    block has stride 2 from the second stage on (1x1 projection shortcuts where
    the shape changes); the filters double per stage; global max pooling; one
    linear layer. The first block of the first stage is a 3x3 stride-1
    convolution from the input channels to ``base_filters``, with a 1x1
    projection shortcut. With the original's ten outputs,
    ``ResNet(in_channels=1, n_classes=10)`` is its layer for layer and has its
    2,798,890 trainable parameters; a 192x192 image ends as 256 maps of 12x12.
    The global pooling takes any image size. The top-tagging benchmark uses
    the same class with three stages, ``blocks=(2, 2, 2)``.

    ``pixel_unshuffle=2`` is not the original: it folds each 2x2 block of
    pixels into four channels before the first block, so that every stage
    sees a quarter of the pixels (a 192x192 image costs about the arithmetic
    of a 96x96 one: 0.74 against 2.94 GFLOP per forward pass) while the first
    convolution still sees each fine pixel.

    Parameters
    ----------
    in_channels : int, default=1
        Image channels (inferred by ``CNNClassifier`` at fit).
    n_classes : int, default=2
        Number of output logits (inferred by ``CNNClassifier`` at fit).
    base_filters : int, default=16
        Filters of the first stage.
    blocks : sequence of int, default=(2, 2, 2, 2, 2)
        Residual blocks per stage.
    bn_momentum : float, default=0.9
        BatchNorm momentum in PyTorch's convention (weight of the current batch
        in the running statistics), as in the original.
    image_size : int or (int, int) or None, default=None
        Image height and width (inferred by ``CNNClassifier`` at fit); only
        checked against ``pixel_unshuffle``, as the global pooling adapts to
        any size.
    pixel_unshuffle : int, default=1
        Fold each ``f x f`` block of pixels into ``f**2`` channels before the
        first block (``torch.nn.PixelUnshuffle``); only the first block's
        3x3 convolution and its 1x1 projection grow (the projection becomes
        an identity where ``in_channels * f**2`` equals ``base_filters``).
        The image's height and width must be multiples of ``f``.
    """

    def __init__(
        self,
        in_channels: int = 1,
        n_classes: int = 2,
        base_filters: int = 16,
        blocks: Sequence[int] = (2, 2, 2, 2, 2),
        bn_momentum: float = 0.9,
        image_size: int | tuple[int, int] | None = None,
        pixel_unshuffle: int = 1,
    ):
        super().__init__()
        # (its own attribute, without weights: the saved weights' names stay)
        self.unshuffle = _pixel_unshuffle("ResNet", pixel_unshuffle, image_size)
        stages = []
        c_in = in_channels * int(pixel_unshuffle) ** 2
        for stage, n_blocks in enumerate(blocks):
            c_out = base_filters * 2**stage
            for b in range(n_blocks):
                stride = 2 if stage > 0 and b == 0 else 1
                stages.append(_BasicBlock(c_in, c_out, stride, bn_momentum))
                c_in = c_out
        self.features = nn.Sequential(*stages)
        self.fc = nn.Linear(c_in, n_classes)

    def forward(self, x):
        """Return the class logits of a batch of images ``(n, C, H, W)``."""
        x = self.features(self.unshuffle(x))
        return self.fc(torch.amax(x, dim=(2, 3)))

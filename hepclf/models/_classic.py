"""The classic CNN architectures of seed 004, sized by the images they are given.

LeNet-5, an AlexNet-style and a VGG-style network, and a network of Inception
blocks with 1x1 reductions, each a plain ``torch.nn.Module`` registered by name
(``"lenet5"``, ``"alexnet"``, ``"vgg"``, ``"inception"``) that takes
``in_channels``, ``image_size`` and ``n_classes`` like the other modules, so
``CNNClassifier`` fills them in from the training images.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._modules import _FoldsPixels, _image_size, _pixel_unshuffle, register_module

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}
_POOLS = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}

#: 3x3 convolutions per block of the VGG configurations A, B, D and E
VGG_DEPTHS = {
    11: (1, 1, 2, 2, 2),
    13: (2, 2, 2, 2, 2),
    16: (2, 2, 3, 3, 3),
    19: (2, 2, 4, 4, 4),
}


def _conv_out(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def _option(name: str, value: str, options: dict):
    try:
        return options[value]
    except KeyError:
        raise ValueError(
            f"{name} must be one of {sorted(options)}, got {value!r}"
        ) from None


def _too_small(cls: str, image_size, minimum: str, hint: str) -> ValueError:
    return ValueError(
        f"{cls}: an image of size {_image_size(image_size)} is too small; it needs "
        f"{minimum}. {hint}"
    )


def _dense_head(
    width_in: int, dense: Sequence[int], dropout: float, n_classes: int, act
) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Flatten()]
    for units in dense:
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [nn.Linear(width_in, units), act()]
        width_in = units
    layers.append(nn.Linear(width_in, n_classes))
    return nn.Sequential(*layers)


def _input_layer(in_channels: int, input_norm: bool) -> nn.Module:
    return nn.BatchNorm2d(in_channels) if input_norm else nn.Identity()


@register_module("lenet5")
class LeNet5(nn.Module):
    """LeNet-5: two 5x5 convolution and pooling stages, then three dense layers.

    ``conv6(5x5)-pool2-conv16(5x5)-pool2-dense120-dense84-dense(n_classes)``
    with tanh activations and average pooling, as in LeCun et al. (1998). On a
    32x32 single-channel image with 10 classes (or 28x28 with ``padding=2``, as
    for MNIST) it has the classic 61,706 parameters. The first dense layer is
    sized to the feature map, so larger images are taken as they are and the
    parameters grow with them: on 192x192 images that layer alone holds about
    3.9 million of them, the seed's point that most parameters of such a
    network sit in its dense layers.

    Parameters
    ----------
    in_channels : int, default=1
        Image channels (inferred by ``CNNClassifier`` at fit).
    image_size : int or (int, int), default=32
        Image height and width (inferred by ``CNNClassifier`` at fit); at least
        16 pixels each, including the padding of the first convolution.
    n_classes : int, default=10
        Number of output logits (inferred by ``CNNClassifier`` at fit).
    padding : int, default=0
        Zero padding of the first convolution (2 keeps a 28x28 image at 28x28).
    activation : {"tanh", "relu"}, default="tanh"
        Activation after every convolution and hidden dense layer.
    pooling : {"avg", "max"}, default="avg"
        The 2x2, stride-2 pooling after each convolution.
    input_norm : bool, default=False
        Standardise each input channel with a batch normalisation layer, as
        ``JetCNN`` does by default (adds two parameters per channel).
    """

    def __init__(
        self,
        in_channels: int = 1,
        image_size: int | tuple[int, int] = 32,
        n_classes: int = 10,
        padding: int = 0,
        activation: str = "tanh",
        pooling: str = "avg",
        input_norm: bool = False,
    ):
        super().__init__()
        act = _option("LeNet5: activation", activation, _ACTIVATIONS)
        pool = _option("LeNet5: pooling", pooling, _POOLS)
        sizes = []
        for size in _image_size(image_size):
            size = _conv_out(size, 5, padding=padding) // 2
            sizes.append(_conv_out(size, 5) // 2)
        if min(sizes) < 1:
            raise _too_small(
                "LeNet5",
                image_size,
                "at least 16 pixels on each side including the padding",
                "Pass padding= or use larger images.",
            )
        self.features = nn.Sequential(
            _input_layer(in_channels, input_norm),
            nn.Conv2d(in_channels, 6, 5, padding=padding),
            act(),
            pool(2),
            nn.Conv2d(6, 16, 5),
            act(),
            pool(2),
        )
        self.classifier = _dense_head(
            16 * sizes[0] * sizes[1], (120, 84), 0.0, n_classes, act
        )

    def forward(self, x):
        """Return the class logits of a batch of images ``(n, C, H, W)``."""
        return self.classifier(self.features(x))


@register_module("alexnet")
class AlexNet(nn.Module):
    """An AlexNet-style network sized for 192-256 pixel detector images.

    The layout of Krizhevsky et al. (2012): an 11x11 stride-4 convolution, a
    5x5 and three 3x3 convolutions, 3x3 stride-2 max pooling after the first,
    second and fifth, then dropout and dense layers. The default widths are
    those of one of the original's two GPU towers (48, 128, 192, 192, 128) and
    the dense layers are 512 wide instead of 4096, so single-channel 192x192
    images give about 2.8 million parameters rather than 60 million. The first dense layer
    is sized to the feature map (5x5 at 192 pixels, 7x7 at 256).

    Parameters
    ----------
    in_channels : int, default=1
        Image channels (inferred by ``CNNClassifier`` at fit).
    image_size : int or (int, int), default=192
        Image height and width (inferred by ``CNNClassifier`` at fit); at least
        63 pixels each.
    n_classes : int, default=4
        Number of output logits (inferred by ``CNNClassifier`` at fit).
    channels : sequence of 5 int, default=(48, 128, 192, 192, 128)
        Output channels of the five convolutions.
    dense : sequence of int, default=(512, 512)
        Widths of the hidden dense layers.
    dropout : float, default=0.5
        Dropout before each hidden dense layer.
    batch_norm : bool, default=False
        Batch normalisation after each convolution (the original used local
        response normalisation, which is not reproduced).
    input_norm : bool, default=False
        Standardise each input channel with a batch normalisation layer.
    """

    def __init__(
        self,
        in_channels: int = 1,
        image_size: int | tuple[int, int] = 192,
        n_classes: int = 4,
        channels: Sequence[int] = (48, 128, 192, 192, 128),
        dense: Sequence[int] = (512, 512),
        dropout: float = 0.5,
        batch_norm: bool = False,
        input_norm: bool = False,
    ):
        super().__init__()
        if len(channels) != 5:
            raise ValueError(
                f"AlexNet: channels needs 5 entries (one per convolution), got {len(channels)}"
            )
        # (kernel, stride, padding, max pooling after it)
        convs = [
            (11, 4, 2, True),
            (5, 1, 2, True),
            (3, 1, 1, False),
            (3, 1, 1, False),
            (3, 1, 1, True),
        ]
        layers: list[nn.Module] = [_input_layer(in_channels, input_norm)]
        sizes = list(_image_size(image_size))
        c_in = in_channels
        for c_out, (kernel, stride, padding, pooled) in zip(
            channels, convs, strict=True
        ):
            layers.append(
                nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=not batch_norm)
            )
            if batch_norm:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.ReLU(inplace=True))
            sizes = [_conv_out(s, kernel, stride, padding) for s in sizes]
            if pooled:
                layers.append(nn.MaxPool2d(3, 2))
                sizes = [_conv_out(s, 3, 2) for s in sizes]
            c_in = c_out
        if min(sizes) < 1:
            raise _too_small(
                "AlexNet",
                image_size,
                "at least 63 pixels on each side",
                'Use "lenet5" or "vgg" for small images.',
            )
        self.features = nn.Sequential(*layers)
        self.classifier = _dense_head(
            c_in * sizes[0] * sizes[1], dense, dropout, n_classes, nn.ReLU
        )

    def forward(self, x):
        """Return the class logits of a batch of images ``(n, C, H, W)``."""
        return self.classifier(self.features(x))


@register_module("vgg")
class VGG(nn.Module):
    """A VGG-style network: blocks of 3x3 convolutions, each block ending in 2x2 max pooling.

    As in Simonyan and Zisserman (2014), the convolutions keep the size
    ("same" padding), the pooling halves it, and the channels double per block
    up to eight times ``width``; dropout and dense layers follow. ``depth``
    picks the convolutions per block of the configurations A, B, D, E (11, 13,
    16, 19 weight layers with the three dense ones) or gives them directly;
    each block halves the image, so five blocks need at least 32 pixels. With
    ``width=64`` and ``dense=(4096, 4096)`` on 224x224 RGB images and 1000
    classes, ``depth=16`` is VGG-16's 138 million parameters; the defaults
    (16, (256, 256)) suit 192-256 pixel detector images on a CPU.

    Parameters
    ----------
    in_channels : int, default=1
        Image channels (inferred by ``CNNClassifier`` at fit).
    image_size : int or (int, int), default=192
        Image height and width (inferred by ``CNNClassifier`` at fit); at least
        2 to the number of blocks, in pixels.
    n_classes : int, default=4
        Number of output logits (inferred by ``CNNClassifier`` at fit).
    depth : {11, 13, 16, 19} or sequence of int, default=11
        A VGG configuration, or the number of 3x3 convolutions in each block.
    width : int, default=16
        Channels of the first block; block ``i`` has ``width * 2 ** min(i, 3)``.
    dense : sequence of int, default=(256, 256)
        Widths of the hidden dense layers.
    dropout : float, default=0.5
        Dropout before each hidden dense layer.
    batch_norm : bool, default=False
        Batch normalisation after each convolution.
    input_norm : bool, default=False
        Standardise each input channel with a batch normalisation layer.
    """

    def __init__(
        self,
        in_channels: int = 1,
        image_size: int | tuple[int, int] = 192,
        n_classes: int = 4,
        depth: int | Sequence[int] = 11,
        width: int = 16,
        dense: Sequence[int] = (256, 256),
        dropout: float = 0.5,
        batch_norm: bool = False,
        input_norm: bool = False,
    ):
        super().__init__()
        if isinstance(depth, int):
            blocks = _option("VGG: depth", depth, VGG_DEPTHS)
        else:
            blocks = tuple(int(n) for n in depth)
            if not blocks or min(blocks) < 1:
                raise ValueError(
                    f"VGG: depth must list at least one block of at least one "
                    f"convolution, got {depth!r}"
                )
        height, width_px = _image_size(image_size)
        if min(height, width_px) >> len(blocks) < 1:
            raise _too_small(
                "VGG",
                image_size,
                f"at least {2 ** len(blocks)} pixels on each side for {len(blocks)} "
                "blocks",
                "Pass a depth with fewer blocks, e.g. depth=(1, 1, 2).",
            )
        layers: list[nn.Module] = [_input_layer(in_channels, input_norm)]
        c_in = in_channels
        for i, n_convs in enumerate(blocks):
            c_out = width * 2 ** min(i, 3)
            for _ in range(n_convs):
                layers.append(nn.Conv2d(c_in, c_out, 3, padding=1, bias=not batch_norm))
                if batch_norm:
                    layers.append(nn.BatchNorm2d(c_out))
                layers.append(nn.ReLU(inplace=True))
                c_in = c_out
            layers.append(nn.MaxPool2d(2))
            height, width_px = height // 2, width_px // 2
        self.features = nn.Sequential(*layers)
        self.classifier = _dense_head(
            c_in * height * width_px, dense, dropout, n_classes, nn.ReLU
        )

    def forward(self, x):
        """Return the class logits of a batch of images ``(n, C, H, W)``."""
        return self.classifier(self.features(x))


def _conv_relu(c_in: int, c_out: int, kernel: int, batch_norm: bool, **kwargs):
    layers: list[nn.Module] = [
        nn.Conv2d(
            c_in, c_out, kernel, padding=kernel // 2, bias=not batch_norm, **kwargs
        )
    ]
    if batch_norm:
        layers.append(nn.BatchNorm2d(c_out))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class InceptionBlock(nn.Module):
    """Four parallel branches concatenated along the channels.

    A 1x1 convolution; a 1x1 reduction then a 3x3 convolution; a 1x1
    reduction then a 5x5 convolution; 3x3 max pooling (stride 1) then a 1x1
    projection. The 1x1 reductions make the 3x3 and 5x5 convolutions cheap.

    Parameters
    ----------
    in_channels : int
        Input channels.
    widths : (int, int, int, int, int, int)
        GoogLeNet's ``(#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj)``.
    batch_norm : bool, default=False
        Batch normalisation after each convolution.
    """

    def __init__(
        self, in_channels: int, widths: Sequence[int], batch_norm: bool = False
    ):
        super().__init__()
        if len(widths) != 6:
            raise ValueError(
                "InceptionBlock: widths needs 6 entries (#1x1, #3x3 reduce, #3x3, "
                f"#5x5 reduce, #5x5, pool proj), got {tuple(widths)!r}"
            )
        c1, r3, c3, r5, c5, pp = (int(w) for w in widths)
        self.branch1 = _conv_relu(in_channels, c1, 1, batch_norm)
        self.branch3 = nn.Sequential(
            _conv_relu(in_channels, r3, 1, batch_norm),
            _conv_relu(r3, c3, 3, batch_norm),
        )
        self.branch5 = nn.Sequential(
            _conv_relu(in_channels, r5, 1, batch_norm),
            _conv_relu(r5, c5, 5, batch_norm),
        )
        self.branch_pool = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1),
            _conv_relu(in_channels, pp, 1, batch_norm),
        )
        self.out_channels = c1 + c3 + c5 + pp

    def forward(self, x):
        """Return the four branches' outputs stacked along the channels."""
        branches = (self.branch1, self.branch3, self.branch5, self.branch_pool)
        return torch.cat([branch(x) for branch in branches], dim=1)


@register_module("inception")
class InceptionNet(_FoldsPixels):
    """A GoogLeNet-style network of Inception blocks with 1x1 reductions.

    A stem (7x7 stride-2 convolution, 3x3 stride-2 max pooling, a 1x1 and a
    3x3 convolution, max pooling again) divides the image by 8; stages of
    Inception blocks follow, with 3x3 stride-2 max pooling between stages;
    global average pooling, dropout and one linear layer end it (Szegedy et
    al., 2014). The default blocks are GoogLeNet's 3a, 3b and 4a at half width,
    about 0.26 million parameters whatever the image size; since the pooling
    is global, any image size is taken.

    Parameters
    ----------
    in_channels : int, default=1
        Image channels (inferred by ``CNNClassifier`` at fit).
    image_size : int or (int, int), default=192
        Image height and width (inferred by ``CNNClassifier`` at fit); only
        checked, as the global pooling adapts to any size.
    n_classes : int, default=4
        Number of output logits (inferred by ``CNNClassifier`` at fit).
    stem_channels : (int, int), default=(32, 96)
        Output channels of the stem's 7x7 and 3x3 convolutions.
    stages : sequence of sequence of 6-tuples of int
        Inception blocks per stage, each given as GoogLeNet's ``(#1x1,
        #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj)``. Default: the
        stages ``(3a, 3b)`` and ``(4a,)`` at half width.
    dropout : float, default=0.4
        Dropout before the linear layer.
    batch_norm : bool, default=False
        Batch normalisation after each convolution.
    input_norm : bool, default=False
        Standardise each input channel with a batch normalisation layer.
    pixel_unshuffle : int, default=1
        Fold each ``f x f`` block of pixels into ``f**2`` channels before the
        stem (``torch.nn.PixelUnshuffle``): only the first convolution grows,
        so a 192 x 192 image of 0.5 cm pixels costs little more than a
        96 x 96 one, and its detail is kept in the channels rather than
        summed away. The image's height and width must be multiples of
        ``f``.
    """

    def __init__(
        self,
        in_channels: int = 1,
        image_size: int | tuple[int, int] = 192,
        n_classes: int = 4,
        stem_channels: Sequence[int] = (32, 96),
        stages: Sequence[Sequence[Sequence[int]]] = (
            ((32, 48, 64, 8, 16, 16), (64, 64, 96, 16, 48, 32)),
            ((96, 48, 104, 8, 24, 32),),
        ),
        dropout: float = 0.4,
        batch_norm: bool = False,
        input_norm: bool = False,
        pixel_unshuffle: int = 1,
    ):
        super().__init__()
        size = _image_size(image_size)
        if min(size) < 1:
            raise ValueError(
                f"InceptionNet: image_size must be positive, got {image_size!r}"
            )
        # (its own attribute, without weights: the stem's indices stay)
        self.unshuffle = _pixel_unshuffle("InceptionNet", pixel_unshuffle, size)
        c0 = in_channels * int(pixel_unshuffle) ** 2
        s1, s2 = stem_channels
        self.stem = nn.Sequential(
            _input_layer(c0, input_norm),
            _conv_relu(c0, s1, 7, batch_norm, stride=2),
            nn.MaxPool2d(3, stride=2, padding=1),
            _conv_relu(s1, s1, 1, batch_norm),
            _conv_relu(s1, s2, 3, batch_norm),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
        layers: list[nn.Module] = []
        c_in = s2
        for i, stage in enumerate(stages):
            if i > 0:
                layers.append(nn.MaxPool2d(3, stride=2, padding=1))
            for widths in stage:
                block = InceptionBlock(c_in, widths, batch_norm)
                layers.append(block)
                c_in = block.out_channels
        self.blocks = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(dropout) if dropout > 0 else nn.Identity(),
            nn.Linear(c_in, n_classes),
        )

    def forward(self, x):
        """Return the class logits of a batch of images ``(n, C, H, W)``."""
        return self.head(self.blocks(self.stem(self.unshuffle(x))))

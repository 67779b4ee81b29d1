"""Training-time augmentation of image batches: flips, rolls, quarter turns, rotation, zoom, noise.

A detector image keeps its meaning under some transformations (a particle's
track mirrored or turned is still that particle's track, and an event turned
about the beam is still that event), so a network can be
shown transformed copies while it trains, a different random copy of every
image at every epoch. :func:`augment_images` draws and applies them to one
batch, on the batch's device, with torch's random generator (so a fit seeded
with ``random_state`` is reproducible). ``CNNClassifier`` and ``CNNRegressor``
call it on training batches only, through their ``augment_*`` parameters;
prediction and validation scoring see the images as they are, unless
``augment_predict=True`` asks ``predict``/``predict_proba`` to average over
the exact symmetries among them (:func:`symmetries`: the allowed flips and the
quarter turns), the same images every time.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F

#: The estimator parameters that configure the augmentation, and their "off" value.
AUGMENT_PARAMS = {
    "augment_flip": False,
    "augment_roll": False,
    "augment_rot90": False,
    "augment_rotation": 0.0,
    "augment_zoom": 0.0,
    "augment_noise": 0.0,
}

#: The values ``flip`` and ``roll`` accept, and the image axes each acts on
#: (-1: width, -2: height).
_AXES = {False: (), True: (-1, -2), "horizontal": (-1,), "vertical": (-2,)}


def _axes(value, what):
    """Return the image axes that ``flip`` or ``roll`` acts on."""
    if isinstance(value, str):
        if value in _AXES:
            return _AXES[value]
    elif value in (False, True):  # bool, numpy bool, 0 or 1
        return _AXES[bool(value)]
    raise ValueError(
        f"augment_images: {what} must be True, False, 'horizontal' or 'vertical', "
        f"got {value!r}"
    )


def _roll(x, axis, shift):
    """Shift image ``i`` cyclically by ``shift[i]`` pixels along ``axis`` (-1 or -2)."""
    size = x.shape[axis]
    index = torch.arange(size, device=x.device)
    index = (index[None, :] - shift[:, None]) % size  # out[j] = in[j - shift]
    if axis == -1:
        index = index[:, None, None, :].expand_as(x)
    else:
        index = index[:, None, :, None].expand_as(x)
    return torch.gather(x, axis, index)


def _where(mask, a, b):
    """Per-sample choice between two batches: ``a[i] if mask[i] else b[i]``."""
    return torch.where(mask.view(-1, *([1] * (a.ndim - 1))), a, b)


def augment_images(
    x,
    *,
    flip=False,
    roll=False,
    rot90=False,
    rotation=0.0,
    zoom=0.0,
    noise=0.0,
    generator=None,
):
    """Return a randomly transformed copy of a batch of images.

    Each image draws its own transformation, applied in this order: a flip
    about each allowed axis with probability 1/2; a cyclic shift along each
    periodic axis by a whole number of pixels drawn uniformly (pixels pushed
    off one edge come back at the other); a turn by a multiple of
    90 degrees (0, 90, 180 or 270, equally likely); a rotation by an angle
    uniform in ``[-rotation, rotation]`` degrees and a zoom by a factor uniform
    in ``[1 - zoom, 1 + zoom]`` about the image centre (bilinear interpolation,
    zero outside the image); then Gaussian noise of standard deviation
    ``noise`` on every pixel. Flips and quarter turns only move pixels, so they
    keep the pixel values exactly, and so do rolls.

    Parameters
    ----------
    x : torch.Tensor of shape (n_images, n_channels, height, width)
        The batch (floating point), on any device; it is not modified.
    flip : bool or {"horizontal", "vertical"}, default=False
        Random mirror images: ``True`` about both axes (independently),
        ``"horizontal"`` left-right only (the width axis), ``"vertical"``
        up-down only.
    roll : bool or {"horizontal", "vertical"}, default=False
        Random cyclic shifts, for axes that are periodic: the azimuth of an
        event (a turn about the beam axis), which is the width of an
        ``EnergyEncoder(geometry="unrolled")`` image and the height of an
        ``EventImager`` image. ``"horizontal"`` shifts along the width,
        ``"vertical"`` along the height, ``True`` along both. A shift by
        ``k`` columns of an unrolled image is exactly the event turned by
        ``k`` azimuth bins.
    rot90 : bool, default=False
        Random quarter turns; square images only.
    rotation : float, default=0.0
        Largest angle, in degrees, of the small random rotations (0: none).
    zoom : float, default=0.0
        Largest relative change of scale, in ``[0, 1)`` (0: none); 0.1 zooms
        by factors between 0.9 and 1.1.
    noise : float, default=0.0
        Standard deviation of the added Gaussian noise, in the units of the
        pixels (0: none).
    generator : torch.Generator, optional
        Where the random numbers come from (on ``x``'s device); torch's
        default generator when None.

    Returns
    -------
    augmented : torch.Tensor
        The transformed batch, of ``x``'s shape, dtype and device.

    Raises
    ------
    ValueError
        For a batch that is not 4-D, ``rot90`` on images that are not square,
        or a parameter out of its range.
    """
    axes = _axes(flip, "flip")
    roll_axes = _axes(roll, "roll")
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ValueError(
            "augment_images: x must be a tensor of shape (n_images, n_channels, "
            f"height, width), got {getattr(x, 'shape', type(x).__name__)}"
        )
    if not (0.0 <= rotation <= 180.0):
        raise ValueError(
            f"augment_images: rotation must be in [0, 180], got {rotation}"
        )
    if not (0.0 <= zoom < 1.0):
        raise ValueError(f"augment_images: zoom must be in [0, 1), got {zoom}")
    if not noise >= 0.0:
        raise ValueError(f"augment_images: noise must be >= 0, got {noise}")
    n, _, height, width = x.shape
    if rot90 and height != width:
        raise ValueError(
            f"augment_images: rot90 turns square images only, got {height} x {width}"
        )
    if n == 0:
        return x.clone()

    def uniform(size=n):
        return torch.rand(size, device=x.device, generator=generator)

    out = x
    for axis in axes:
        out = _where(uniform() < 0.5, out.flip(axis), out)
    for axis in roll_axes:
        shift = torch.randint(
            0, x.shape[axis], (n,), device=x.device, generator=generator
        )
        out = _roll(out, axis, shift)
    if rot90:
        quarters = torch.randint(0, 4, (n,), device=x.device, generator=generator)
        turned, result = out, out
        for k in (1, 2, 3):
            turned = torch.rot90(turned, 1, dims=(-2, -1))
            result = _where(quarters == k, turned, result)
        out = result
    if rotation > 0 or zoom > 0:
        angle = (2 * uniform() - 1) * math.radians(rotation)
        scale = 1 + (2 * uniform() - 1) * zoom
        out = _rotate_and_zoom(out, angle, scale)
    if noise > 0:
        out = out + noise * torch.randn(
            out.shape, device=x.device, dtype=out.dtype, generator=generator
        )
    return out if out is not x else x.clone()


def _rotate_and_zoom(x, angle, scale):
    """Rotate image ``i`` by ``angle[i]`` radians and magnify it by ``scale[i]``.

    The output pixel at ``p`` (in pixels from the centre) takes the input at
    ``R(angle) p / scale``; ``affine_grid`` works in coordinates normalised to
    [-1, 1] on each axis, so the pixel aspect ratio enters the off-diagonal terms.
    """
    _, _, height, width = x.shape
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.zeros((len(x), 2, 3), device=x.device, dtype=torch.float32)
    theta[:, 0, 0] = cos
    theta[:, 0, 1] = -sin * height / width
    theta[:, 1, 0] = sin * width / height
    theta[:, 1, 1] = cos
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(
        x.float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )
    return out.to(x.dtype)


def symmetries(flip=False, rot90=False):
    """Return the exact transformations ``flip`` and ``rot90`` draw from, once each.

    These are the pixel permutations a network trained with these
    augmentations has seen every image under: with ``rot90``, the quarter
    turns, and with a flip as well the turns of the mirror image (the eight
    symmetries of the square); without ``rot90``, every combination of the
    allowed flips. The identity comes first.

    Parameters
    ----------
    flip : bool or {"horizontal", "vertical"}, default=False
        As for :func:`augment_images`.
    rot90 : bool, default=False
        As for :func:`augment_images`.

    Returns
    -------
    transforms : list of (int, tuple of int)
        ``(quarter_turns, flipped_axes)`` pairs for :func:`apply_symmetry`.
    """
    axes = _axes(flip, "flip")
    turns = range(4) if rot90 else range(1)
    if rot90 and axes:  # a turn of one mirror image gives the others
        mirrors = [(), axes[:1]]
    else:
        mirrors = [
            subset
            for r in range(len(axes) + 1)
            for subset in itertools.combinations(axes, r)
        ]
    return [(k, mirror) for mirror in mirrors for k in turns]


def apply_symmetry(x, transform):
    """Apply one of :func:`symmetries`' transformations to a batch of images.

    The image is mirrored about the ``flipped_axes`` first, then turned by
    ``quarter_turns`` quarters (``torch.rot90`` from the height axis towards
    the width axis).

    Parameters
    ----------
    x : torch.Tensor of shape (..., height, width)
        The images; the last two axes are the image's.
    transform : (int, tuple of int)
        ``(quarter_turns, flipped_axes)``, as :func:`symmetries` returns them.

    Returns
    -------
    transformed : torch.Tensor
        The transformed images (square images keep their shape).
    """
    quarter_turns, flipped_axes = transform
    out = x.flip(flipped_axes) if flipped_axes else x
    return torch.rot90(out, quarter_turns, dims=(-2, -1)) if quarter_turns else out


def average_over_symmetries(fn, x, transforms):
    """Return the mean of ``fn`` over ``x`` transformed by each of ``transforms``.

    ``predict``/``predict_proba`` with ``augment_predict=True``, the ONNX
    graph and the saliency maps all average this way, in this order.
    """
    total = None
    for transform in transforms:
        out = fn(apply_symmetry(x, transform))
        total = out if total is None else total + out
    return total / len(transforms)

"""The FID InceptionV3 network in plain ``torch.nn`` with TF-exact preprocessing.

This is the TensorFlow "inception-2015-12-05" graph used by the original FID code,
as ported to PyTorch by pytorch-fid and torch-fidelity. It differs from
torchvision's ``inception_v3`` in three places that change the features:

* the average-pooling branches of the A, C and first E blocks exclude the zero
  padding from the average (``count_include_pad=False``), as TensorFlow does;
* the pooling branch of the last E block (``Mixed_7c``) is a max pool;
* the classifier has 1008 outputs.

Its state dict has exactly the 566 keys of ``pt_inception-2015-12-05-6726825d.pth``,
so the published FID weights load with ``load_state_dict(strict=True)``.
"""

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["FIDInceptionV3", "tf1_resize_bilinear"]

INPUT_SIZE = 299


def tf1_resize_bilinear(images, size):
    """Bilinear resize with TensorFlow 1.x semantics (``align_corners=False``).

    TF1 maps output pixel ``o`` to input coordinate ``o * in_size / out_size``
    (no half-pixel centres) and clamps the upper neighbour at the border. This is
    what the TF FID graph does, and differs from ``torch.nn.functional.interpolate``.

    Parameters
    ----------
    images : torch.Tensor of shape (n, C, H, W)
        Floating-point images.
    size : tuple of int
        Output ``(height, width)``.

    Returns
    -------
    resized : torch.Tensor of shape (n, C, size[0], size[1])
    """
    out_h, out_w = size
    in_h, in_w = images.shape[-2:]

    def axis(in_size, out_size):
        scale = torch.tensor(in_size / out_size, dtype=torch.float32)
        src = torch.arange(out_size, dtype=torch.float32) * scale
        lo = src.long()
        hi = (lo + 1).clamp_max(in_size - 1)
        frac = (src - lo.float()).to(images.dtype)
        dev = images.device
        return lo.to(dev), hi.to(dev), frac.to(dev)

    y_lo, y_hi, dy = axis(in_h, out_h)
    x_lo, x_hi, dx = axis(in_w, out_w)
    # Horizontal pass on the input rows (TF1 interpolates each of the two source
    # rows horizontally, then vertically: the same operations, done once per row).
    # (Advanced indexing: index_select on a middle dimension is far slower.)
    left = images[..., x_lo]
    rows = left + (images[..., x_hi] - left) * dx.view(1, 1, 1, out_w)
    top = rows[:, :, y_lo]
    out = rows[:, :, y_hi]
    out -= top
    out *= dy.view(1, 1, out_h, 1)
    out += top
    return out


class _Conv(nn.Module):
    """Convolution without bias, batch norm (eps 1e-3), ReLU."""

    def __init__(self, in_channels, out_channels, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def _tf_avg_pool(x):
    # TensorFlow's average pool ignores the zero padding.
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class _BlockA(nn.Module):
    def __init__(self, in_channels, pool_features):
        super().__init__()
        self.branch1x1 = _Conv(in_channels, 64, kernel_size=1)
        self.branch5x5_1 = _Conv(in_channels, 48, kernel_size=1)
        self.branch5x5_2 = _Conv(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = _Conv(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = _Conv(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = _Conv(96, 96, kernel_size=3, padding=1)
        self.branch_pool = _Conv(in_channels, pool_features, kernel_size=1)

    def forward(self, x):
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        pool = self.branch_pool(_tf_avg_pool(x))
        return torch.cat([self.branch1x1(x), b5, b3, pool], 1)


class _BlockB(nn.Module):
    def __init__(self, in_channels):
        super().__init__()
        self.branch3x3 = _Conv(in_channels, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = _Conv(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = _Conv(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = _Conv(96, 96, kernel_size=3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([self.branch3x3(x), b3, pool], 1)


class _BlockC(nn.Module):
    def __init__(self, in_channels, channels_7x7):
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = _Conv(in_channels, 192, kernel_size=1)
        self.branch7x7_1 = _Conv(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = _Conv(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = _Conv(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = _Conv(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = _Conv(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = _Conv(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = _Conv(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = _Conv(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = _Conv(in_channels, 192, kernel_size=1)

    def forward(self, x):
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d7 = self.branch7x7dbl_1(x)
        for layer in (
            self.branch7x7dbl_2,
            self.branch7x7dbl_3,
            self.branch7x7dbl_4,
            self.branch7x7dbl_5,
        ):
            d7 = layer(d7)
        pool = self.branch_pool(_tf_avg_pool(x))
        return torch.cat([self.branch1x1(x), b7, d7, pool], 1)


class _BlockD(nn.Module):
    def __init__(self, in_channels):
        super().__init__()
        self.branch3x3_1 = _Conv(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = _Conv(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = _Conv(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = _Conv(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = _Conv(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = _Conv(192, 192, kernel_size=3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_1(x)
        for layer in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            b7 = layer(b7)
        pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, b7, pool], 1)


class _BlockE(nn.Module):
    def __init__(self, in_channels, max_pool):
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = _Conv(in_channels, 320, kernel_size=1)
        self.branch3x3_1 = _Conv(in_channels, 384, kernel_size=1)
        self.branch3x3_2a = _Conv(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = _Conv(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = _Conv(in_channels, 448, kernel_size=1)
        self.branch3x3dbl_2 = _Conv(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = _Conv(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = _Conv(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = _Conv(in_channels, 192, kernel_size=1)

    def forward(self, x):
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        d3 = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        d3 = torch.cat([self.branch3x3dbl_3a(d3), self.branch3x3dbl_3b(d3)], 1)
        if self.max_pool:  # the FID graph's Mixed_7c uses a max pool here
            pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        else:
            pooled = _tf_avg_pool(x)
        return torch.cat([self.branch1x1(x), b3, d3, self.branch_pool(pooled)], 1)


class FIDInceptionV3(nn.Module):
    """InceptionV3 of the FID reference implementation, in plain ``torch.nn``.

    A freshly constructed network has PyTorch's default random initialisation;
    load the FID weights with :func:`skgan.metrics.load_fid_inception` (or
    ``load_state_dict``). The network is in evaluation mode and its parameters do
    not require gradients.

    The input is a float tensor of shape ``(n, 3, H, W)`` holding pixel values in
    ``[0, 255]`` (``uint8`` tensors are accepted). Preprocessing is the
    TensorFlow graph's: a TF1-style bilinear resize to 299x299 (skipped when the
    images already have that size, where it is the identity) and
    ``(x - 128) / 128``.

    Examples
    --------
    >>> import torch
    >>> from skgan.metrics import FIDInceptionV3
    >>> net = FIDInceptionV3()
    >>> len(net.state_dict())
    566
    """

    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = _Conv(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = _Conv(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = _Conv(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = _Conv(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = _Conv(80, 192, kernel_size=3)
        self.Mixed_5b = _BlockA(192, pool_features=32)
        self.Mixed_5c = _BlockA(256, pool_features=64)
        self.Mixed_5d = _BlockA(288, pool_features=64)
        self.Mixed_6a = _BlockB(288)
        self.Mixed_6b = _BlockC(768, channels_7x7=128)
        self.Mixed_6c = _BlockC(768, channels_7x7=160)
        self.Mixed_6d = _BlockC(768, channels_7x7=160)
        self.Mixed_6e = _BlockC(768, channels_7x7=192)
        self.Mixed_7a = _BlockD(768)
        self.Mixed_7b = _BlockE(1280, max_pool=False)
        self.Mixed_7c = _BlockE(2048, max_pool=True)
        self.fc = nn.Linear(2048, 1008)
        self.requires_grad_(False)
        self.eval()

    def preprocess(self, images):
        """TF-exact preprocessing of ``[0, 255]`` images to the network input."""
        x = images.float() if not torch.is_floating_point(images) else images
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(
                "FIDInceptionV3 expects RGB images of shape (n, 3, H, W), got "
                f"{tuple(x.shape)}."
            )
        if tuple(x.shape[-2:]) != (INPUT_SIZE, INPUT_SIZE):
            x = tf1_resize_bilinear(x, (INPUT_SIZE, INPUT_SIZE))
        return (x - 128) / 128

    def pool_features(self, images):
        """2048-d features: global average pool after ``Mixed_7c``."""
        x = self.preprocess(images)
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for block in (
            self.Mixed_5b,
            self.Mixed_5c,
            self.Mixed_5d,
            self.Mixed_6a,
            self.Mixed_6b,
            self.Mixed_6c,
            self.Mixed_6d,
            self.Mixed_6e,
            self.Mixed_7a,
            self.Mixed_7b,
            self.Mixed_7c,
        ):
            x = block(x)
        return torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1)

    def forward(self, images):
        """Return the 2048-d pool features used by FID, KID and precision/recall."""
        return self.pool_features(images)

    def forward_all(self, images):
        """Return a dict with ``"pool"`` (n, 2048), ``"logits_unbiased"`` (n, 1008)
        (the classifier without its bias, used by the Inception Score) and
        ``"logits"`` (n, 1008)."""
        pool = self.pool_features(images)
        unbiased = pool.mm(self.fc.weight.T)
        return {
            "pool": pool,
            "logits_unbiased": unbiased,
            "logits": unbiased + self.fc.bias.unsqueeze(0),
        }

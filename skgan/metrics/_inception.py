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

Inference in evaluation mode takes a fused path that computes the same function:
each batch norm folded into its convolution, the input normalisation folded into
the first convolution, channels-last tensors (much faster convolutions and pooling
on CPUs), and the 1x1 convolutions that read a block's input run as one. The
average pool of a pooling branch commutes with its 1x1 convolution (both are
linear and the pool's divisor depends only on the position), so it is applied to
the few output channels of the merged convolution instead of the block input.
"""

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["FIDInceptionV3", "tf1_resize_bilinear"]

INPUT_SIZE = 299
_CL = torch.channels_last


def _tf1_axis(in_size, out_size, dtype, device):
    scale = torch.tensor(in_size / out_size, dtype=torch.float32)
    src = torch.arange(out_size, dtype=torch.float32) * scale
    lo = src.long()
    hi = (lo + 1).clamp_max(in_size - 1)
    frac = (src - lo.float()).to(dtype)
    return lo.to(device), hi.to(device), frac.to(device)


def _tf1_resize_nhwc(images, size):
    """:func:`tf1_resize_bilinear` of a ``(n, H, W, C)`` tensor, to ``(n, h, w, C)``."""
    out_h, out_w = size
    in_h, in_w = images.shape[1:3]
    y_lo, y_hi, dy = _tf1_axis(in_h, out_h, images.dtype, images.device)
    x_lo, x_hi, dx = _tf1_axis(in_w, out_w, images.dtype, images.device)
    # Horizontal pass on the input rows (TF1 interpolates each of the two source
    # rows horizontally, then vertically: the same operations, done once per
    # row), in place on freshly gathered tensors.
    left = images[:, :, x_lo]
    rows = images[:, :, x_hi]
    rows.sub_(left).mul_(dx.view(1, 1, out_w, 1)).add_(left)
    top = rows[:, y_lo]
    out = rows[:, y_hi]
    out.sub_(top).mul_(dy.view(1, out_h, 1, 1)).add_(top)
    return out


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
        In channels-last memory format.
    """
    return _tf1_resize_nhwc(images.permute(0, 2, 3, 1), size).permute(0, 3, 1, 2)


class _Conv(nn.Module):
    """Convolution without bias, batch norm (eps 1e-3), ReLU."""

    def __init__(self, in_channels, out_channels, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))

    def folded(self):
        """Weight and bias of the convolution with the eval batch norm folded in."""
        bn = self.bn
        scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
        weight = self.conv.weight.double() * scale.view(-1, 1, 1, 1)
        return weight, bn.bias.double() - bn.running_mean.double() * scale


class _Fused:
    """Convolutions of one input with their batch norms folded in, run as one."""

    def __init__(self, convs, dtype, input_scale=None):
        weight, bias = (torch.cat(t) for t in zip(*(c.folded() for c in convs)))
        if input_scale is not None:  # conv((x - shift) / scale) without padding
            shift, scale = input_scale
            bias = bias - weight.sum((1, 2, 3)) * (shift / scale)
            weight = weight / scale
        self.weight = weight.to(dtype).contiguous(memory_format=_CL)
        self.bias = bias.to(dtype)
        self.stride, self.padding = convs[0].conv.stride, convs[0].conv.padding
        self.splits = [c.conv.out_channels for c in convs]

    def __call__(self, x, relu=True):
        y = F.conv2d(x, self.weight, self.bias, self.stride, self.padding)
        return y.relu_() if relu else y


def _tf_avg_pool(x):
    # TensorFlow's average pool ignores the zero padding.
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


def _chain(fused, names, x):
    for name in names:
        x = fused[name](x)
    return x


class _Block(nn.Module):
    """A mixed block; ``_merged`` names the 1x1 convolutions of its input."""

    _merged = ()

    def _fuse(self, dtype):
        fused = {"merged": _Fused([getattr(self, n) for n in self._merged], dtype)}
        for name, child in self.named_children():
            if name not in self._merged:
                fused[name] = _Fused([child], dtype)
        return fused

    def _merged_branches(self, fused, x):
        """Merged convolution; the pool branch (first, if any) is pooled first."""
        outs = fused["merged"](x, relu=False).split(fused["merged"].splits, 1)
        if self._merged[0] == "branch_pool":
            return [_tf_avg_pool(outs[0]).relu_()] + [o.relu() for o in outs[1:]]
        return [o.relu() for o in outs]


class _BlockA(_Block):
    _merged = ("branch_pool", "branch1x1", "branch5x5_1", "branch3x3dbl_1")

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

    def _fast(self, f, x):
        pool, b1, b5, b3 = self._merged_branches(f, x)
        b5 = f["branch5x5_2"](b5)
        b3 = _chain(f, ("branch3x3dbl_2", "branch3x3dbl_3"), b3)
        return torch.cat([b1, b5, b3, pool], 1)


class _BlockB(_Block):
    _merged = ("branch3x3dbl_1",)

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

    def _fast(self, f, x):
        b3 = _chain(f, ("merged", "branch3x3dbl_2", "branch3x3dbl_3"), x)
        pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([f["branch3x3"](x), b3, pool], 1)


class _BlockC(_Block):
    _merged = ("branch_pool", "branch1x1", "branch7x7_1", "branch7x7dbl_1")

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

    _DBL = ("branch7x7dbl_2", "branch7x7dbl_3", "branch7x7dbl_4", "branch7x7dbl_5")

    def forward(self, x):
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d7 = self.branch7x7dbl_1(x)
        for name in self._DBL:
            d7 = getattr(self, name)(d7)
        pool = self.branch_pool(_tf_avg_pool(x))
        return torch.cat([self.branch1x1(x), b7, d7, pool], 1)

    def _fast(self, f, x):
        pool, b1, b7, d7 = self._merged_branches(f, x)
        b7 = _chain(f, ("branch7x7_2", "branch7x7_3"), b7)
        return torch.cat([b1, b7, _chain(f, self._DBL, d7), pool], 1)


class _BlockD(_Block):
    _merged = ("branch3x3_1", "branch7x7x3_1")

    def __init__(self, in_channels):
        super().__init__()
        self.branch3x3_1 = _Conv(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = _Conv(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = _Conv(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = _Conv(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = _Conv(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = _Conv(192, 192, kernel_size=3, stride=2)

    _B7 = ("branch7x7x3_2", "branch7x7x3_3", "branch7x7x3_4")

    def forward(self, x):
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_1(x)
        for name in self._B7:
            b7 = getattr(self, name)(b7)
        pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, b7, pool], 1)

    def _fast(self, f, x):
        b3, b7 = self._merged_branches(f, x)
        b7 = _chain(f, self._B7, b7)
        pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([f["branch3x3_2"](b3), b7, pool], 1)


class _BlockE(_Block):
    def __init__(self, in_channels, max_pool):
        super().__init__()
        self.max_pool = max_pool
        self._merged = ("branch1x1", "branch3x3_1", "branch3x3dbl_1")
        if not max_pool:  # an average pool commutes with the 1x1 convolution
            self._merged = ("branch_pool",) + self._merged
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

    def _fast(self, f, x):
        *pool, b1, b3, d3 = self._merged_branches(f, x)
        if self.max_pool:
            pool = [f["branch_pool"](F.max_pool2d(x, 3, stride=1, padding=1))]
        d3 = f["branch3x3dbl_2"](d3)
        parts = [b1, f["branch3x3_2a"](b3), f["branch3x3_2b"](b3)]
        parts += [f["branch3x3dbl_3a"](d3), f["branch3x3dbl_3b"](d3)]
        return torch.cat(parts + pool, 1)


_BLOCKS = (
    "Mixed_5b",
    "Mixed_5c",
    "Mixed_5d",
    "Mixed_6a",
    "Mixed_6b",
    "Mixed_6c",
    "Mixed_6d",
    "Mixed_6e",
    "Mixed_7a",
    "Mixed_7b",
    "Mixed_7c",
)
_STEM = ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3")


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

    Parameters
    ----------
    fuse : bool, default=True
        Whether evaluation-mode inference with frozen parameters takes the fused
        path: batch norms folded into the convolutions, channels-last tensors,
        the 1x1 convolutions of each block input run as one. It computes the same
        function up to float rounding, several times faster on CPUs, and keeps a
        folded copy of the weights (about 95 MB in float32), recomputed when a
        parameter or buffer is replaced or changed in place (as
        ``load_state_dict`` and ``to`` do; writes through ``.data`` are not
        seen). With ``fuse=False``, or in training mode, or when a parameter
        requires gradients, every layer runs as defined in ``torch.nn``.

    Examples
    --------
    >>> import torch
    >>> from skgan.metrics import FIDInceptionV3
    >>> net = FIDInceptionV3()
    >>> len(net.state_dict())
    566
    """

    def __init__(self, *, fuse=True):
        super().__init__()
        self.fuse = fuse
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
        self._fused = None

    def __getstate__(self):
        # The fused weights are a cache: copies and pickles rebuild them.
        state = dict(self.__dict__)
        state["_fused"] = None
        return state

    @staticmethod
    def _check(images):
        x = images.float() if not torch.is_floating_point(images) else images
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(
                "FIDInceptionV3 expects RGB images of shape (n, 3, H, W), got "
                f"{tuple(x.shape)}."
            )
        return x

    def preprocess(self, images):
        """TF-exact preprocessing of ``[0, 255]`` images to the network input."""
        x = self._check(images)
        if tuple(x.shape[-2:]) != (INPUT_SIZE, INPUT_SIZE):
            x = tf1_resize_bilinear(x, (INPUT_SIZE, INPUT_SIZE)).contiguous()
        return (x - 128) / 128

    def _fused_weights(self):
        """The fused path's weights, folded again when the module's tensors change."""
        tensors = list(self.parameters()) + list(self.buffers())
        if any(t.requires_grad for t in tensors):
            return None
        cached = getattr(self, "_fused", None)  # absent in pickles of old versions
        if any(t.is_inference() for t in tensors):
            key = None  # inference tensors have no version counter to watch
        else:
            key = [(t.data_ptr(), t._version, t.dtype, t.device) for t in tensors]
            if cached is not None and cached[0] == key:
                return cached[2]
        with torch.inference_mode(False), torch.no_grad():
            dtype = self.Conv2d_1a_3x3.conv.weight.dtype
            fused = {"stem": [_Fused([self.Conv2d_1a_3x3], dtype, (128.0, 128.0))]}
            fused["stem"] += [_Fused([getattr(self, n)], dtype) for n in _STEM[1:]]
            fused["Conv2d_3b_1x1"] = _Fused([self.Conv2d_3b_1x1], dtype)
            fused["Conv2d_4a_3x3"] = _Fused([self.Conv2d_4a_3x3], dtype)
            for name in _BLOCKS:
                fused[name] = getattr(self, name)._fuse(dtype)
            # The detached aliases keep the storages alive, so that a data_ptr in
            # the key cannot be reused by new tensors while the key is held.
            if key is not None:
                self._fused = (key, [t.detach() for t in tensors], fused)
        return fused

    def _fast_pool_features(self, images, fused):
        x = self._check(images).permute(0, 2, 3, 1)  # NHWC views of the batch
        if tuple(x.shape[1:3]) != (INPUT_SIZE, INPUT_SIZE):
            x = _tf1_resize_nhwc(x, (INPUT_SIZE, INPUT_SIZE))
        # NCHW shape, channels-last memory; (x - 128) / 128 is in the first conv.
        x = x.permute(0, 3, 1, 2).contiguous(memory_format=_CL)
        for conv in fused["stem"]:
            x = conv(x)
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = fused["Conv2d_4a_3x3"](fused["Conv2d_3b_1x1"](x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for name in _BLOCKS:
            x = getattr(self, name)._fast(fused[name], x)
        return x.mean((2, 3))

    def pool_features(self, images):
        """2048-d features: global average pool after ``Mixed_7c``."""
        fused = None
        if getattr(self, "fuse", True) and not self.training:
            fused = self._fused_weights()
        if fused is not None:
            return self._fast_pool_features(images, fused)
        x = self.preprocess(images)
        for name in _STEM:
            x = getattr(self, name)(x)
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for name in _BLOCKS:
            x = getattr(self, name)(x)
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

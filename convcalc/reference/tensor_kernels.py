"""numpy kernels for tensors of any rank: attention (over tokens, or an image in windows or a
grid), matrix products, softmax along an axis, reductions, group norm, pixel shuffle and space
to depth. Arrays are channels last, as convcalc's shapes; each multiplying kernel returns the
multiplies it executed with its output."""

import numpy as np

from convcalc.reference.kernels import Array, layer_norm


def matmul(a: Array, b: Array) -> tuple[Array, int]:
    """a @ b with leading dims broadcast, and its multiplies: batch * m * k * n."""
    out: Array = np.matmul(a, b)
    return out, out.size * a.shape[-1]


def softmax(x: Array, axis: int) -> Array:
    """Softmax along ``axis``."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    out: Array = e / e.sum(axis=axis, keepdims=True)
    return out


def _windows(x: Array, size: int, shift: int, grid: bool) -> tuple[Array, tuple[int, ...]]:
    """An image [h, w, c] as windows [count, size * size, c]: padded to whole windows and
    rolled back by ``shift`` first (Swin), or gathered every (h / size)-th position (a grid,
    MaxViT); with what ``_unwindows`` needs to undo it."""
    h, w, c = x.shape
    if grid:
        gh, gw = h // size, w // size
        parts = x.reshape(size, gh, size, gw, c).transpose(1, 3, 0, 2, 4)
        return parts.reshape(gh * gw, size * size, c), (h, w, h, w)
    ph, pw = -(-h // size) * size, -(-w // size) * size
    x = np.pad(x, ((0, ph - h), (0, pw - w), (0, 0)))
    if shift:
        x = np.roll(x, (-shift, -shift), axis=(0, 1))
    parts = x.reshape(ph // size, size, pw // size, size, c).transpose(0, 2, 1, 3, 4)
    return parts.reshape(-1, size * size, c), (h, w, ph, pw)


def _unwindows(parts: Array, size: int, shift: int, grid: bool, sizes: tuple[int, ...]
               ) -> Array:
    """The inverse of ``_windows``."""
    h, w, ph, pw = sizes
    c = parts.shape[-1]
    if grid:
        gh, gw = h // size, w // size
        return parts.reshape(gh, gw, size, size, c).transpose(2, 0, 3, 1, 4).reshape(h, w, c)
    x = parts.reshape(ph // size, pw // size, size, size, c).transpose(0, 2, 1, 3, 4)
    x = x.reshape(ph, pw, c)
    if shift:
        x = np.roll(x, (shift, shift), axis=(0, 1))
    return x[:h, :w]


def attention(x: Array, qkv: Array, qkv_bias: Array | None, proj: Array, proj_bias: Array | None,
              *, heads: int, window: int = 0, shift: int = 0, grid: bool = False,
              position_bias: Array | None = None) -> tuple[Array, int]:
    """Multi-head self-attention over tokens [n, d] or the positions of an image [h, w, d]
    (in ``window`` x ``window`` windows, shifted by ``shift``, or a grid), with weights
    qkv [d, 3d] and proj [d, d] and a bias per head and score (``position_bias`` [heads, m,
    m]); returns the output and the multiplies of its four products."""
    image = x.ndim == 3
    sizes: tuple[int, ...] = ()
    if image and window:
        parts, sizes = _windows(x, window, shift, grid)
    else:
        parts = x.reshape(1, -1, x.shape[-1])
    count, m, d = parts.shape
    q, k, v = np.split(parts @ qkv + (qkv_bias if qkv_bias is not None else 0), 3, axis=-1)
    macs = count * m * d * 3 * d
    dh = d // heads

    def split(t: Array) -> Array:
        return t.reshape(count, m, heads, dh).transpose(0, 2, 1, 3)

    scores, done = matmul(split(q) / np.sqrt(dh), split(k).transpose(0, 1, 3, 2))
    macs += done
    if position_bias is not None:
        scores = scores + position_bias
    mixed, done = matmul(softmax(scores, -1), split(v))
    macs += done
    out = mixed.transpose(0, 2, 1, 3).reshape(count, m, d) @ proj
    macs += count * m * d * d
    if proj_bias is not None:
        out = out + proj_bias
    if image and window:
        return _unwindows(out, window, shift, grid, sizes).astype(x.dtype), macs
    return out.reshape(x.shape).astype(x.dtype), macs


def reduce(x: Array, op: str, axes: tuple[int, ...], keepdims: bool) -> Array:
    """The mean, sum, max or L2 norm along ``axes``."""
    if op == "l2":
        out: Array = np.sqrt(np.sum(x * x, axis=axes, keepdims=keepdims))
    else:
        out = getattr(np, op)(x, axis=axes, keepdims=keepdims)
    return out.astype(x.dtype, copy=False)


def group_norm(x: Array, groups: int, weight: Array, bias: Array, eps: float) -> Array:
    """Group norm over the channels (last) of every group, across all positions."""
    c = x.shape[-1]
    grouped = x.reshape(-1, groups, c // groups).transpose(1, 0, 2).reshape(groups, -1)
    normed = layer_norm(grouped, np.ones(1, x.dtype), np.zeros(1, x.dtype), eps)
    back = normed.reshape(groups, -1, c // groups).transpose(1, 0, 2).reshape(x.shape)
    out: Array = (back * weight + bias).astype(x.dtype)
    return out


def pixel_shuffle(x: Array, r: int) -> Array:
    """[h, w, c] -> [h·r, w·r, c / r²], channel (c', i, j) to offset (i, j), as torch orders
    them."""
    h, w, c = x.shape
    out: Array = x.reshape(h, w, c // (r * r), r, r).transpose(0, 3, 1, 4, 2)
    return out.reshape(h * r, w * r, c // (r * r))


def space_to_depth(x: Array, r: int) -> Array:
    """[h, w, c] -> [h / r, w / r, c·r²], the inverse of ``pixel_shuffle``."""
    h, w, c = x.shape
    out: Array = x.reshape(h // r, r, w // r, r, c).transpose(0, 2, 4, 1, 3)
    return out.reshape(h // r, w // r, c * r * r)

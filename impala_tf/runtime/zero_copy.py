"""Numpy arrays handed to TensorFlow without a copy.

``tf.convert_to_tensor`` copies a numpy array while it holds the GIL (about
50 µs for a batch of 48 Atari observations, 1.35 MB). Through DLPack a
tensor takes the array's memory as it is, in about 1 µs, which matters in
the learner process, where every frame of the local runtime passes through
the policy call (`agents.make_inference`). tf.data's generator input
shares an array the same way when it is aligned, and copies it, holding the
GIL, when it is not (`pipeline.concatenate`).

TensorFlow's kernels assume that a tensor's data is aligned to
`TENSOR_ALIGNMENT` bytes and abort the whole process on one that is not
(DLPack), so arrays meant to be shared are allocated with `aligned_empty`,
and `as_tensor` checks before it shares.
"""

import numpy as np
import tensorflow as tf

# Eigen's widest vector (AVX-512), the alignment TensorFlow's kernels assume.
TENSOR_ALIGNMENT = 64
# numpy dtype kinds DLPack carries: bool, signed, unsigned, floating.
_SHAREABLE_KINDS = 'biuf'


def aligned_empty(shape, dtype) -> np.ndarray:
  """`np.empty`, with its data aligned so that `as_tensor` can share it."""
  dtype = np.dtype(dtype)
  size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
  buffer = np.empty(size + TENSOR_ALIGNMENT, np.uint8)
  offset = -buffer.ctypes.data % TENSOR_ALIGNMENT
  return buffer[offset:offset + size].view(dtype).reshape(shape)


def aligned_concatenate(arrays, axis: int = 0) -> np.ndarray:
  """`np.concatenate`, into `aligned_empty` memory where `as_tensor` could
  share it (a bool or numeric dtype)."""
  first = np.asarray(arrays[0])
  if first.dtype.kind not in _SHAREABLE_KINDS:
    return np.concatenate(arrays, axis)
  shape = list(first.shape)
  shape[axis] = sum(np.shape(a)[axis] for a in arrays)
  return np.concatenate(arrays, axis, out=aligned_empty(shape, first.dtype))


def aligned_stack(arrays, axis: int) -> np.ndarray:
  """`np.stack`, as `aligned_concatenate` of the arrays each given a new
  axis ``axis`` (which is what `np.stack` does)."""
  return aligned_concatenate([np.expand_dims(a, axis) for a in arrays], axis)


def as_tensor(array) -> tf.Tensor:
  """``array`` as a tensor that shares its memory where it can, else a copy.

  Shared: a C-contiguous, writeable, non-empty numpy array of a bool or
  numeric dtype, aligned to `TENSOR_ALIGNMENT`. The caller must not write
  to it while the tensor is in use.
  """
  if (isinstance(array, np.ndarray) and array.size and
      array.dtype.kind in _SHAREABLE_KINDS and array.flags.c_contiguous and
      array.flags.writeable and array.ctypes.data % TENSOR_ALIGNMENT == 0):
    return tf.experimental.dlpack.from_dlpack(array.__dlpack__())
  return tf.convert_to_tensor(array)

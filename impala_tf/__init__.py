"""IMPALA (Espeholt et al., 2018) in TensorFlow 2.

Importing the package turns on TensorFlow's oneDNN kernels for the CPU
(``TF_ENABLE_ONEDNN_OPTS=1``) unless the environment says otherwise.
TensorFlow enables them by itself only on CPUs with AVX-512 VNNI or newer
instructions; elsewhere (AMD EPYC, older Intel parts) it falls back to
Eigen's kernels, whose convolution gradients are slow: on a 2-core AMD EPYC
the learner's train step ran 2.2× faster with oneDNN on the shallow network
and 2.8× on the deep one, and the whole Atari system 1.6× (REPRODUCE.md,
Table 1). TensorFlow reads the flag once, when it is first imported, so it
takes effect only where this package is imported before TensorFlow: the
entry points, the benchmarks, the tests and the notebooks all do, and a
warning says when a program imported TensorFlow first and so runs without
oneDNN. ``TF_ENABLE_ONEDNN_OPTS=0`` keeps Eigen's kernels.

It also sets how much of TensorFlow's C++ log reaches the terminal
(``TF_CPP_MIN_LOG_LEVEL``), unless the user set it: warnings and errors only
(2) where the machine has a GPU device, errors hidden too (3) where it has
none, since every start there logs a failed ``cuInit`` as an error that
means only "no GPU"; TensorFlow's errors still reach Python as exceptions.
"""

import glob
import os
import sys
import warnings


def _onednn_enabled() -> bool:
  """TensorFlow's own answer (it has no public one); True if unknown."""
  try:
    # Only after TensorFlow was imported: importing it here would start it.
    from tensorflow.python.util import _pywrap_util_port  # pylint: disable=g-import-not-at-top
    return bool(_pywrap_util_port.IsMklEnabled())
  except (ImportError, AttributeError):
    return True


if 'tensorflow' in sys.modules:
  if 'TF_ENABLE_ONEDNN_OPTS' not in os.environ and not _onednn_enabled():
    warnings.warn(
        'TensorFlow was imported before impala_tf, without its oneDNN '
        'kernels on this CPU: training runs up to 2.8x slower. Import '
        'impala_tf first, or set TF_ENABLE_ONEDNN_OPTS=1 before Python '
        'starts.', RuntimeWarning, stacklevel=2)
os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '1')


def _has_gpu_device() -> bool:
  """Whether a GPU's device node exists: NVIDIA's, WSL's or ROCm's."""
  return bool(glob.glob('/dev/nvidia[0-9]*') or
              os.path.exists('/dev/dxg') or os.path.exists('/dev/kfd'))


os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL',
                      '2' if _has_gpu_device() else '3')

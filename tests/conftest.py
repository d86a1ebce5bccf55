"""Test set-up shared by every test module."""

import os

import pytest

# Anything Ray starts in tests binds to 127.0.0.1 only (see README).
os.environ.setdefault('RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER', '0')

# Before TensorFlow, as in every entry point: the package turns on
# TensorFlow's oneDNN kernels (impala_tf/__init__.py), so that the tests run
# the kernels that training runs.
import impala_tf  # pylint: disable=g-import-not-at-top,unused-import
import tensorflow as tf  # pylint: disable=g-import-not-at-top

# Two logical CPU devices, so that tf.distribute strategies with two replicas
# can be tested on one CPU. This must happen before TensorFlow starts its
# runtime, i.e. before any test runs an op.
_cpus = tf.config.list_physical_devices('CPU')
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)


def process_alive(pid):
  """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
  try:
    with open(f'/proc/{pid}/stat') as f:
      return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
  except OSError:
    return False


def wait_for(condition, timeout_s, what='the condition'):
  """Polls ``condition()`` until it returns something true, and returns
  that; fails naming ``what`` after ``timeout_s``. Tests wait for states,
  not for fixed times, so that a slow machine makes them slower, not red."""
  import time  # pylint: disable=g-import-not-at-top
  deadline = time.monotonic() + timeout_s
  while True:
    value = condition()
    if value:
      return value
    if time.monotonic() > deadline:
      raise AssertionError(f'timed out after {timeout_s} s waiting for {what}')
    time.sleep(0.05)


def slow(*values):
  """A parametrized case that CI runs and the default run skips
  (``-m 'not slow'``): the cases beyond the one the default run keeps."""
  return pytest.param(*values, marks=pytest.mark.slow)

"""Test set-up shared by every test module."""

import os

# Anything Ray starts in tests binds to 127.0.0.1 only (see README).
os.environ.setdefault('RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER', '0')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import tensorflow as tf  # pylint: disable=g-import-not-at-top

# Two logical CPU devices, so that tf.distribute strategies with two replicas
# can be tested on one CPU. This must happen before TensorFlow starts its
# runtime, i.e. before any test runs an op.
_cpus = tf.config.list_physical_devices('CPU')
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)

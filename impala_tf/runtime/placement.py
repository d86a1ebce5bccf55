"""Where the learner runs: the `tf.distribute` strategy a config asks for,
and where each host of a multi-host learner writes."""

import os

import ml_collections
import tensorflow as tf


def make_strategy(config: ml_collections.ConfigDict) -> tf.distribute.Strategy:
  if config.strategy == 'mirrored':
    devices = config.devices or [
        d.name for d in tf.config.list_logical_devices('GPU')]
    if devices and all('CPU' in d.upper() for d in devices):
      # Replicas on CPU devices (tests, debugging): reduce on one device.
      # The default collective ops key their instances per strategy, and a
      # second strategy in the same process collides with the first's.
      return tf.distribute.MirroredStrategy(
          devices, cross_device_ops=tf.distribute.ReductionToOneDevice())
    return tf.distribute.MirroredStrategy(config.devices)
  if config.strategy == 'multi_worker_mirrored':
    # The hosts and this process's place among them come from TF_CONFIG.
    return tf.distribute.MultiWorkerMirroredStrategy()
  return tf.distribute.get_strategy()


def host_logdir(strategy: tf.distribute.Strategy, logdir: str) -> str:
  """Where this host writes: ``logdir`` for the chief (or a single host);
  under MultiWorkerMirroredStrategy, other hosts write their own logs and
  checkpoints (every host must save, TF's rule) into ``logdir/worker_<i>``."""
  if strategy.extended.should_checkpoint:
    return logdir
  resolver = strategy.cluster_resolver
  return os.path.join(logdir, f'{resolver.task_type}_{resolver.task_id}')

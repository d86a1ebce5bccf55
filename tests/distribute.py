"""Splitting one whole batch between a strategy's replicas, for tests that
compare a distributed update with a single-device one (training itself feeds
each replica its own batches from the queue)."""

import numpy as np
import tensorflow as tf
import tree

from impala_tf.types import Trajectory


def batch_slice(batch: Trajectory, start: int, size: int) -> Trajectory:
  """Trajectories ``start`` to ``start + size`` of a time-major batch (numpy
  or tensors): the batch axis is 0 for ``level_name`` and ``agent_state``,
  1 for the rest."""
  take = lambda axis: lambda x: np.take(x, range(start, start + size),
                                        axis=axis)
  return Trajectory(
      level_name=take(0)(batch.level_name),
      agent_state=tree.map_structure(take(0), batch.agent_state),
      env_outputs=tree.map_structure(take(1), batch.env_outputs),
      agent_outputs=tree.map_structure(take(1), batch.agent_outputs),
      policy_version=take(1)(batch.policy_version))


def distribute_batch(strategy: tf.distribute.Strategy,
                     batch: Trajectory):
  """A whole time-major batch (numpy) split evenly between the strategy's
  replicas, as a per-replica value for ``strategy.run``; under
  MultiWorkerMirroredStrategy each host takes the replicas it holds."""
  share = batch.level_name.shape[0] // strategy.num_replicas_in_sync
  return strategy.experimental_distribute_values_from_function(
      lambda context: tree.map_structure(tf.constant, batch_slice(
          batch, context.replica_id_in_sync_group * share, share)))

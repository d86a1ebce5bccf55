"""One worker of a MultiWorkerMirroredStrategy learner on 127.0.0.1.

  python tests/multi_worker_learner.py TASK_INDEX PORT,PORT... IN.npz OUT.npz

Reads the learner config, the initial weights and a whole batch from IN.npz,
trains two steps on its share of the batch (worker i takes the i-th slice
along the batch axis) and writes the agent's weights to OUT.npz. Used by
tests/test_learner.py, which compares them with one learner on the whole
batch.
"""

import json
import os
import sys


def main(task_index, ports, input_path, output_path):
  os.environ['TF_CONFIG'] = json.dumps({
      'cluster': {'worker': [f'127.0.0.1:{port}' for port in ports]},
      'task': {'type': 'worker', 'index': task_index},
  })
  # pylint: disable=g-import-not-at-top
  import ml_collections
  import numpy as np
  import tensorflow as tf
  import tree

  from impala_tf.agent import networks
  from impala_tf.agent.hyperparameters import LearnerHyperparameters
  from impala_tf.agent.learner import Learner
  from impala_tf.runtime import placement
  from impala_tf.runtime.pipeline import trajectory_spec
  from tests import distribute
  # pylint: enable=g-import-not-at-top

  inputs = np.load(input_path)
  config = ml_collections.ConfigDict(json.loads(str(inputs['config'])))
  config.strategy = 'multi_worker_mirrored'
  strategy = placement.make_strategy(config)
  num_workers = len(ports)
  assert strategy.num_replicas_in_sync == num_workers

  agent = networks.ImpalaAgent(2, torso='mlp', use_lstm=True)
  unroll_length = int(inputs['unroll_length'])
  batch_size = int(inputs['batch_size'])
  share = batch_size // num_workers
  spec = trajectory_spec(tf.TensorSpec([6], tf.float32), agent.state_spec(),
                         2, unroll_length, share)
  learner = Learner(agent, LearnerHyperparameters.from_config(config), spec,
                    strategy=strategy)
  for i, variable in enumerate(agent.trainable_variables):
    variable.assign(inputs[f'weight_{i}'])

  whole = trajectory_spec(tf.TensorSpec([6], tf.float32), agent.state_spec(),
                          2, unroll_length, batch_size)
  leaves = [inputs[f'batch_{i}'] for i in range(len(tree.flatten(whole)))]
  batch = tree.unflatten_as(whole, leaves)

  distributed = distribute.distribute_batch(strategy, batch)
  for _ in range(2):  # Two updates: the optimiser state must agree too.
    stats = learner.train_step(distributed)
  np.savez(output_path,
           total_loss=float(stats['total_loss']),
           **{f'weight_{i}': v.numpy()
              for i, v in enumerate(agent.trainable_variables)})


if __name__ == '__main__':
  main(int(sys.argv[1]), [int(p) for p in sys.argv[2].split(',')],
       sys.argv[3], sys.argv[4])

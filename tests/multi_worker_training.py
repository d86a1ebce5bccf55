"""One host of a two-host training run under MultiWorkerMirroredStrategy.

  python tests/multi_worker_training.py TASK_INDEX PORT,PORT LOGDIR

Each host runs the ordinary training loop with its own actors and its own
trajectory stream; used by tests/test_runtime.py.
"""

import json
import os
import sys


def main(task_index, ports, logdir):
  os.environ['TF_CONFIG'] = json.dumps({
      'cluster': {'worker': [f'127.0.0.1:{port}' for port in ports]},
      'task': {'type': 'worker', 'index': task_index},
  })
  # pylint: disable=g-import-not-at-top
  from impala_tf import config as config_lib
  from impala_tf.runtime import training
  config = config_lib.load_config_file(os.path.join(
      os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
      'paper_configs', 'catch.py'))
  config.strategy = 'multi_worker_mirrored'
  config.total_environment_frames = 4_000
  config.num_actors = 1
  config.envs_per_actor = 4
  config.batch_size = 8  # 4 per host.
  config.log_interval_s = 1.0
  stats = training.train(config, logdir)
  print(json.dumps(dict(num_frames=stats['num_frames'],
                        num_updates=stats['num_updates'])))


if __name__ == '__main__':
  main(int(sys.argv[1]), [int(p) for p in sys.argv[2].split(',')],
       sys.argv[3])

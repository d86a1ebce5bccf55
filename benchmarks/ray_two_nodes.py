"""The learner's ingest rate from Ray actors spread over two Ray nodes.

Starts a Ray head and a second Ray node as separate processes on 127.0.0.1
(``ray.cluster_utils.Cluster``: each node its own raylet, object store and
logical CPUs), runs the Ray runtime across both with environments and a
network that cost nothing (`free_atari.py`, `free_network.py`: what is
measured is the transport into one learner process, not Atari or the
network), and prints one JSON object: the frames/s the learner took, the
bytes of trajectories it received per frame, how many nodes its actors ran
on, and how idle the learner was.

On one machine both nodes share its cores, so the rate says what the path
through two nodes' object stores costs, not what two machines would give;
`tests/test_ray_runtime.py` (slow) kills the second node mid-run.

  python benchmarks/ray_two_nodes.py [--seconds=30] [--warmup=30] \\
      [--cpus_per_node=2] [--config.num_actors=4 ...]

(--config, --seconds and --warmup as for throughput.py: Pong's shallow
expert config, 4 actors of 24 games, by default.)
"""

import functools
import json
import os
import platform
import sys

# Ray binds to 127.0.0.1 only.
os.environ.setdefault('RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER', '0')
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
# The nodes' worker processes must import this checkout.
os.environ['PYTHONPATH'] = os.pathsep.join(
    p for p in (REPO, os.environ.get('PYTHONPATH')) if p)
import impala_tf  # pylint: disable=g-import-not-at-top,unused-import

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
import ray
from ray import cluster_utils

from benchmarks import free_atari  # pylint: disable=g-import-not-at-top
from benchmarks import free_network
from benchmarks import throughput
from impala_tf.runtime import agents
from impala_tf.runtime import fleet
from impala_tf.runtime import ray as ray_runtime

# --config, --seconds and --warmup are throughput.py's.
_CPUS = flags.DEFINE_integer('cpus_per_node', 2, "Each node's logical CPUs; "
                             'with --config.ray_cpus_per_actor they decide '
                             'how many actors a node takes.')
_OUTPUT = flags.DEFINE_string('output', None, 'Also write the JSON here.')


def main(argv):
  del argv
  config = throughput._CONFIG.value  # pylint: disable=protected-access
  seconds = throughput._SECONDS.value  # pylint: disable=protected-access
  warmup = throughput._WARMUP.value  # pylint: disable=protected-access
  config.runtime = 'ray'
  config.ray_cpus_per_actor = _CPUS.value * 2 / config.num_actors
  cluster = cluster_utils.Cluster(
      initialize_head=True, head_node_args=dict(num_cpus=_CPUS.value))
  try:
    cluster.add_node(num_cpus=_CPUS.value)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, namespace=ray_runtime.NAMESPACE,
             log_to_driver=False)
    nodes = {n['NodeManagerAddress'] for n in ray.nodes() if n['Alive']}
    if nodes != {'127.0.0.1'}:
      raise RuntimeError(f'a node is not on 127.0.0.1: {sorted(nodes)}')
    make_groups = functools.partial(
        fleet.make_environment_groups,
        make_vector=free_atari.make_vector_fn(
            agents.environment_spec(config).num_actions))
    figures = throughput.system_rate(config, seconds, warmup, make_groups,
                                     free_network.make_free_agent)
  finally:
    ray.shutdown()
    cluster.shutdown()
  result = dict(
      benchmark='ray_two_nodes',
      machine=f'{platform.machine()}, {os.cpu_count()} cores',
      nodes=2, cpus_per_node=_CPUS.value, num_actors=config.num_actors,
      envs_per_actor=config.envs_per_actor,
      ray_cpus_per_actor=config.ray_cpus_per_actor,
      seconds=seconds, warmup=warmup,
      frames_per_second=round(figures['fps']),
      ray_bytes_per_frame=round(figures['ray_bytes_per_frame']),
      nodes_that_sent=figures['ray_nodes'],
      learner_idle=round(figures['learner_idle'], 3))
  text = json.dumps(result, indent=1)
  print(text)
  if _OUTPUT.value:
    with open(_OUTPUT.value, 'w') as f:
      f.write(text + '\n')


if __name__ == '__main__':
  app.run(main)

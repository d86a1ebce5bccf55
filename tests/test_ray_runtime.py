"""The Ray runtime on a real local Ray cluster of two nodes, loopback only."""

import os
import threading
import time

import numpy as np
import pytest
import ray
from ray import cluster_utils

from impala_tf import config as config_lib
from impala_tf.results import rundir
from impala_tf.runtime import ray as ray_runtime
from impala_tf.runtime import training
from tests.conftest import wait_for
from tests.test_learner import OnPolicyLoop, chain_learner

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope='module')
def two_node_cluster():
  """A head and a second node, each with 2 logical CPUs, on 127.0.0.1."""
  assert os.environ['RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER'] == '0'
  # Worker processes must import this checkout.
  os.environ['PYTHONPATH'] = os.pathsep.join(
      p for p in (REPO, os.environ.get('PYTHONPATH')) if p)
  cluster = cluster_utils.Cluster(
      initialize_head=True, head_node_args=dict(num_cpus=2))
  cluster.add_node(num_cpus=2)
  ray.init(address=cluster.address, namespace=ray_runtime.NAMESPACE,
           log_to_driver=False)
  cluster.wait_for_nodes()
  nodes = [n for n in ray.nodes() if n['Alive']]
  assert {n['NodeManagerAddress'] for n in nodes} == {'127.0.0.1'}
  assert len(nodes) == 2 and cluster.address.startswith('127.0.0.1:')
  yield cluster
  ray.shutdown()
  cluster.shutdown()


def ray_catch_config(**overrides):
  """Catch on the Ray runtime: 2 actors of 4 games, a log line a second."""
  config = config_lib.load_config_file(
      os.path.join(REPO, 'paper_configs', 'catch.py'))
  config.update(dict(runtime='ray', num_actors=2, envs_per_actor=4,
                     log_interval_s=1.0, **overrides))
  return config


def start_learner(config, logdir):
  """Trains in a thread until ``stop`` is set: (thread, stop, result), the
  result filled with the last statistics when it returns."""
  stop = threading.Event()
  result = {}
  thread = threading.Thread(
      target=lambda: result.update(training.train(config, logdir, stop)))
  thread.start()
  return thread, stop, result


def worker_names(prefix):
  """Names of the live workers that start with ``prefix``."""
  return [a['name'] for a in ray.util.list_named_actors(all_namespaces=True)
          if a['namespace'] == ray_runtime.NAMESPACE and
          a['name'].startswith(prefix)]


def last_record(logdir):
  path = os.path.join(logdir, rundir.METRICS_FILE)
  if not os.path.exists(path):
    return None
  records = rundir.read_metrics(logdir, 'train')
  return records[-1] if records else None


@pytest.mark.slow
def test_a_published_snapshot_holds_the_weights_of_its_version(
    two_node_cluster):
  del two_node_cluster  # Ray is up.
  agent, learner = chain_learner()
  loop = OnPolicyLoop(agent, num_envs=16, unroll_length=10, learner=learner)
  publisher = ray_runtime.ParameterPublisher(agent)
  publisher.publish(0)
  weights_at = {0: [v.numpy() for v in agent.variables]}
  done = threading.Event()

  def train():  # The learner's thread, as in `training.Trainer`.
    try:
      for _ in range(40):
        version = int(learner.train_step(loop.unroll())['num_updates'])
        weights_at[version] = [v.numpy() for v in agent.variables]
        publisher.after_update(version)
    finally:
      done.set()

  thread = threading.Thread(target=train)
  thread.start()
  snapshots = []
  while not done.is_set():  # A collector asking for parameters meanwhile.
    snapshots.append(ray.get(publisher.latest()))
    # A real collector asks between unrolls. Asking in a spin would hold the
    # GIL for a switch interval each time the learner's thread lets it go,
    # which made this test take 93 s in CI (17 s with the pause).
    time.sleep(0.002)
  thread.join()
  assert len({version for version, _ in snapshots}) >= 5
  for version, weights in snapshots:
    assert len(weights) == len(weights_at[version])
    for published, expected in zip(weights, weights_at[version]):
      np.testing.assert_array_equal(published, expected)


@pytest.mark.slow
def test_workers_on_both_nodes_feed_the_learner_and_survive_a_kill(
    two_node_cluster, tmp_path):
  config = ray_catch_config(batch_size=8, ray_cpus_per_actor=1.0)
  logdir = str(tmp_path)
  learner_thread, stop, result = start_learner(config, logdir)
  try:
    before = wait_for(
        lambda: (r := last_record(logdir)) and r['num_updates'] >= 20 and
        r['ray_nodes'] == 2 and r, 240, 'updates from workers on both nodes')
    # Kill one worker's process; Ray restarts it.
    [name] = worker_names('actor_0_')
    victim = ray.get_actor(name, namespace=ray_runtime.NAMESPACE)
    victim_pid = ray.get(victim.pid.remote())
    ray.kill(victim, no_restart=False)
    after = wait_for(
        lambda: (r := last_record(logdir)) and r['worker_failures'] >= 1 and
        r['num_updates'] >= before['num_updates'] + 50 and r, 240,
        'training to go on after the kill')
    # A new incarnation serves the same name (calls fail while it restarts).
    def new_pid():
      try:
        pid = ray.get(victim.pid.remote(), timeout=30)
      except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
        return None
      return pid if pid != victim_pid else None

    wait_for(new_pid, 120, 'the killed worker to come back')
  finally:
    stop.set()
    learner_thread.join(timeout=120)
  assert not learner_thread.is_alive()
  assert result['num_updates'] >= after['num_updates']
  # Workers load new parameters at every unroll: the lag stays bounded
  # (a worker that never refreshed would lag by the whole run).
  records = rundir.read_metrics(logdir, 'train')
  late = [r for r in records if r['num_updates'] >= 20]
  assert max(r['policy_lag'] for r in late) < 15
  assert after['ray_nodes'] == 2

  wait_for(lambda: not worker_names('actor_'), 30,
           'the learner to stop its workers')


@pytest.mark.slow
def test_a_killed_learner_leaves_no_ray_actors(two_node_cluster, tmp_path):
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  wait_for(lambda: not worker_names('actor_'), 30, 'no workers before')
  learner = subprocess.Popen(
      [sys.executable, '-m', 'impala_tf.train',
       '--config=paper_configs/catch.py', f'--logdir={tmp_path}',
       '--config.runtime=ray', f'--config.ray_address={two_node_cluster.address}',
       '--config.num_actors=2', '--config.envs_per_actor=4',
       '--config.ray_cpus_per_actor=1.0', '--config.log_interval_s=1'],
      cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  try:
    wait_for(lambda: last_record(str(tmp_path)), 240, 'the learner to train')
    assert len(worker_names('actor_')) == 2
  finally:
    learner.kill()  # No handler runs: Ray must end the workers it owned.
    learner.wait(timeout=60)
  wait_for(lambda: not worker_names('actor_'), 60,
           'Ray to end the dead learner\'s workers')


@pytest.mark.slow
def test_losing_a_node_leaves_the_learner_training_and_its_actors_come_back(
    two_node_cluster, tmp_path):
  """One actor per node (2 CPUs each, actors of 2): the second node's
  processes are killed mid-run, the learner trains on with the head's
  actor, and the lost actor comes back on the node started again."""
  wait_for(lambda: not worker_names('actor_'), 30, 'no workers before')
  config = ray_catch_config(batch_size=4,
                            ray_cpus_per_actor=2.0)  # A node each.
  logdir = str(tmp_path)
  learner_thread, stop, result = start_learner(config, logdir)
  [second] = [n for n in two_node_cluster.list_all_nodes()
              if n is not two_node_cluster.head_node]
  try:
    before = wait_for(
        lambda: (r := last_record(logdir)) and r['ray_nodes'] == 2 and
        r['num_updates'] >= 10 and r, 240, 'updates from both nodes')
    two_node_cluster.remove_node(second)  # Kills its raylet and workers.
    alone = wait_for(
        lambda: (r := last_record(logdir)) and r['worker_failures'] >= 1 and
        r['num_updates'] >= before['num_updates'] + 30 and r, 240,
        'training on the head alone')
    two_node_cluster.add_node(num_cpus=2)
    two_node_cluster.wait_for_nodes()
    # The lost actor restarts on the new node: a third node id reports.
    back = wait_for(
        lambda: (r := last_record(logdir)) and r['ray_nodes'] == 3 and
        r['num_updates'] >= alone['num_updates'] + 10 and r, 240,
        'the lost actor to come back on the new node')
  finally:
    stop.set()
    learner_thread.join(timeout=120)
  assert not learner_thread.is_alive()
  assert result['num_updates'] >= back['num_updates']
  wait_for(lambda: not worker_names('actor_'), 30,
           'the learner to stop its workers')

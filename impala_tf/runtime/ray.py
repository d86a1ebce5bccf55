"""Actors as Ray actors, on any node of a Ray cluster (the paper's
distributed setting, paper.md §1).

    ActorWorker (Ray actor, any node)            learner process
      EnvironmentGroup ⇄ Actor, own CPU network ─┐
      ActorWorker ...                            ├─▶ collector thread ─▶
                                                 │   TrajectoryQueue ─▶ tf.data ─▶ Learner
      unroll(parameters) ◀─ latest weights ──────┘

The learner process asks every worker for one unroll at a time, passing the
newest published parameters (an object in Ray's object store, shared by all
workers of a node); the worker loads them at the start of the unroll and
returns its trajectories and finished episodes. The learner's thread
publishes them (`ParameterPublisher`), after an update and before the next,
so that a snapshot holds the weights of exactly the version it is labelled
with. So each worker's policy is at
most one unroll old, as in the paper, and nothing piles up when the learner
is slow: a worker waits until its trajectories have been queued.

A worker that dies (its node lost, its process killed) is restarted by Ray
(``max_restarts=-1``); the collector counts the failure and asks the new
incarnation for the next unroll, while the learner keeps training on what
the other workers send. Closing the fleet kills the workers; so does the end
of the learner process, which owns them.
"""

import collections
import logging
import os
import threading
import time
import uuid
from typing import Dict, List, NamedTuple, Tuple

import ml_collections
import numpy as np
import ray
import tensorflow as tf
import tree

from impala_tf.agent import networks
from impala_tf.agent.learner import build_variables
from impala_tf.runtime import agents
from impala_tf.runtime import fleet
from impala_tf.runtime.pipeline import QueueClosedError
from impala_tf.types import Episode, Trajectory

NAMESPACE = 'impala_tf'
# How long the collector waits for a result before it looks at ``stop``.
_WAIT_S = 0.1
# How long it leaves a failed worker alone before asking it again, so that a
# worker that cannot start (a bad environment, say) is not asked in a loop.
_RETRY_AFTER_S = 5.0

# (learner version, the agent's variables as numpy arrays, in the order of
# ``agent.variables``).
Parameters = Tuple[int, List[np.ndarray]]


class UnrollResult(NamedTuple):
  """What one `ActorWorker.unroll` sends back."""
  # The unroll's trajectories, one block (leaves [T+1, n, ...]), or none
  # where the unroll failed.
  trajectories: List[Trajectory]
  episodes: List[Episode]
  # The worker's fault counters so far, named as in `LocalActors.metrics`:
  # actor_errors, dropped_steps, environment_errors, environment_restarts.
  counters: Dict[str, int]
  node_id: str  # The Ray node it ran on.


class ActorWorker:
  """One actor with its environments and its own copy of the network.

  Args:
    config: the run config, as a dict (`ConfigDict.to_dict()`).
    actor_index: which actor of the fleet; picks its levels and seeds.
    spec: the levels' `agents.EnvironmentSpec`.
    make_groups: the fleet's `fleet.GroupFactory`.
    make_agent: the fleet's `fleet.AgentFactory`.
  """

  def __init__(self, config: dict, actor_index: int,
               spec: agents.EnvironmentSpec, make_groups: fleet.GroupFactory,
               make_agent: fleet.AgentFactory):
    # Several workers share a node's cores: one thread each for inference.
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    config = ml_collections.ConfigDict(config)
    self._agent = make_agent(config, spec)
    build_variables(self._agent, agents.single_step_spec(self._agent, spec))
    self._version = tf.Variable(-1, dtype=tf.int64)
    self._trajectories, self._episodes = [], []
    setup = fleet.FleetSetup(config, self._agent, self._version, spec,
                             self._trajectories.append, self._episodes.append,
                             make_groups, make_agent=make_agent)
    [self._group] = make_groups(config, True, [actor_index])
    self._actor = fleet.make_actor(
        setup, self._group, agents.make_inference(self._agent, self._version))
    self._actor.start()
    self._never = threading.Event()

  def unroll(self, parameters: Parameters) -> UnrollResult:
    """Loads ``parameters`` if they are newer, then unrolls once."""
    version, weights = parameters
    if version != int(self._version.numpy()):
      for variable, value in zip(self._agent.variables, weights):
        variable.assign(value)
      self._version.assign(version)
    self._actor.try_unroll(self._never)
    result = UnrollResult(
        list(self._trajectories), list(self._episodes),
        dict(actor_errors=self._actor.num_errors,
             dropped_steps=self._actor.num_dropped_steps,
             environment_errors=self._group.num_env_errors,
             environment_restarts=self._group.num_restarts),
        ray.get_runtime_context().get_node_id())
    self._trajectories.clear()
    self._episodes.clear()
    return result

  def pid(self) -> int:
    return os.getpid()


class ParameterPublisher:
  """The agent's weights in Ray's object store, labelled with their version.

  `publish` and `after_update` run in the learner's thread, between updates,
  so a snapshot never mixes two updates. To spare a copy of every weight at
  every update, `after_update` publishes only when someone asked for
  parameters (`latest`) since the last snapshot; workers therefore get
  weights at most one update older than the learner's when they ask.
  """

  def __init__(self, agent: networks.ImpalaAgent):
    self._agent = agent
    self._lock = threading.Lock()
    self._wanted = threading.Event()
    self._latest: ray.ObjectRef = None

  def publish(self, version: int) -> None:
    weights = [v.numpy() for v in self._agent.variables]
    snapshot = ray.put((version, weights))
    with self._lock:
      self._latest = snapshot

  def after_update(self, version: int) -> None:
    if self._wanted.is_set():
      self._wanted.clear()
      self.publish(version)

  def latest(self) -> ray.ObjectRef:
    """The newest snapshot (a `Parameters` object ref); asks for a new one."""
    self._wanted.set()
    with self._lock:
      return self._latest


class RayActors:
  """The actor fleet on Ray, a `fleet.Fleet`: each actor a Ray actor with
  its own copy of ``setup.agent``'s network, loading the newest published
  weights before every unroll.

  Connects to ``config.ray_address`` (or starts Ray on this machine) unless
  this process is already connected.
  """

  def __init__(self, setup: fleet.FleetSetup):
    config = setup.config
    self._started_ray = not ray.is_initialized()
    if self._started_ray:
      ray.init(address=config.ray_address, namespace=NAMESPACE,
               log_to_driver=False)
    self._version = setup.version
    self._on_trajectory = setup.on_trajectory
    self._on_episode = setup.on_episode
    self._publisher = ParameterPublisher(setup.agent)
    worker_class = ray.remote(ActorWorker)
    # Named, so that operators (and tests) can find a worker; unique, so that
    # several runs (a sweep, a population) can share one cluster.
    run_token = uuid.uuid4().hex[:8]
    self.workers = [
        worker_class.options(
            name=f'actor_{i}_{run_token}', namespace=NAMESPACE,
            num_cpus=config.ray_cpus_per_actor,
            max_restarts=-1, max_task_retries=0,
            scheduling_strategy='SPREAD').remote(
                config.to_dict(), i, setup.spec, setup.make_groups,
                setup.make_agent)
        for i in range(config.num_actors)
    ]
    self._lock = threading.Lock()
    self._counters = [{} for _ in self.workers]  # The latest of each.
    self.worker_failures = 0
    self.nodes = set()
    # The trajectories' array bytes received, what a transfer carries
    # beyond Ray's framing.
    self.bytes_received = 0
    self._thread = None

  def start(self, stop: threading.Event) -> None:
    # Before the learner's first update, so no update can interleave.
    self._publisher.publish(int(self._version.numpy()))
    self._thread = threading.Thread(target=self._collect, args=(stop,),
                                    name='ray_collector', daemon=True)
    self._thread.start()

  def after_update(self, version: int) -> None:
    self._publisher.after_update(version)

  def _collect(self, stop: threading.Event) -> None:
    """Keeps one unroll in flight per worker and queues what comes back."""
    pending = {w.unroll.remote(self._publisher.latest()): i
               for i, w in enumerate(self.workers)}
    retry_at = {}  # Failed worker → when to ask it again.
    while not stop.is_set():
      now = time.monotonic()
      for index in [i for i, when in retry_at.items() if when <= now]:
        del retry_at[index]
        pending[self.workers[index].unroll.remote(self._publisher.latest())] = index
      if not pending:
        time.sleep(_WAIT_S)
        continue
      ready, _ = ray.wait(list(pending), num_returns=1, timeout=_WAIT_S)
      for ref in ready:
        index = pending.pop(ref)
        try:
          result = ray.get(ref)
        except (ray.exceptions.RayActorError,
                ray.exceptions.RayTaskError) as error:
          with self._lock:
            self.worker_failures += 1
          logging.warning('actor worker %d failed; Ray restarts it and '
                          'training goes on. %s', index, error)
          retry_at[index] = time.monotonic() + _RETRY_AFTER_S
          continue
        with self._lock:
          self._counters[index] = result.counters
          self.nodes.add(result.node_id)
          self.bytes_received += sum(
              x.nbytes for x in tree.flatten(result.trajectories)
              if isinstance(x, np.ndarray))
        for episode in result.episodes:
          self._on_episode(episode)
        try:
          for trajectory in result.trajectories:
            self._on_trajectory(trajectory)
        except QueueClosedError:
          return
        pending[self.workers[index].unroll.remote(self._publisher.latest())] = index

  def metrics(self) -> Dict[str, float]:
    with self._lock:
      totals = collections.Counter()
      for counters in self._counters:
        totals.update(counters)
      return dict(actor_errors=totals['actor_errors'],
                  dropped_steps=totals['dropped_steps'],
                  environment_errors=totals['environment_errors'],
                  environment_restarts=totals['environment_restarts'],
                  worker_failures=self.worker_failures,
                  ray_nodes=len(self.nodes),
                  ray_bytes_received=self.bytes_received)

  def close(self) -> None:
    """Call after ``stop`` is set and the trajectory queue closed."""
    if self._thread is not None:
      self._thread.join(timeout=30)
    for worker in self.workers:
      ray.kill(worker, no_restart=True)
    if self._started_ray:
      ray.shutdown()

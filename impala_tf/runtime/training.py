"""The learner process: the learner loop fed by a fleet of actors.

With ``config.runtime='local'`` (`LocalActors`) the actors are threads of this
process, each stepping a group of environments in a worker process:

    EnvironmentGroup (process) ⇄ Actor (thread) ─┐ policy calls
    EnvironmentGroup (process) ⇄ Actor (thread) ─┼──▶ DynamicBatcher ──▶ agent
    ...                                          │      (live learner variables)
                       trajectories ──▶ TrajectoryQueue ──▶ tf.data ──▶ Learner

These actors call the network that the learner trains, so an update can land
in the middle of an unroll, as in the original release. With
``config.runtime='ray'`` the actors are Ray actors with their own copy of the
network (`impala_tf.runtime.ray`). Either way every agent output carries the
learner version it was computed with, and the learner logs the lag.

`train` returns when the frame budget is spent or a stop is asked for
(SIGINT, SIGTERM, or the ``stop`` event); it checkpoints before it shuts down.
Running it again on the same ``logdir`` resumes from the last checkpoint.
"""

import collections
import logging
import math
import os
import signal
import sys
import threading
import time
from typing import Dict, List, Optional, Sequence

import gymnasium as gym
import ml_collections
import numpy as np
import tensorflow as tf
import tree

from impala_tf import config as config_lib
from impala_tf import data
from impala_tf import envs
from impala_tf import networks
from impala_tf import pbt
from impala_tf import rundir as rundir_lib
from impala_tf.actor import Actor
from impala_tf.batching import DynamicBatcher
from impala_tf.learner import Learner
from impala_tf.runtime.env_process import (Episode, EnvironmentGroup,
                                           make_env_fn)
from impala_tf.data import trajectory_spec


def _with_restored_hyperparameters(config: ml_collections.ConfigDict,
                                   learner: Learner) -> ml_collections.ConfigDict:
  """A copy of ``config`` with the evolvable hyperparameters the checkpoint
  holds; warns about each one the config asked to change.

  A resumed run continues with the checkpoint's learning rate, entropy cost,
  RMSProp ε and clipping norm (PBT changes them during a run), so a flag that
  sets one of them has no effect on resume. The copy goes to config.json, so
  that it records the values that are in use.
  """
  config = config.copy_and_resolve_references()
  for name in pbt.EVOLVABLE:
    if config[name] is None:  # e.g. max_grad_norm=None: no clipping.
      continue
    restored = learner.hyperparameters([name])[name]
    if not math.isclose(restored, config[name], rel_tol=1e-6):
      logging.warning(
          'config.%s=%r is ignored: the run resumes with the checkpoint\'s '
          '%r (start a new logdir to change it)', name, config[name], restored)
      config[name] = restored
  return config


def environment_specs(config: ml_collections.ConfigDict):
  """(observation spec, number of actions) of the configured levels.

  Builds each level once in this process. All levels must share one action
  set: a multi-task agent has one policy head (Atari's multi-task agent uses
  the full 18 actions for that reason, App. G).
  """
  observation_spec, num_actions = None, set()
  for level in config.levels:
    env = envs.make(config.env, level, **config_lib.env_options(config))
    num_actions.add(env.action_space.n)
    observation_spec = _space_spec(env.observation_space)
    env.close()
  if len(num_actions) > 1:
    raise ValueError(f'config.levels={list(config.levels)} have action sets '
                     f'of different sizes {sorted(num_actions)}; a multi-task '
                     'agent needs one action set (on Atari: '
                     'config.full_action_space=True)')
  return observation_spec, num_actions.pop()


def _space_spec(space: gym.Space):
  """`tf.TensorSpec` nest of one observation of a gymnasium space."""
  if isinstance(space, gym.spaces.Tuple):
    return tuple(_space_spec(s) for s in space.spaces)
  if isinstance(space, gym.spaces.Text):
    return tf.TensorSpec([], tf.string)
  return tf.TensorSpec(space.shape, tf.as_dtype(space.dtype))


def make_agent(config: ml_collections.ConfigDict,
               num_actions: int) -> networks.ImpalaAgent:
  return networks.ImpalaAgent(
      num_actions,
      torso=config.torso,
      use_lstm=config.use_lstm,
      use_instruction=config.use_instruction,
      last_action_input=config.last_action_input)


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


def level_of_environment(config: ml_collections.ConfigDict, index: int) -> str:
  """Round robin over levels by global environment index (facts §8.2)."""
  return config.levels[index % len(config.levels)]


def make_environment_groups(
    config: ml_collections.ConfigDict,
    training: bool = True,
    actor_indices: Optional[Sequence[int]] = None) -> List[EnvironmentGroup]:
  """One group per actor (``actor_indices``, default all of them), with the
  levels and seeds of its place in the fleet."""
  if actor_indices is None:
    actor_indices = range(config.num_actors)
  groups = []
  for actor_index in actor_indices:
    indices = range(actor_index * config.envs_per_actor,
                    (actor_index + 1) * config.envs_per_actor)
    levels = [level_of_environment(config, i) for i in indices]
    groups.append(EnvironmentGroup(
        [make_env_fn(config.env, level, training,
                     **config_lib.env_options(config)) for level in levels],
        levels,
        seed=config.seed * 1_000_000 + actor_index * 10_000))
  return groups


class LocalActors:
  """Actor threads in this process, each driving one `EnvironmentGroup`,
  their policy calls batched by a `DynamicBatcher` (if configured)."""

  def __init__(self, config: ml_collections.ConfigDict,
               agent: networks.ImpalaAgent, learner: Learner,
               progress: '_Progress', num_actions: int):
    policy = make_inference(agent, learner.num_updates)
    self._batcher = None
    if config.dynamic_batching:
      self._batcher = DynamicBatcher(policy, config.max_inference_batch_size,
                                     config.inference_timeout_ms / 1000.0)
      policy = self._batcher
    self._groups = make_environment_groups(config)
    self._actors = [
        Actor(group, policy, agent.initial_state, num_actions,
              config.unroll_length, progress.on_trajectory,
              progress.on_episode) for group in self._groups
    ]
    self._threads = []

  def start(self, stop: threading.Event) -> None:
    self._threads = [
        threading.Thread(target=actor.run, args=(stop,), name=f'actor_{i}',
                         daemon=True) for i, actor in enumerate(self._actors)
    ]
    for thread in self._threads:
      thread.start()

  def metrics(self) -> Dict[str, float]:
    return dict(
        inference_batch_size=(self._batcher.mean_batch_size()
                              if self._batcher else 0.0),
        actor_errors=sum(actor.num_errors for actor in self._actors),
        environment_restarts=sum(group.num_restarts for group in self._groups))

  def close(self) -> None:
    """Call after ``stop`` is set and the trajectory queue closed."""
    if self._batcher is not None:
      self._batcher.close()
    for thread in self._threads:
      thread.join(timeout=30)
    for group in self._groups:
      group.close()


def make_actors(config, agent, learner, progress, observation_spec,
                num_actions):
  """The actor fleet ``config.runtime`` asks for."""
  if config.runtime == 'ray':
    from impala_tf.runtime import ray as ray_runtime  # pylint: disable=g-import-not-at-top
    return ray_runtime.RayActors(config, agent, learner, progress,
                                 observation_spec, num_actions)
  return LocalActors(config, agent, learner, progress, num_actions)


def make_inference(agent: networks.ImpalaAgent, version: tf.Variable):
  """The policy's network call: a batch of single steps → numpy outputs."""

  @tf.function(reduce_retracing=True)
  def inference(prev_action, env_output, state):
    agent_output, new_state = agent(prev_action, env_output, state)
    versions = tf.fill(tf.shape(prev_action), version.read_value())
    return agent_output, new_state, versions

  def policy(prev_action, env_output, state):
    # The agent does not read the episode statistics; leave them behind.
    outputs = inference(prev_action, env_output._replace(info=()), state)
    return tree.map_structure(np.asarray, outputs)

  return policy


class _Progress:
  """Collects episode results from actor threads for the periodic log line."""

  def __init__(self, run: rundir_lib.RunDirectory, learner: Learner,
               trajectory_queue: data.TrajectoryQueue, frames_per_step: int,
               hook=None):
    self._hook = hook
    self._run = run
    self._learner = learner
    self._queue = trajectory_queue
    self._frames_per_step = frames_per_step
    self._lock = threading.Lock()
    self._recent: Dict[str, List[float]] = collections.defaultdict(list)
    self._frames_by_level = collections.Counter()
    self.num_episodes = 0

  def on_trajectory(self, trajectory) -> None:
    """Counts the frames each level produced, then queues the trajectory."""
    steps = len(trajectory.policy_version) - 1
    with self._lock:
      self._frames_by_level[trajectory.level_name] += (
          steps * self._frames_per_step)
    self._queue.put(trajectory)

  def frame_shares(self) -> Dict[str, float]:
    """Each level's share of the frames the actors produced so far. Slow
    levels (language, large maps) get fewer frames than the round robin
    suggests, which matters when comparing per-level scores."""
    with self._lock:
      total = sum(self._frames_by_level.values())
      return {level: frames / total
              for level, frames in self._frames_by_level.items()}

  def on_episode(self, episode: Episode) -> None:
    self._run.log('episode', dict(
        frames=int(self._learner.num_frames.numpy()),
        level=episode.level_name,
        episode_return=episode.episode_return,
        episode_length=episode.episode_length))
    with self._lock:
      self._recent[episode.level_name].append(episode.episode_return)
      self.num_episodes += 1
      if self._hook is not None:
        self._hook.on_episode(episode.level_name, episode.episode_return)

  def take_recent_returns(self) -> Dict[str, float]:
    """Mean return per level since the last call."""
    with self._lock:
      recent = {level: float(np.mean(returns))
                for level, returns in self._recent.items() if returns}
      self._recent.clear()
    return recent


class _StopOnSignals:
  """Sets ``stop`` on SIGINT/SIGTERM while active (main thread only)."""

  def __init__(self, stop: threading.Event):
    self._stop = stop
    self._previous = {}

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      for sig in (signal.SIGINT, signal.SIGTERM):
        self._previous[sig] = signal.signal(sig, self._handle)
    return self

  def _handle(self, signum, frame):
    del frame
    logging.warning('signal %d: checkpointing and stopping', signum)
    self._stop.set()

  def __exit__(self, *exc):
    for sig, handler in self._previous.items():
      signal.signal(sig, handler)


def train(config: ml_collections.ConfigDict,
          logdir: str,
          stop: Optional[threading.Event] = None,
          hook=None) -> Dict[str, float]:
  """Trains until ``config.total_environment_frames`` or a stop.

  Args:
    config: a full run config (`config.base_config` and a paper config).
    logdir: the run directory; resumes from its checkpoints if there are any.
    stop: set it (from any thread) to checkpoint and stop early.
    hook: optional, e.g. `pbt.MemberHook`: ``hook.on_episode(level,
      episode_return)`` for every finished episode and
      ``hook.on_log(learner)`` (→ a dict to add to the log record) at every
      log interval, in the learner's thread.

  Returns:
    The last training statistics, with ``num_frames`` and ``num_updates``.
  """
  config_lib.validate_config(config)
  strategy = make_strategy(config)
  replica_batch_size = config.batch_size // strategy.num_replicas_in_sync
  if replica_batch_size * strategy.num_replicas_in_sync != config.batch_size:
    raise ValueError(f'config.batch_size={config.batch_size} must divide by '
                     f'the {strategy.num_replicas_in_sync} replicas')
  observation_spec, num_actions = environment_specs(config)
  stop = stop or threading.Event()
  tf.random.set_seed(config.seed)

  logdir = host_logdir(strategy, logdir)
  run = rundir_lib.RunDirectory(logdir)
  agent = make_agent(config, num_actions)
  learner = Learner(
      agent, config,
      trajectory_spec(observation_spec, agent.state_spec(), num_actions,
                      config.unroll_length, replica_batch_size),
      strategy=strategy)
  checkpoints = tf.train.CheckpointManager(
      learner.checkpoint, run.checkpoint_dir, max_to_keep=3)
  if checkpoints.latest_checkpoint:
    learner.checkpoint.restore(
        checkpoints.latest_checkpoint).assert_existing_objects_matched()
    logging.info('resumed from %s at %d frames', checkpoints.latest_checkpoint,
                 int(learner.num_frames.numpy()))
    config = _with_restored_hyperparameters(config, learner)
  run.write_config(config)
  # What a curve exported from this run cites (python -m impala_tf.curves).
  run.log('start', dict(frames=int(learner.num_frames.numpy()),
                        command=rundir_lib.command_line(),
                        commit=rundir_lib.source_commit()))

  trajectory_queue = data.TrajectoryQueue(config.queue_capacity)
  # One stream of replica-sized batches per replica, all from the one queue:
  # a time-major global batch cannot be split by a strategy's batch split.
  # One replay buffer for all replicas (they take turns with the queue).
  replay = (data.ReplayBuffer(config.replay_capacity, config.seed)
            if config.replay_fraction > 0 else None)
  make_replica_dataset = lambda unused_input_context: data.make_dataset(
      trajectory_queue,
      trajectory_spec(observation_spec, agent.state_spec(), num_actions,
                      config.unroll_length, replica_batch_size),
      replay, config.replay_fraction)
  if strategy.num_replicas_in_sync > 1:
    dataset = strategy.distribute_datasets_from_function(make_replica_dataset)
  else:
    dataset = make_replica_dataset(None)

  progress = _Progress(run, learner, trajectory_queue,
                       config.num_action_repeats, hook)
  actors = make_actors(config, agent, learner, progress, observation_spec,
                       num_actions)
  # A stop must also wake a learner that waits for data.
  closer = threading.Thread(
      target=lambda: (stop.wait(), trajectory_queue.close()), daemon=True)

  stats = {}
  with _StopOnSignals(stop):
    try:
      closer.start()
      actors.start(stop)
      stats = _learner_loop(config, learner, iter(dataset), stop, run,
                            checkpoints, progress, trajectory_queue, actors,
                            hook)
    finally:
      checkpoints.save(checkpoint_number=int(learner.num_updates.numpy()))
      stop.set()
      trajectory_queue.close()
      actors.close()
      run.close()
  return stats


def _learner_loop(config, learner, batches, stop, run, checkpoints, progress,
                  trajectory_queue, actors, hook):
  """Train steps until the budget is spent or ``stop``; logs and checkpoints."""
  stats = {}
  last_log = last_checkpoint = time.monotonic()
  last_log_frames = int(learner.num_frames.numpy())
  waiting = busy = 0.0
  budget = config.total_environment_frames
  if config.stop_at_frames is not None:
    budget = min(budget, config.stop_at_frames)
  while not stop.is_set():
    if learner.num_frames.numpy() >= budget:
      break
    start = time.monotonic()
    try:
      batch = next(batches)
    except (StopIteration, tf.errors.OutOfRangeError):
      break  # The queue was closed by a stop.
    got_batch = time.monotonic()
    stats = {k: v.numpy().item() for k, v in learner.train_step(batch).items()}
    now = time.monotonic()
    waiting += got_batch - start
    busy += now - got_batch

    if now - last_log >= config.log_interval_s:
      frames = stats['num_frames']
      record = dict(
          frames=frames,
          fps=(frames - last_log_frames) / (now - last_log),
          learner_idle_fraction=waiting / max(waiting + busy, 1e-9),
          queue_fill=trajectory_queue.size() / trajectory_queue.capacity,
          episodes=progress.num_episodes,
          **actors.metrics(),
          **{k: v for k, v in stats.items() if k != 'num_frames'})
      returns = progress.take_recent_returns()
      record.update({f'episode_return/{level}': value
                     for level, value in returns.items()})
      if len(config.levels) > 1:
        record.update({f'frame_share/{level}': share
                       for level, share in progress.frame_shares().items()})
      if hook is not None:
        record.update(hook.on_log(learner))
      run.log('train', record)
      _print_progress(record, returns)
      last_log, last_log_frames = now, frames
      waiting = busy = 0.0
    if now - last_checkpoint >= config.checkpoint_interval_s:
      checkpoints.save(checkpoint_number=stats['num_updates'])
      last_checkpoint = now
  return stats


def _print_progress(record, returns):
  returns_text = '  '.join(f'{level} {value:+.2f}'
                           for level, value in sorted(returns.items()))
  print(f'[{record["frames"] / 1e6:8.3f}M frames] {record["fps"]:7.0f} fps  '
        f'loss {record["total_loss"]:9.3f}  entropy {record["entropy"]:.3f}  '
        f'lag {record["policy_lag"]:.1f}  return {returns_text or "-"}',
        file=sys.stderr, flush=True)

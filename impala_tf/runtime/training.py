"""The learner process: a `Trainer` runs the learner loop fed by a fleet.

    fleet (config.runtime: `local.LocalActors` or `ray.RayActors`)
      └─ on_trajectory ─▶ FrameCounter ─▶ TrajectoryQueue ─▶ tf.data ─▶ Learner
      └─ on_episode ────▶ EpisodeLog (metrics.jsonl, the periodic log line)

Every agent output carries the learner version it was computed with, and
the learner logs the lag. After each update the loop calls the fleet's
``after_update(version)`` (the Ray fleet publishes weights there).

`train` returns when the frame budget is spent or a stop is asked for
(SIGINT, SIGTERM, or the ``stop`` event); it checkpoints before it shuts down.
Running it again on the same ``logdir`` resumes from the last checkpoint.
"""

import logging
import math
import signal
import threading
import time
from typing import Dict, Optional

import ml_collections
import tensorflow as tf

from impala_tf import config as config_lib
from impala_tf.agent.hyperparameters import EVOLVABLE, LearnerHyperparameters
from impala_tf.agent.learner import Learner
from impala_tf.results import rundir as rundir_lib
from impala_tf.runtime import agents
from impala_tf.runtime import fleet as fleet_lib
from impala_tf.runtime import local
from impala_tf.runtime import pipeline
from impala_tf.runtime.checkpoints import RunCheckpoints
from impala_tf.runtime.loop_records import (EpisodeLog, FrameCounter,
                                            LoopTimer, print_progress)
from impala_tf.runtime.placement import host_logdir, make_strategy
from impala_tf.runtime.run_writer import RunWriter


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
  for name in EVOLVABLE:
    if config[name] is None:  # e.g. max_grad_norm=None: no clipping.
      continue
    restored = learner.hyperparameters([name])[name]
    if not math.isclose(restored, config[name], rel_tol=1e-6):
      logging.warning(
          'config.%s=%r is ignored: the run resumes with the checkpoint\'s '
          '%r (start a new logdir to change it)', name, config[name], restored)
      config[name] = restored
  return config


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


def make_fleet(setup: fleet_lib.FleetSetup) -> fleet_lib.Fleet:
  """The fleet ``setup.config.runtime`` asks for."""
  if setup.config.runtime == 'ray':
    # Imported here: Ray starts nothing at import, but takes a second and
    # much memory to import, which runs on the local fleet need not pay.
    from impala_tf.runtime import ray  # pylint: disable=g-import-not-at-top
    return ray.RayActors(setup)
  return local.LocalActors(setup)


class Trainer:
  """One training run: the learner, its run directory and checkpoints, the
  trajectory queue and pipeline, and the fleet that feeds them.

  Args:
    config: a full run config (`config.base_config` and a paper config).
    logdir: the run directory; resumes from its checkpoints if there are any.
    stop: set it (from any thread) to checkpoint and stop early.
    hook: optional, e.g. `population.members.MemberHook`:
      ``hook.on_episode(level, episode_return)`` for every finished episode
      and ``hook.on_log(learner)`` (→ a dict to add to the log record) at every
      log interval, in the learner's thread.
    make_groups: the fleet's environment groups (`fleet.FleetSetup`);
      benchmarks and fault tests hand in their own.
    make_agent: builds the agent from the config and the environments'
      spec (`fleet.AgentFactory`); benchmarks hand in a stand-in.

  Raises:
    ValueError: naming the first bad field of ``config``, before anything
      starts (the config is checked here and at the command lines only).
  """

  def __init__(self, config: ml_collections.ConfigDict, logdir: str,
               stop: Optional[threading.Event] = None, hook=None,
               make_groups: fleet_lib.GroupFactory = (
                   fleet_lib.make_environment_groups),
               make_agent: fleet_lib.AgentFactory = agents.make_agent):
    config_lib.validate_config(config)
    self._make_groups = make_groups
    self._make_agent = make_agent
    self._strategy = make_strategy(config)
    replicas = self._strategy.num_replicas_in_sync
    if config.batch_size % replicas:
      raise ValueError(f'config.batch_size={config.batch_size} must divide by '
                       f'the {replicas} replicas')
    self._spec = agents.environment_spec(config)
    self._stop = stop or threading.Event()
    self._hook = hook
    tf.random.set_seed(config.seed)

    self.run_writer = RunWriter(host_logdir(self._strategy, logdir))
    self.agent = make_agent(config, self._spec)
    # One replica's batch: a time-major global batch cannot be split by a
    # strategy's batch split, so each replica reads its own from the queue.
    self._batch_spec = pipeline.trajectory_spec(
        self._spec.observation, self.agent.state_spec(),
        self._spec.num_actions, config.unroll_length,
        config.batch_size // replicas)
    self.learner = Learner(self.agent,
                           LearnerHyperparameters.from_config(config),
                           self._batch_spec, strategy=self._strategy)
    self._checkpoints = RunCheckpoints(self.run_writer.logdir,
                                       self.learner.checkpoint)
    self.config = self._restore(config.copy_and_resolve_references())
    # config.json records the torso in use, also when 'auto' chose it.
    self.config.torso = agents.torso_for(self.config, self._spec)
    self.run_writer.write_config(self.config)
    # What a curve exported from this run cites (python -m impala_tf.curves).
    self.run_writer.log('start', dict(
        frames=int(self.learner.num_frames.numpy()),
        command=rundir_lib.command_line(), commit=rundir_lib.source_commit()))

    self.queue = pipeline.TrajectoryQueue(config.queue_capacity)
    self._frame_counter = FrameCounter(self.queue.put,
                                       config.num_action_repeats)
    self._episodes = EpisodeLog(self.run_writer, self.learner.num_frames, hook)

  def _restore(self, config):
    """Resumes from the newest readable checkpoint, if any
    (`RunCheckpoints.restore_newest_readable`); the config in use."""
    def restore(path):
      self.learner.checkpoint.restore(path).assert_existing_objects_matched()
    restored = self._checkpoints.restore_newest_readable(restore)
    if restored is None:
      return config
    logging.info('resumed from %s at %d frames', restored[0],
                 int(self.learner.num_frames.numpy()))
    return _with_restored_hyperparameters(config, self.learner)

  def save_checkpoint(self) -> str:
    """Writes a checkpoint named after the update count; returns its path."""
    return self._checkpoints.save(int(self.learner.num_updates.numpy()))

  def _dataset(self):
    """Batches from the queue: one stream per replica, one replay buffer for
    all of them (they take turns with the queue)."""
    config = self.config
    replay = (pipeline.ReplayBuffer(config.replay_capacity, config.seed)
              if config.replay_fraction > 0 else None)
    make_replica_dataset = lambda unused_input_context: pipeline.make_dataset(
        self.queue, self._batch_spec, replay, config.replay_fraction)
    if self._strategy.num_replicas_in_sync > 1:
      return self._strategy.distribute_datasets_from_function(
          make_replica_dataset)
    return make_replica_dataset(None)

  def run(self) -> Dict[str, float]:
    """Trains until the budget is spent or a stop; always checkpoints.

    Returns:
      The last training statistics, with ``num_frames`` and ``num_updates``.
    """
    fleet = make_fleet(fleet_lib.FleetSetup(
        self.config, self.agent, self.learner.num_updates, self._spec,
        self._frame_counter, self._episodes, self._make_groups,
        make_agent=self._make_agent))
    # A stop must also wake a learner that waits for data.
    closer = threading.Thread(
        target=lambda: (self._stop.wait(), self.queue.close()), daemon=True)
    stats = {}
    with _StopOnSignals(self._stop):
      try:
        closer.start()
        fleet.start(self._stop)
        stats = self._loop(iter(self._dataset()), fleet)
      finally:
        self.save_checkpoint()
        self._stop.set()
        self.queue.close()
        fleet.close()
        self.run_writer.close()
    return stats

  def _budget(self) -> int:
    if self.config.stop_at_frames is None:
      return self.config.total_environment_frames
    return min(self.config.total_environment_frames,
               self.config.stop_at_frames)

  def _loop(self, batches, fleet: fleet_lib.Fleet) -> Dict[str, float]:
    """Train steps until the budget is spent or a stop; logs and checkpoints."""
    stats = {}
    timer = LoopTimer(int(self.learner.num_frames.numpy()))
    last_checkpoint = time.monotonic()
    budget = self._budget()
    while not self._stop.is_set() and self.learner.num_frames.numpy() < budget:
      start = time.monotonic()
      try:
        batch = next(batches)
      except (StopIteration, tf.errors.OutOfRangeError):
        break  # The queue was closed by a stop.
      got_batch = time.monotonic()
      stats = {k: v.numpy().item()
               for k, v in self.learner.train_step(batch).items()}
      now = time.monotonic()
      timer.add(got_batch - start, now - got_batch)
      fleet.after_update(stats['num_updates'])
      if timer.seconds_since_log(now) >= self.config.log_interval_s:
        self._log(stats, timer.take(now, stats['num_frames']), fleet)
      if now - last_checkpoint >= self.config.checkpoint_interval_s:
        self.save_checkpoint()
        last_checkpoint = now
    return stats

  def _log(self, stats, rates: Dict[str, float], fleet) -> None:
    """One 'train' record and the progress line."""
    record = dict(
        frames=stats['num_frames'],
        **rates,
        queue_fill=self.queue.size() / self.queue.capacity,
        episodes=self._episodes.num_episodes,
        **fleet.metrics(),
        **{k: v for k, v in stats.items() if k != 'num_frames'})
    returns = self._episodes.take_recent_returns()
    record.update({f'episode_return/{level}': value
                   for level, value in returns.items()})
    if len(self.config.levels) > 1:
      record.update({f'frame_share/{level}': share
                     for level, share in self._frame_counter.shares().items()})
    if self._hook is not None:
      record.update(self._hook.on_log(self.learner))
    self.run_writer.log('train', record)
    print_progress(record, returns)


def train(config: ml_collections.ConfigDict,
          logdir: str,
          stop: Optional[threading.Event] = None,
          hook=None,
          make_groups: fleet_lib.GroupFactory = (
              fleet_lib.make_environment_groups),
          make_agent: fleet_lib.AgentFactory = agents.make_agent
          ) -> Dict[str, float]:
  """Trains until ``config.total_environment_frames`` (or
  ``config.stop_at_frames``) or a stop; see `Trainer` for the arguments.

  Returns:
    The last training statistics, with ``num_frames`` and ``num_updates``.
  """
  return Trainer(config, logdir, stop, hook, make_groups, make_agent).run()

"""The one owner of a run's checkpoints: where they live, how they are
written, which one is the newest that can be read, and restoring it.

Training (`training.Trainer`), evaluation (`impala_tf.evaluate`) and
anything else that loads a run's weights go through `RunCheckpoints`, so
that all of them fall back the same way: a checkpoint that cannot be read
(files cut short or corrupted by a kill or a full disk) is skipped, with a
warning naming it, for the one before it. TensorFlow writes a checkpoint's
files before it names it in the index, so a kill while writing leaves the
previous one named; a damaged file needs this fallback.
"""

import functools
import logging
import os
from typing import Callable, List, NamedTuple, Optional, Tuple, TypeVar

import ml_collections
import tensorflow as tf

from impala_tf import cli
from impala_tf.agent import networks
from impala_tf.agent.learner import restore_policy
from impala_tf.results import rundir
from impala_tf.runtime import agents

# How many checkpoints a run keeps.
MAX_TO_KEEP = 3

Restored = TypeVar('Restored')


class RunCheckpoints:
  """The checkpoints of the run directory ``logdir``.

  Args:
    logdir: the run directory (a host's own, under several hosts).
    checkpoint: the `tf.train.Checkpoint` that `save` writes (the learner's,
      `Learner.checkpoint`); None for a reader that only restores.
  """

  def __init__(self, logdir: str,
               checkpoint: Optional[tf.train.Checkpoint] = None):
    self.directory = os.path.join(logdir, rundir.CHECKPOINT_DIR)
    self._manager = (
        tf.train.CheckpointManager(checkpoint, self.directory,
                                   max_to_keep=MAX_TO_KEEP)
        if checkpoint is not None else None)

  def kept(self) -> List[str]:
    """The paths of the kept checkpoints, newest first."""
    state = tf.train.get_checkpoint_state(self.directory)
    if state is None:
      return []
    return list(reversed(state.all_model_checkpoint_paths))

  def save(self, number: int) -> str:
    """Writes a checkpoint named after ``number`` (the update count);
    returns its path."""
    return self._manager.save(checkpoint_number=number)

  def restore_newest_readable(
      self, restore: Callable[[str], Restored]
  ) -> Optional[Tuple[str, Restored]]:
    """Calls ``restore(path)`` on the newest kept checkpoint, then on the one
    before it while it raises.

    Returns:
      ``(path, what restore returned)``, or None when there is no checkpoint.

    Raises:
      ValueError: none of the kept checkpoints could be restored; it names
        them and the newest one's error, rather than let a run start again
        from scratch over them.
    """
    kept = self.kept()
    errors = []
    for path in kept:
      try:
        restored = restore(path)
      # What a damaged file raises varies (DataLossError, IndexError from a
      # short read, a mismatch); any of them means this one is unreadable.
      except Exception as error:  # pylint: disable=broad-except
        logging.warning('checkpoint %s cannot be read (%s); trying the one '
                        'before it', path, cli.one_line(error))
        errors.append(cli.one_line(error))
        continue
      if path != kept[0]:
        logging.warning('restored %s, not the newest checkpoint %s '
                        '(unreadable)', path, kept[0])
      return path, restored
    if not kept:
      return None
    raise ValueError(f'none of the checkpoints in {self.directory} can be '
                     f'read ({", ".join(os.path.basename(p) for p in kept)}; '
                     f'the newest: {errors[0]}); move them away to start '
                     'the run again')


class RestoredPolicy(NamedTuple):
  """A run's agent with the weights of its newest readable checkpoint."""
  agent: networks.ImpalaAgent
  spec: agents.EnvironmentSpec
  checkpoint: str  # The checkpoint's path.
  version: tf.Variable  # Its update count, int64.
  frames: int  # The environment frames it was trained on.


def restore_run_policy(logdir: str,
                       config: ml_collections.ConfigDict) -> RestoredPolicy:
  """The agent of ``config`` (the run's) restored from the newest readable
  checkpoint of ``logdir``, for evaluation and export; FileNotFoundError
  naming the directory where there is none."""
  spec = agents.environment_spec(config)
  agent = agents.make_agent(config, spec)
  checkpoints = RunCheckpoints(logdir)
  restored = checkpoints.restore_newest_readable(functools.partial(
      restore_policy, agent, agents.single_step_spec(agent, spec)))
  if restored is None:
    raise FileNotFoundError(f'no checkpoint in {checkpoints.directory}')
  path, version = restored
  frames = tf.train.load_variable(path, 'num_frames/.ATTRIBUTES/VARIABLE_VALUE')
  return RestoredPolicy(agent, spec, path, version, int(frames))

"""A trained policy as a TensorFlow SavedModel that loads without this
package (issue 38).

`export_policy(logdir, output)` restores the newest readable checkpoint of a
run into the run's agent (`checkpoints.restore_run_policy`, which falls back
as training and evaluation do) and saves an `ExportedPolicy`:

    policy = tf.saved_model.load(DIR)
    state = policy.initial_state(n)        # tuple of [n, ...]; () if none
    outputs, state = policy.step(inputs, state)

``inputs`` is a dict of batched tensors ``observation`` ``[n, ...]`` (uint8
frames for Atari), ``reward`` float32 ``[n]``, ``done`` bool ``[n]`` (set on
an episode's first step: the recurrent state is reset there, as in
training) and ``prev_action`` int32 ``[n]`` (and ``instruction`` string
``[n]`` for DeepMind Lab); ``outputs`` a dict of ``action`` (sampled from
the policy, as the paper evaluates), ``policy_logits`` ``[n, A]`` and
``baseline`` ``[n]``. The run's config (``policy.config_json``, JSON) and the
names of the actions (``policy.action_set``) are string variables of the
SavedModel, so that a user can build the matching environment.

The SavedModel is written beside ``output`` under a temporary name and
renamed when complete: a failed export leaves nothing at ``output``.
"""

import os
import shutil
import tempfile
from typing import List

import ml_collections
import tensorflow as tf
import tree

from impala_tf import config as config_lib
from impala_tf import envs
from impala_tf.results import rundir
from impala_tf.runtime import agents
from impala_tf.runtime import checkpoints
from impala_tf.types import StepOutput


class ExportedPolicy(tf.Module):
  """The policy half of an agent, with batch-size-free signatures.

  Args:
    agent: the restored `networks.ImpalaAgent`.
    spec: its `agents.EnvironmentSpec`.
    config_json: the run's config as JSON.
    action_set: the name of each action, in the agent's order.
  """

  def __init__(self, agent, spec: agents.EnvironmentSpec, config_json: str,
               action_set: List[str]):
    super().__init__(name='impala_policy')
    self._agent = agent
    self._state_structure = agent.state_spec()
    self.config_json = tf.Variable(config_json, trainable=False,
                                   name='config_json')
    self.action_set = tf.Variable(action_set, trainable=False,
                                  name='action_set')
    batched = lambda s: tf.TensorSpec([None, *s.shape], s.dtype)
    inputs = dict(reward=tf.TensorSpec([None], tf.float32),
                  done=tf.TensorSpec([None], tf.bool),
                  prev_action=tf.TensorSpec([None], tf.int32))
    if isinstance(spec.observation, tuple):  # DMLab: frame, instruction.
      frame, instruction = spec.observation
      inputs.update(observation=batched(frame),
                    instruction=batched(instruction))
    else:
      inputs['observation'] = batched(spec.observation)
    state = tuple(batched(s) for s in tree.flatten(self._state_structure))
    self.initial_state = tf.function(
        self._initial_state, input_signature=[tf.TensorSpec([], tf.int32)])
    self.step = tf.function(self._step, input_signature=[inputs, state])

  def _initial_state(self, batch_size):
    return tuple(tree.flatten(self._agent.initial_state(batch_size)))

  def _step(self, inputs, state):
    observation = inputs['observation']
    if 'instruction' in inputs:
      observation = (observation, inputs['instruction'])
    env_output = StepOutput(reward=inputs['reward'], info=(),
                            done=inputs['done'], observation=observation)
    output, new_state = self._agent(
        inputs['prev_action'], env_output,
        tree.unflatten_as(self._state_structure, list(state)))
    return (dict(action=output.action, policy_logits=output.policy_logits,
                 baseline=output.baseline),
            tuple(tree.flatten(new_state)))


def action_names(config: ml_collections.ConfigDict, num_actions: int):
  """The names of the actions of the config's first level where the
  environment has them (Atari's ``get_action_meanings``), else their
  indices as text."""
  env = envs.make(config.env, config.levels[0],
                  **config_lib.env_options(config))
  try:
    meanings = getattr(env.unwrapped, 'get_action_meanings', None)
    names = list(meanings()) if meanings else []
  finally:
    env.close()
  if len(names) != num_actions:
    names = [str(i) for i in range(num_actions)]
  return names


def check_export(logdir: str, output: str) -> None:
  """Raises, naming it, what would stop an export, before any work."""
  if os.path.lexists(output):
    raise FileExistsError(f'--output={output} exists; give a new path')
  if not os.path.isdir(logdir):
    raise FileNotFoundError(f'--logdir={logdir} is not a directory')
  if not os.access(logdir, os.R_OK | os.X_OK):
    raise PermissionError(f'--logdir={logdir} cannot be read')
  parent = os.path.dirname(os.path.abspath(output))
  if not os.path.isdir(parent):
    raise FileNotFoundError(f'--output={output}: no directory {parent}')


def export_policy(logdir: str, output: str) -> str:
  """Writes the SavedModel of the newest readable checkpoint of ``logdir``
  to ``output`` (see the module docstring); returns the checkpoint's path."""
  check_export(logdir, output)
  config = rundir.read_config(logdir)
  restored = checkpoints.restore_run_policy(logdir, config)
  policy = ExportedPolicy(restored.agent, restored.spec,
                          config.to_json_best_effort(),
                          action_names(config, restored.spec.num_actions))
  partial = tempfile.mkdtemp(prefix=os.path.basename(output) + '.partial-',
                             dir=os.path.dirname(os.path.abspath(output)))
  try:
    tf.saved_model.save(policy, partial)
    os.rename(partial, output)
  finally:
    shutil.rmtree(partial, ignore_errors=True)
  return restored.checkpoint

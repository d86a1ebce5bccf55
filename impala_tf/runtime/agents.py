"""The agent of a run config, and the policy call actors make with it.

Used by the learner process (`training`), both fleets, `impala_tf.evaluate`
and the benchmarks, so that an agent or a policy call is made one way
everywhere:

* `environment_spec`: the observation spec and the size of the action set
  of the configured levels;
* `torso_for` and `make_agent`: the network of a config;
* `single_step_spec`: what to build an acting agent's variables from;
* `make_inference`: the policy call actors make (numpy in, numpy out).
"""

from typing import NamedTuple

import gymnasium as gym
import ml_collections
import numpy as np
import tensorflow as tf
import tree

from impala_tf import config as config_lib
from impala_tf import envs
from impala_tf.agent import networks
from impala_tf.envs import gym_env
from impala_tf.runtime import pipeline
from impala_tf.runtime import zero_copy
from impala_tf.types import Trajectory


class EnvironmentSpec(NamedTuple):
  """What the network needs to know of the configured levels."""
  observation: object  # Nest of `tf.TensorSpec` of one observation.
  num_actions: int


def environment_spec(config: ml_collections.ConfigDict) -> EnvironmentSpec:
  """The `EnvironmentSpec` of the configured levels.

  Builds one level of each kind that has its own spaces
  (`envs.spaces_key`): once for all 30 DeepMind Lab levels, once for all
  Atari games with the full action set, once per game otherwise. All levels
  must share one action set: a multi-task agent has one policy head (Atari's
  multi-task agent uses the full 18 actions for that reason, App. G).
  """
  options = config_lib.env_options(config)
  representatives = {}
  for level in config.levels:
    key = envs.spaces_key(config.env, level, options['full_action_space'])
    representatives.setdefault(key, level)
  observation_spec, num_actions = None, set()
  for level in representatives.values():
    env = envs.make(config.env, level, **options)
    try:
      gym_env.check_action_space(env, f'{config.env} level {level!r}')
      num_actions.add(env.action_space.n)
      observation_spec = _space_spec(env.observation_space)
    finally:
      env.close()
  if len(num_actions) > 1:
    raise ValueError(f'config.levels={list(config.levels)} have action sets '
                     f'of different sizes {sorted(num_actions)}; a multi-task '
                     'agent needs one action set (on Atari: '
                     'config.full_action_space=True)')
  return EnvironmentSpec(observation_spec, num_actions.pop())


def _space_spec(space: gym.Space):
  """`tf.TensorSpec` nest of one observation of a gymnasium space."""
  if isinstance(space, gym.spaces.Tuple):
    return tuple(_space_spec(s) for s in space.spaces)
  if isinstance(space, gym.spaces.Text):
    return tf.TensorSpec([], tf.string)
  return tf.TensorSpec(space.shape, tf.as_dtype(space.dtype))


def torso_for(config: ml_collections.ConfigDict, spec: EnvironmentSpec) -> str:
  """``config.torso``; for 'auto' the suite's (`envs.Suite.torso`), or where
  the suite has none (gym, custom) the one that fits the observations:
  'minatar' for boolean frames, 'shallow' for uint8 frames of at least
  36 × 36 (and DMLab's frame + instruction), 'mlp' for anything else (a
  vector of features, a small grid)."""
  if config.torso != 'auto':
    return config.torso
  if envs.default_torso(config.env) is not None:
    return envs.default_torso(config.env)
  observation = spec.observation
  if isinstance(observation, tuple):  # (frame, instruction).
    return 'shallow'
  if len(observation.shape) == 3 and observation.dtype == tf.bool:
    return 'minatar'
  if (len(observation.shape) == 3 and observation.dtype == tf.uint8 and
      min(observation.shape[:2]) >= 36):
    return 'shallow'
  return 'mlp'


def make_agent(config: ml_collections.ConfigDict,
               spec: EnvironmentSpec) -> networks.ImpalaAgent:
  return networks.ImpalaAgent(
      spec.num_actions,
      torso=torso_for(config, spec),
      use_lstm=config.use_lstm,
      use_instruction=config.use_instruction,
      last_action_input=config.last_action_input)


def single_step_spec(agent: networks.ImpalaAgent,
                     spec: EnvironmentSpec) -> Trajectory:
  """The spec of a batch of one single step, to build an acting agent's
  variables from (`learner.build_variables`, `learner.restore_policy`)."""
  return pipeline.trajectory_spec(spec.observation, agent.state_spec(),
                              spec.num_actions, unroll_length=0, batch_size=1)


def make_inference(agent: networks.ImpalaAgent, version: tf.Variable):
  """The policy's network call: a batch of single steps → numpy outputs,
  each row tagged with ``version`` (see `impala_tf.runtime.actor.Policy`).

  Every frame an actor steps passes through this call, in the learner
  process of the local runtime, so its Python cost per call bounds what
  one process can take (REPRODUCE, "Scale"). It is kept small: the graph
  is traced once, at the first call, for any batch size; its inputs go in
  as one flat list of tensors, made from the numpy arrays without a copy
  where they allow it (`zero_copy.as_tensor`); the outputs come back as
  numpy views of the result tensors.
  """

  def inference(prev_action, env_output, state):
    agent_output, new_state = agent(prev_action, env_output, state)
    versions = tf.fill(tf.shape(prev_action), version.read_value())
    return agent_output, new_state, versions

  concrete = None  # Traced at the first call, for any batch size.

  def policy(prev_action, env_output, state):
    nonlocal concrete
    # The agent does not read the episode statistics; leave them behind.
    inputs = (prev_action, env_output._replace(info=()), state)
    if concrete is None:
      concrete = _trace_for_any_batch(inference, inputs)
    # `_call_flat` is the concrete function's own call once its inputs are a
    # flat list of tensors; the public call first matches them against the
    # traced signature again, which cost as much as the rest of the call
    # (190 against 90 µs of CPU at 48 rows, a free network, TF 2.21).
    tensors = [zero_copy.as_tensor(x) for x in tree.flatten(inputs)]
    outputs = concrete._call_flat(  # pylint: disable=protected-access
        tensors, concrete.captured_inputs)
    return tree.map_structure(np.asarray, outputs)

  return policy


def _trace_for_any_batch(fn, inputs):
  """``fn(*inputs)`` traced into a concrete function of the flat list of
  ``inputs``' leaves (numpy arrays ``[n, ...]``), for any n."""
  specs = [tf.TensorSpec([None, *t.shape[1:]], t.dtype)
           for t in map(tf.convert_to_tensor, tree.flatten(inputs))]
  return tf.function(lambda *flat: fn(*tree.unflatten_as(inputs, flat))
                    ).get_concrete_function(*specs)

"""What every actor fleet is built from, and the interface fleets share.

The builders here are used by the learner process (`training`), by both
fleets (`local.LocalActors`, `ray.RayActors`), by `impala_tf.evaluate` and
by the benchmarks, so that an agent, an environment group or a policy call is
made one way everywhere:

* `environment_spec`: the observation spec and the size of the action set;
* `make_agent`: the network of a config;
* `make_environment_groups`: the worker processes of the actors, with their
  levels and seeds;
* `make_inference`: the policy call actors make (numpy in, numpy out).

A fleet (`Fleet`) is built from a config, the agent, the learner's version
counter, the `EnvironmentSpec` and two sinks: ``on_trajectory(trajectory)``
(it may block: backpressure) and ``on_episode(episode)``. The learner loop
calls ``after_update(version)`` after every train step, in its own thread,
when the agent's variables hold exactly that version.
"""

import functools
from typing import (Callable, Dict, List, NamedTuple, Optional, Protocol,
                    Sequence)

import gymnasium as gym
import ml_collections
import numpy as np
import tensorflow as tf
import tree

from impala_tf import config as config_lib
from impala_tf import data
from impala_tf import envs
from impala_tf import networks
from impala_tf.envs import gym_env
from impala_tf.runtime.env_process import (Episode, EnvironmentGroup,
                                           make_env_fn)
from impala_tf.types import Trajectory

TrajectorySink = Callable[[Trajectory], None]
EpisodeSink = Callable[[Episode], None]


class EnvironmentSpec(NamedTuple):
  """What the network needs to know of the configured levels."""
  observation: object  # Nest of `tf.TensorSpec` of one observation.
  num_actions: int


class Fleet(Protocol):
  """A set of actors feeding the learner (`local.LocalActors`,
  `ray.RayActors`). Constructed as ``Fleet(config, agent, version, spec,
  on_trajectory, on_episode)``."""

  def start(self, stop) -> None:
    """Starts the actors; they run until ``stop`` (a `threading.Event`)."""

  def after_update(self, version: int) -> None:
    """Called by the learner thread after each update (the agent's
    variables are those of ``version``)."""

  def metrics(self) -> Dict[str, float]:
    """Counters for the periodic log line."""

  def close(self) -> None:
    """Call after ``stop`` is set and the trajectory queue closed."""


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
  """``config.torso``, or for 'auto' the one that fits the observations:
  'minatar' for boolean frames, 'shallow' for uint8 frames of at least
  36 × 36 (and DMLab's frame + instruction), 'mlp' for anything else (a
  vector of features, a small grid)."""
  if config.torso != 'auto':
    return config.torso
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
  return data.trajectory_spec(spec.observation, agent.state_spec(),
                              spec.num_actions, unroll_length=0, batch_size=1)


def level_of_environment(config: ml_collections.ConfigDict, index: int) -> str:
  """Round robin over levels by global environment index (paper.md §8.2)."""
  return config.levels[index % len(config.levels)]


def make_environment_groups(
    config: ml_collections.ConfigDict,
    training: bool = True,
    actor_indices: Optional[Sequence[int]] = None) -> List[EnvironmentGroup]:
  """One group per actor (``actor_indices``, default all of them), with the
  levels, seeds and environment indices of its place in the fleet; in
  evaluation mode (``training=False``) if asked."""
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
        seed=config.seed * 1_000_000 + actor_index * 10_000,
        first_index=indices[0],
        vector_fn=make_vector_fn(config, levels, training)))
  return groups


def make_vector_fn(config: ml_collections.ConfigDict,
                   levels: Sequence[str], training: bool) -> Optional[Callable]:
  """The factory of one vectorised object for a group's games, where the
  config asks for one (``atari_backend='vector'``) and the group trains:
  evaluation keeps the paper's 1-30 no-op starts of the gymnasium path
  (`atari_vector` draws 0-29)."""
  if (config.env != 'atari' or config.atari_backend != 'vector' or
      not training):
    return None
  from impala_tf.envs import atari_vector  # pylint: disable=g-import-not-at-top
  return functools.partial(atari_vector.make_vector_game, levels[0],
                           len(levels), training, config.full_action_space,
                           config.atari_vector_threads)


def make_inference(agent: networks.ImpalaAgent, version: tf.Variable):
  """The policy's network call: a batch of single steps → numpy outputs,
  each row tagged with ``version`` (see `impala_tf.actor.Policy`)."""

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

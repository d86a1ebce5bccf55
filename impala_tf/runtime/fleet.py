"""What every actor fleet is built from, and the interface fleets share.

A fleet (`Fleet`: `local.LocalActors`, `ray.RayActors`) is built from one
`FleetSetup`: the config, the agent, the learner's version counter, the
`agents.EnvironmentSpec`, two sinks (``on_trajectory(trajectory)``, which may
block: backpressure; ``on_episode(episode)``), the factory of its
environment groups and that of the agent. The learner loop calls ``after_update(version)`` after
every train step, in its own thread, when the agent's variables hold exactly
that version.

Environment groups are made by ``setup.make_groups`` (default
`make_environment_groups`), so that a benchmark or a fault test hands in
environments of its own (`make_environment_groups`' ``make_env`` and
``make_vector``) without touching this module; likewise a network of its
own through ``setup.make_agent``. Every fleet makes its actors with
`make_actor`.
"""

import functools
from typing import (Callable, Dict, List, NamedTuple, Optional, Protocol,
                    Sequence)

import ml_collections
import tensorflow as tf

from impala_tf import config as config_lib
from impala_tf.agent import networks
from impala_tf.envs import procgen
from impala_tf.runtime.actor import Actor, Policy
from impala_tf.runtime import agents
from impala_tf.runtime.agents import EnvironmentSpec
from impala_tf.runtime.environment_group import EnvironmentGroup, make_env_fn
from impala_tf.types import Episode, Trajectory

TrajectorySink = Callable[[Trajectory], None]
EpisodeSink = Callable[[Episode], None]
# (config, training, actor_indices or None for all) -> one group per actor.
GroupFactory = Callable[[ml_collections.ConfigDict, bool,
                         Optional[Sequence[int]]], List[EnvironmentGroup]]
# (config, spec) -> the agent, like `agents.make_agent`.
AgentFactory = Callable[[ml_collections.ConfigDict, EnvironmentSpec],
                        networks.ImpalaAgent]


def level_of_environment(config: ml_collections.ConfigDict, index: int) -> str:
  """Round robin over levels by global environment index (paper.md §8.2)."""
  return config.levels[index % len(config.levels)]


def make_vector_fn(config: ml_collections.ConfigDict,
                   levels: Sequence[str], training: bool) -> Optional[Callable]:
  """The factory of one vectorised object for a group's games, where there
  is one and the group trains: Atari with ``atari_backend='vector'`` and
  Procgen. Evaluation plays one environment after another, which a video
  can wrap; on Atari it also keeps the paper's 1-30 no-op starts of the
  gymnasium path (`atari_vector` draws 0-29)."""
  if not training or len(set(levels)) != 1:
    return None
  if config.env == 'procgen':
    return functools.partial(procgen.make_vector_game, levels[0],
                             len(levels), config.procgen.to_dict())
  if config.env == 'atari' and config.atari_backend == 'vector':
    # Imported here: it needs ale-py's vector environment, Atari runs only.
    # pylint: disable-next=g-import-not-at-top
    from impala_tf.envs import atari_vector
    return functools.partial(atari_vector.make_vector_game, levels[0],
                             len(levels), training, config.full_action_space,
                             config.atari_vector_threads)
  return None


def make_environment_groups(
    config: ml_collections.ConfigDict,
    training: bool = True,
    actor_indices: Optional[Sequence[int]] = None,
    make_env: Callable = make_env_fn,
    make_vector: Callable = make_vector_fn) -> List[EnvironmentGroup]:
  """One group per actor (``actor_indices``, default all of them), with the
  levels, seeds and environment indices of its place in the fleet; in
  evaluation mode (``training=False``) if asked.

  ``make_env(env_name, level, training, **options)`` and
  ``make_vector(config, levels, training)`` make each group's picklable
  environment factories (see `EnvironmentGroup`); stand-ins of them give a
  fleet other environments (free ones for benchmarks, faulty ones for
  fault tests)."""
  if actor_indices is None:
    actor_indices = range(config.num_actors)
  groups = []
  for actor_index in actor_indices:
    indices = range(actor_index * config.envs_per_actor,
                    (actor_index + 1) * config.envs_per_actor)
    levels = [level_of_environment(config, i) for i in indices]
    groups.append(EnvironmentGroup(
        [make_env(config.env, level, training,
                  **config_lib.env_options(config)) for level in levels],
        levels,
        seed=config.seed * 1_000_000 + actor_index * 10_000,
        first_index=indices[0],
        vector_fn=make_vector(config, levels, training)))
  return groups


class FleetSetup(NamedTuple):
  """What a fleet is built from.

  config: the run config.
  agent: the learner's agent (a local fleet reads its live variables; a
    remote one copies them).
  version: the learner's update counter, an int64 `tf.Variable`, tagged onto
    every agent output.
  spec: the levels' `agents.EnvironmentSpec`.
  on_trajectory: receives each `Trajectory`; may block (backpressure).
  on_episode: receives each finished `Episode`; its ``env_index`` is the
    environment's index in the fleet.
  make_groups: the fleet's environment groups (`GroupFactory`); picklable
    where actors run elsewhere (Ray).
  training: False for evaluation-mode environments (`impala_tf.evaluate`).
  make_agent: how actors with a network of their own (Ray's) build it
    (`AgentFactory`, picklable); ``agent`` was built by the same.
  """
  config: ml_collections.ConfigDict
  agent: networks.ImpalaAgent
  version: tf.Variable
  spec: EnvironmentSpec
  on_trajectory: TrajectorySink
  on_episode: EpisodeSink
  make_groups: GroupFactory = make_environment_groups
  training: bool = True
  make_agent: AgentFactory = agents.make_agent


def make_actor(setup: FleetSetup, group: EnvironmentGroup,
               policy: Policy) -> Actor:
  """The actor of one environment group: steps it with ``policy`` and sends
  what it collects to the setup's sinks."""
  return Actor(group, policy, setup.agent.initial_state,
               setup.spec.num_actions, setup.config.unroll_length,
               setup.on_trajectory, setup.on_episode)


class Fleet(Protocol):
  """A set of actors feeding the learner (`local.LocalActors`,
  `ray.RayActors`), constructed from a `FleetSetup`."""

  def start(self, stop) -> None:
    """Starts the actors; they run until ``stop`` (a `threading.Event`)."""

  def after_update(self, version: int) -> None:
    """Called by the learner thread after each update (the agent's
    variables are those of ``version``)."""

  def metrics(self) -> Dict[str, float]:
    """Counters for the periodic log line."""

  def close(self) -> None:
    """Call after ``stop`` is set and the trajectory queue closed."""

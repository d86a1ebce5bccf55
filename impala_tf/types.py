"""The named tuples that cross module boundaries (DESIGN.md, "Contracts").

Every tensor is time-major where it has a time axis: ``[T, B, ...]``.
"""

from typing import Any, NamedTuple

import tensorflow as tf
import tree


class StepOutputInfo(NamedTuple):
  """Running statistics of the current episode, reported with every step.

  episode_return: float32 ``[...]``, the undiscounted, unclipped return so far.
  episode_step: int32 ``[...]``, environment frames so far in this episode.
  """
  episode_return: Any
  episode_step: Any


class StepOutput(NamedTuple):
  """What an environment gives back after one agent step.

  reward: float32 ``[...]``, the reward of the step (summed over action repeats).
  info: `StepOutputInfo`; at an episode end it holds the finished episode's
    totals, and the observation is already the first of the next episode.
  done: bool ``[...]``, True when this step ended an episode. The agent resets
    its core state *before* it reads an observation whose ``done`` is set.
  observation: a frame ``[..., H, W, C]`` (uint8), or ``(frame, instruction)``
    where the task has a language channel (instruction: a string ``[...]``).
  """
  reward: Any
  info: StepOutputInfo
  done: Any
  observation: Any


class AgentOutput(NamedTuple):
  """What the agent outputs for one step.

  action: int32 ``[...]``, sampled from ``policy_logits``.
  policy_logits: float32 ``[..., num_actions]``.
  baseline: float32 ``[...]``, the value estimate V(x).
  """
  action: Any
  policy_logits: Any
  baseline: Any


class Trajectory(NamedTuple):
  """One unroll of one actor, as it travels from actor to learner.

  The time axis has T+1 entries: entry 0 repeats the last entry of the
  previous unroll, so that the learner can compute V at the first step and
  the bootstrap value at the last one (as in the original release).
  ``agent_outputs[t]`` chose the action that produced ``env_outputs[t]``.

  level_name: string ``[]`` (``[B]`` once batched).
  agent_state: the agent's core state *before* it read ``env_outputs[0]``
    (``[...]`` per leaf, ``[B, ...]`` once batched); ``()`` for feed-forward.
  env_outputs: `StepOutput` with leaves ``[T+1, ...]``.
  agent_outputs: `AgentOutput` with leaves ``[T+1, ...]``.
  policy_version: int64 ``[T+1]`` (``[T+1, B]`` once batched), the number of learner updates behind the
    parameters that produced each agent output; the learner reports
    ``its version - policy_version`` as the policy lag. This field is an
    addition to DESIGN.md's contract: the lag is the first thing to look at
    when off-policy corrections matter.
  """
  level_name: Any
  agent_state: Any
  env_outputs: StepOutput
  agent_outputs: AgentOutput
  policy_version: Any


def trajectory_spec(observation_spec, agent_state, num_actions: int,
                    unroll_length: int, batch_size: int) -> Trajectory:
  """The `tf.TensorSpec` nest of a batch of trajectories, ``[T+1, B, ...]``.

  Args:
    observation_spec: nest of `tf.TensorSpec` of one observation (no batch or
      time axis), e.g. ``tf.TensorSpec([84, 84, 4], tf.uint8)``.
    agent_state: the agent's initial state for ``batch_size`` (its shapes and
      dtypes are used), e.g. ``agent.initial_state(batch_size)``.
    num_actions: size of the action set.
    unroll_length: T.
    batch_size: B.
  """
  def time_major(shape=(), dtype=tf.float32):
    return tf.TensorSpec([unroll_length + 1, batch_size, *shape], dtype)

  return Trajectory(
      level_name=tf.TensorSpec([batch_size], tf.string),
      agent_state=tree.map_structure(
          lambda t: tf.TensorSpec(t.shape, t.dtype), agent_state),
      env_outputs=StepOutput(
          reward=time_major(),
          info=StepOutputInfo(
              episode_return=time_major(),
              episode_step=time_major(dtype=tf.int32)),
          done=time_major(dtype=tf.bool),
          observation=tree.map_structure(
              lambda s: time_major(s.shape, s.dtype), observation_spec)),
      agent_outputs=AgentOutput(
          action=time_major(dtype=tf.int32),
          policy_logits=time_major([num_actions]),
          baseline=time_major()),
      policy_version=time_major(dtype=tf.int64))

"""The named tuples that cross module boundaries (docs/architecture.md,
"Contracts").

This module must not import TensorFlow: environment worker processes use it.

Every tensor is time-major where it has a time axis: ``[T, B, ...]``.
"""

from typing import Any, List, NamedTuple


class StepOutputInfo(NamedTuple):
  """Running statistics of the current episode, reported with every step.

  episode_return: float32 ``[...]``, the undiscounted, unclipped return so far.
  episode_step: int32 ``[...]``, agent steps so far in this episode.
  """
  episode_return: Any
  episode_step: Any


class StepOutput(NamedTuple):
  """What an environment gives back after one agent step.

  reward: float32 ``[...]``, the reward of the step (summed over action repeats).
  info: `StepOutputInfo`; where ``done`` is set it holds the totals of the
    episode that just ended, and the observation is already the first of the
    next one.
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
  """Unrolls of B environments side by side, time-major, as they travel from
  an actor to the learner: B is an actor's group of environments on the way
  (one object per unroll of a group, however many games it steps), and the
  learner's batch size once batched.

  The time axis has T+1 entries: entry 0 repeats the last entry of the
  previous unroll, so that the learner can compute V at the first step and
  the bootstrap value at the last one (as in the original release).
  ``agent_outputs[t]`` chose the action that produced ``env_outputs[t]``.

  level_name: string ``[B]``.
  agent_state: the agent's core state *before* it read ``env_outputs[0]``
    (``[B, ...]`` per leaf); ``()`` for feed-forward.
  env_outputs: `StepOutput` with leaves ``[T+1, B, ...]``.
  agent_outputs: `AgentOutput` with leaves ``[T+1, B, ...]``.
  policy_version: int64 ``[T+1, B]``, the number of learner updates behind
    the parameters that produced each agent output; the learner reports
    ``its version - policy_version`` as the policy lag, the first thing to
    look at when off-policy corrections matter.
  """
  level_name: Any
  agent_state: Any
  env_outputs: StepOutput
  agent_outputs: AgentOutput
  policy_version: Any


class Episode(NamedTuple):
  """A finished scored episode (a whole game on Atari)."""
  level_name: str
  episode_return: float
  episode_length: int  # Agent steps.
  env_index: int  # Which environment played it (`runtime.environment_group`).


class GroupStep(NamedTuple):
  """What one step of a group returns.

  env_output: `StepOutput` with leaves ``[n, ...]`` (numpy).
  episodes: the scored episodes that ended at this step.
  errors: descriptions of the environment failures handled at this step.
  """
  env_output: StepOutput
  episodes: List[Episode]
  errors: List[str]

"""The actor loop: environments + policy → trajectories (paper.md §3).

An `Actor` drives one `EnvironmentGroup` of n environments with a policy and
emits, after every T steps, one `Trajectory` of all n environments side by
side (leaves ``[T+1, n, ...]``): T+1 steps whose first repeats the last step
of the previous unroll, the core state from before that first step, the
behaviour policy's outputs, and the learner version behind every output.
One object per unroll of a group, not per environment: the Python work per
frame in the learner process bounds what it can take (REPRODUCE, "Scale").
It does not know whether its policy is the dynamic batcher or a direct
network call.

An exception inside the actor (in the policy, say) is logged, the partial
unroll is dropped, and the actor carries on from where its environments are.
"""

import logging
import threading
from typing import Callable

import numpy as np
import tree

from impala_tf.runtime import zero_copy
from impala_tf.runtime.environment_group import EnvironmentGroup
from impala_tf.types import AgentOutput, Episode, Trajectory

# policy(prev_action [n], env_output (leaves [n, ...]), state (leaves [n, ...]))
#   → (AgentOutput (leaves [n, ...]), new state, policy_version [n]); numpy.
Policy = Callable


class Actor:
  """Steps one group of environments and cuts the stream into unrolls.

  Args:
    environments: the group it steps.
    policy: see `Policy` above.
    initial_state: ``initial_state(n)`` → the core state of n new episodes.
    num_actions: size of the action set.
    unroll_length: T.
    on_trajectory: called with each unroll's `Trajectory` (leaves
      ``[T+1, n, ...]``); it may block (backpressure).
    on_episode: called with each finished `Episode`.
  """

  def __init__(self,
               environments: EnvironmentGroup,
               policy: Policy,
               initial_state: Callable,
               num_actions: int,
               unroll_length: int,
               on_trajectory: Callable[[Trajectory], None],
               on_episode: Callable[[Episode], None] = lambda episode: None):
    self._environments = environments
    self._policy = policy
    self._initial_state = initial_state
    self._num_actions = num_actions
    self._unroll_length = unroll_length
    self._on_trajectory = on_trajectory
    self._on_episode = on_episode
    self.num_errors = 0
    # Environment steps lost with the unrolls dropped after an error.
    self.num_dropped_steps = 0
    self._pending_steps = 0

  def start(self) -> None:
    """Starts the environments; the first unroll begins new episodes."""
    n = self._environments.size
    self._env_output = self._environments.start()
    self._agent_output = AgentOutput(
        action=np.zeros(n, np.int32),
        policy_logits=np.zeros((n, self._num_actions), np.float32),
        baseline=np.zeros(n, np.float32))
    self._version = np.zeros(n, np.int64)
    self._state = tree.map_structure(np.asarray, self._initial_state(n))

  def run(self, stop: threading.Event) -> None:
    """Unrolls until ``stop`` is set; survives exceptions inside the loop."""
    self.start()
    while not stop.is_set():
      self.try_unroll(stop)

  def try_unroll(self, stop: threading.Event) -> None:
    """`unroll`, but an exception is logged and counted and the partial
    unroll dropped; the environments carry on from where they are."""
    try:
      self.unroll(stop)
    except Exception:  # pylint: disable=broad-except
      if stop.is_set():
        return
      self.num_errors += 1
      self.num_dropped_steps += self._pending_steps * self._environments.size
      logging.exception('actor error (%d so far); dropping this unroll and '
                        'carrying on', self.num_errors)

  def unroll(self, stop: threading.Event) -> None:
    """T steps of every environment, then their trajectories, as one."""
    start_state = self._state
    self._pending_steps = 0
    observations = self._observation_block()
    env_outputs = [self._env_output]
    agent_outputs = [self._agent_output]
    versions = [self._version]
    state = self._state
    for t in range(1, self._unroll_length + 1):
      if stop.is_set():
        return
      agent_output, state, version = self._policy(self._agent_output.action,
                                                  self._env_output, state)
      step = self._environments.step(
          agent_output.action,
          observations[t] if observations is not None else None)
      for message in step.errors:
        logging.warning(message)
      for episode in step.episodes:
        self._on_episode(episode)
      # Commit the step only now that both halves of it succeeded.
      self._agent_output, self._env_output = agent_output, step.env_output
      self._state, self._version = state, version
      self._pending_steps += 1
      agent_outputs.append(agent_output)
      env_outputs.append(step.env_output)
      versions.append(version)

    # Into aligned memory: a block as wide as the learner's batch reaches
    # tf.data without a copy (`pipeline.concatenate`).
    stack = lambda *xs: zero_copy.aligned_stack(xs, 0)
    if observations is not None:  # Already in place; stack the rest.
      env_outputs = [o._replace(observation=()) for o in env_outputs]
    env_outputs = tree.map_structure(stack, *env_outputs)
    if observations is not None:
      env_outputs = env_outputs._replace(observation=observations)
    self._on_trajectory(Trajectory(
        level_name=np.array(self._environments.level_names),
        agent_state=start_state,
        env_outputs=env_outputs,
        agent_outputs=tree.map_structure(stack, *agent_outputs),
        policy_version=stack(*versions)))

  def _observation_block(self):
    """Where observations that are one array (Atari's frames) go during an
    unroll: ``[T+1, n, ...]``, row 0 the unroll's first observation, the
    others written by the environments' steps, so that no observation is
    copied into a trajectory afterwards. None for nests (DeepMind Lab's
    frame and instruction), which are stacked at the end."""
    first = self._env_output.observation
    if not isinstance(first, np.ndarray) or first.dtype == object:
      return None
    block = zero_copy.aligned_empty((self._unroll_length + 1, *first.shape),
                                    first.dtype)
    block[0] = first
    return block

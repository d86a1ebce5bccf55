"""A network that costs nothing, for measuring the runtime's own ceiling.

`FreeAgent` takes the same inputs, gives the same outputs and carries the
same recurrent state as the configured agent (`runtime.agents.make_agent`),
but computes almost nothing: its policy logits are one learned vector of
``num_actions`` and its baseline one learned scalar, whatever it sees; its
core state passes through unchanged. The learner still runs a real train
step on it (V-trace, the losses, RMSProp on its two variables), and every
frame still travels from the environments through the actors, the batcher,
the queue and tf.data into that step. With free environments too
(`free_atari.py`), what a system run then measures is the runtime alone.

`make_free_agent(config, spec)` has the signature of `agents.make_agent`,
so it goes wherever an agent factory goes (`Trainer`'s ``make_agent``).
"""

from typing import Tuple

import ml_collections
import sonnet as snt
import tensorflow as tf
import tree

from impala_tf.runtime import agents
from impala_tf.types import AgentOutput, StepOutput


class FreeAgent(snt.Module):
  """An agent of constant logits and baseline (see the module docstring).

  Args:
    num_actions: the size of the action set.
    state_spec: the nest of `tf.TensorSpec` of the real agent's core state
      (no batch axis); ``()`` for a feed-forward agent.
  """

  def __init__(self, num_actions: int, state_spec):
    super().__init__(name='free_agent')
    self._num_actions = num_actions
    self._state_spec = state_spec
    self._logits = tf.Variable(tf.zeros([num_actions]), name='logits')
    self._baseline = tf.Variable(0.0, name='baseline')

  @property
  def num_actions(self) -> int:
    return self._num_actions

  def initial_state(self, batch_size):
    return tree.map_structure(
        lambda s: tf.zeros([batch_size, *s.shape], s.dtype), self._state_spec)

  def state_spec(self):
    return self._state_spec

  def __call__(self, prev_action: tf.Tensor, env_output: StepOutput,
               core_state) -> Tuple[AgentOutput, object]:
    """One step of a batch: ``prev_action`` ``[B]``."""
    outputs, core_state = self.unroll(
        prev_action[None], tree.map_structure(lambda t: t[None], env_output),
        core_state)
    return tree.map_structure(lambda t: tf.squeeze(t, 0), outputs), core_state

  def unroll(self, prev_actions: tf.Tensor, env_outputs: StepOutput,
             core_state) -> Tuple[AgentOutput, object]:
    """``[T, B]`` steps: logits ``[T, B, A]``, baseline ``[T, B]``, actions
    sampled from the logits; the core state unchanged."""
    del env_outputs  # Free: it looks at nothing.
    shape = tf.shape(prev_actions)
    policy_logits = tf.broadcast_to(self._logits,
                                    tf.concat([shape, [self._num_actions]], 0))
    baseline = tf.broadcast_to(self._baseline, shape)
    action = tf.reshape(
        tf.random.categorical(tf.reshape(policy_logits,
                                         [-1, self._num_actions]), 1,
                              dtype=tf.int32), shape)
    return AgentOutput(action, policy_logits, baseline), core_state


def make_free_agent(config: ml_collections.ConfigDict,
                    spec: agents.EnvironmentSpec) -> FreeAgent:
  """The free stand-in of ``agents.make_agent(config, spec)``."""
  real = agents.make_agent(config, spec)
  return FreeAgent(spec.num_actions, real.state_spec())

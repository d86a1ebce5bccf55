"""The agent's networks: sizes from the paper, unroll = stepping, resets."""

import numpy as np
import pytest
import sonnet as snt
import tensorflow as tf
import tree

from impala_tf.agent import networks
from impala_tf.types import StepOutput, StepOutputInfo

DMLAB_FRAME = (72, 96, 3)
NUM_DMLAB_ACTIONS = 9


def count_parameters(module):
  return sum(int(np.prod(v.shape)) for v in module.trainable_variables)


def make_env_outputs(rng, num_steps, batch_size, frame_shape, instructions=None,
                     done=None):
  """`StepOutput` with leaves [T, B, ...] of random content."""
  shape = (num_steps, batch_size)
  frames = tf.constant(rng.integers(0, 256, shape + frame_shape), tf.uint8)
  observation = frames
  if instructions is not None:
    observation = (frames, tf.constant(instructions))
  if done is None:
    done = np.zeros(shape, bool)
  return StepOutput(
      reward=tf.constant(rng.normal(0, 2, shape), tf.float32),
      info=StepOutputInfo(tf.zeros(shape), tf.zeros(shape, tf.int32)),
      done=tf.constant(done),
      observation=observation)


@pytest.mark.parametrize('torso,expected', [
    ('shallow', 1_230_426),  # paper.md §5.3.
    ('deep', 1_628_010),
])
def test_parameter_counts_equal_the_paper(torso, expected):
  agent = networks.ImpalaAgent(NUM_DMLAB_ACTIONS, torso=torso,
                               use_instruction=True)
  rng = np.random.default_rng(0)
  env_outputs = make_env_outputs(rng, 1, 2, DMLAB_FRAME,
                                 instructions=[['pick the red ball', '']])
  agent.unroll(tf.zeros([1, 2], tf.int32), env_outputs, agent.initial_state(2))
  assert count_parameters(agent) == expected


def test_deep_torso_has_fifteen_convolutions():
  torso = networks.DeepTorso()
  torso(tf.zeros((1,) + DMLAB_FRAME, tf.uint8))
  kernels = [v for v in torso.trainable_variables if len(v.shape) == 4]
  assert len(kernels) == 15  # Fig. 3 caption: 15 conv layers.


def test_atari_feed_forward_agent_has_no_state():
  agent = networks.ImpalaAgent(6, torso='shallow', use_lstm=False)
  assert agent.initial_state(4) == ()
  rng = np.random.default_rng(0)
  env_outputs = make_env_outputs(rng, 3, 4, (84, 84, 4))
  outputs, state = agent.unroll(tf.zeros([3, 4], tf.int32), env_outputs, ())
  assert state == ()
  assert outputs.policy_logits.shape == (3, 4, 6)
  assert outputs.baseline.shape == (3, 4)
  assert outputs.action.dtype == tf.int32
  assert np.all((outputs.action.numpy() >= 0) & (outputs.action.numpy() < 6))


@pytest.mark.parametrize('last_action_input', [True, False])
def test_last_action_input_is_optional(last_action_input):
  """The original release's Atari port feeds no last action: then the
  outputs cannot depend on it, and the core input is num_actions smaller."""
  agent = networks.ImpalaAgent(6, torso='shallow', use_lstm=False,
                               last_action_input=last_action_input)
  env_outputs = make_env_outputs(np.random.default_rng(0), 2, 3, (84, 84, 4))
  logits = [agent.unroll(tf.fill([2, 3], action), env_outputs, ())[0]
            .policy_logits.numpy() for action in (0, 5)]
  assert np.allclose(logits[0], logits[1]) == (not last_action_input)
  head = [v for v in agent.trainable_variables
          if 'policy_logits' in v.name and len(v.shape) == 2][0]
  assert head.shape[0] == 256 + 1 + (6 if last_action_input else 0)


@pytest.mark.parametrize('torso,use_instruction', [
    ('shallow', True),
    ('deep', False),
])
def test_unroll_equals_stepping_with_resets(torso, use_instruction):
  num_steps, batch_size = 6, 3
  rng = np.random.default_rng(1)
  done = np.zeros((num_steps, batch_size), bool)
  done[2, 0] = True  # Episode boundaries inside the unroll.
  done[4, 1] = True
  done[0, 2] = True  # At the very first step.
  instructions = None
  if use_instruction:
    instructions = [['go to the red ball', '', 'a'] for _ in range(num_steps)]
    instructions[3][1] = 'pick   up the key'
  env_outputs = make_env_outputs(rng, num_steps, batch_size, DMLAB_FRAME,
                                 instructions, done)
  prev_actions = tf.constant(rng.integers(0, 9, (num_steps, batch_size)),
                             tf.int32)
  agent = networks.ImpalaAgent(9, torso=torso, use_instruction=use_instruction)
  # A state that is not zero, so that resets are visible.
  initial_state = tree.map_structure(
      lambda t: tf.random.normal(t.shape, seed=3), agent.initial_state(batch_size))

  unrolled, final_state = agent.unroll(prev_actions, env_outputs, initial_state)

  state = initial_state
  logits, baselines = [], []
  for t in range(num_steps):
    step_output = tree.map_structure(lambda x: x[t], env_outputs)
    output, state = agent(prev_actions[t], step_output, state)
    logits.append(output.policy_logits)
    baselines.append(output.baseline)
  np.testing.assert_allclose(unrolled.policy_logits, tf.stack(logits),
                             rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(unrolled.baseline, tf.stack(baselines),
                             rtol=1e-5, atol=1e-5)
  tree.map_structure(
      lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5),
      final_state, state)


def test_reset_restarts_from_zero_state():
  """After done, outputs equal those of a fresh agent state."""
  rng = np.random.default_rng(2)
  agent = networks.ImpalaAgent(4, torso='mlp')
  env_outputs = StepOutput(
      reward=tf.ones([2]), info=StepOutputInfo(tf.zeros([2]), tf.zeros([2], tf.int32)),
      done=tf.constant([True, False]),
      observation=tf.constant(rng.normal(size=(2, 5)), tf.float32))
  carried = tree.map_structure(lambda t: t + 5.0, agent.initial_state(2))
  out_carried, state = agent(tf.zeros([2], tf.int32), env_outputs, carried)
  out_fresh, fresh_state = agent(tf.zeros([2], tf.int32), env_outputs,
                                 agent.initial_state(2))
  # Row 0 was reset: as if it started from zeros. Row 1 was not.
  np.testing.assert_allclose(out_carried.policy_logits[0],
                             out_fresh.policy_logits[0], rtol=1e-6)
  np.testing.assert_allclose(state.hidden[0], fresh_state.hidden[0], rtol=1e-6)
  assert not np.allclose(out_carried.policy_logits[1], out_fresh.policy_logits[1])

  # A reset step starts from the exactly-zero state.
  lstm = snt.LSTM(3)
  core = networks.ResettingCore(lstm)
  x = tf.constant([[0.5, -1.0]])
  _, reset_state = core((x, tf.constant([True])),
                        snt.LSTMState(tf.ones([1, 3]), tf.ones([1, 3])))
  _, from_zero = lstm(x, snt.LSTMState(tf.zeros([1, 3]), tf.zeros([1, 3])))
  np.testing.assert_array_equal(reset_state.cell, from_zero.cell)
  np.testing.assert_array_equal(reset_state.hidden, from_zero.hidden)


def test_instruction_encoder_reads_words_up_to_the_last():
  encoder = networks.InstructionEncoder()
  out = encoder(tf.constant(['', 'red ball', 'red  ball ', 'ball red']))
  assert out.shape == (4, 64)
  np.testing.assert_array_equal(out[0], np.zeros(64))  # Empty: zero output.
  np.testing.assert_allclose(out[1], out[2], rtol=1e-5, atol=1e-6)  # Spaces don't count.
  assert not np.allclose(out[1], out[3])  # Word order does.
  # Padding to the longest instruction in the batch changes nothing.
  alone = encoder(tf.constant(['red ball']))
  np.testing.assert_allclose(alone[0], out[1], rtol=1e-5, atol=1e-6)


def test_works_under_tf_function():
  rng = np.random.default_rng(3)
  agent = networks.ImpalaAgent(9, torso='shallow', use_instruction=True)
  env_outputs = make_env_outputs(rng, 4, 2, DMLAB_FRAME,
                                 instructions=[['a b', 'c']] * 4)
  prev_actions = tf.zeros([4, 2], tf.int32)
  state = agent.initial_state(2)
  eager, _ = agent.unroll(prev_actions, env_outputs, state)
  compiled, _ = tf.function(agent.unroll)(prev_actions, env_outputs, state)
  np.testing.assert_allclose(eager.policy_logits, compiled.policy_logits,
                             rtol=1e-5, atol=1e-6)
  # Unknown T inside tf.function takes the dynamic unroll; same numbers.
  frames, instructions = env_outputs.observation
  signature_fn = tf.function(
      lambda a, r, d, f, i: agent.unroll(
          a, env_outputs._replace(reward=r, done=d, observation=(f, i)),
          state)[0].policy_logits,
      input_signature=[
          tf.TensorSpec([None, 2], tf.int32),
          tf.TensorSpec([None, 2], tf.float32),
          tf.TensorSpec([None, 2], tf.bool),
          tf.TensorSpec([None, 2, *DMLAB_FRAME], tf.uint8),
          tf.TensorSpec([None, 2], tf.string),
      ])
  dynamic = signature_fn(prev_actions, env_outputs.reward, env_outputs.done,
                         frames, instructions)
  np.testing.assert_allclose(eager.policy_logits, dynamic, rtol=1e-5, atol=1e-6)


def test_actions_follow_the_logits():
  agent = networks.ImpalaAgent(3, torso='mlp', use_lstm=False)
  observation = tf.zeros([4000, 2])
  env_output = StepOutput(tf.zeros([4000]),
                          StepOutputInfo(tf.zeros([4000]), tf.zeros([4000], tf.int32)),
                          tf.zeros([4000], tf.bool), observation)
  output, _ = agent(tf.zeros([4000], tf.int32), env_output, ())
  probs = tf.nn.softmax(output.policy_logits[0]).numpy()
  counts = np.bincount(output.action.numpy(), minlength=3) / 4000
  np.testing.assert_allclose(counts, probs, atol=0.03)


def test_unknown_torso_is_named():
  with pytest.raises(ValueError, match="'resnet'"):
    networks.ImpalaAgent(4, torso='resnet')

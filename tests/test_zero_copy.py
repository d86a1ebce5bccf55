"""Numpy arrays handed to TensorFlow without a copy, and the policy call
built on it: shared where that is safe, copied otherwise, same numbers."""

import numpy as np
import pytest
import tensorflow as tf
import tree

from impala_tf.agent import networks
from impala_tf.runtime import agents
from impala_tf.runtime import zero_copy
from impala_tf.types import StepOutput, StepOutputInfo


def shares_memory(array, tensor) -> bool:
  """Whether writing to ``array`` shows in ``tensor``."""
  before = tensor.numpy().copy()
  array.reshape(-1)[0] += 1
  return not np.array_equal(tensor.numpy(), before)


@pytest.mark.parametrize('dtype', [np.uint8, np.int32, np.int64, np.float32,
                                   bool])
def test_aligned_arrays_are_shared(dtype):
  array = zero_copy.aligned_empty((5, 7, 3), dtype)
  assert array.ctypes.data % zero_copy.TENSOR_ALIGNMENT == 0
  array[:] = np.arange(array.size).reshape(array.shape) % 2
  tensor = zero_copy.as_tensor(array)
  assert tensor.dtype == tf.as_dtype(dtype)
  np.testing.assert_array_equal(tensor.numpy(), array)
  assert shares_memory(array, tensor)


def test_arrays_that_cannot_be_shared_are_copied():
  block = zero_copy.aligned_empty((4 * 64 + 1,), np.uint8)
  block[:] = 3
  misaligned = block[1:].reshape(4, 64)  # Aligned to 1 byte only.
  strided = zero_copy.aligned_empty((8, 4), np.float32)[::2]
  strided[:] = 1.0
  read_only = zero_copy.aligned_empty((4, 4), np.float32)
  read_only[:] = 2.0
  read_only.flags.writeable = False
  for array in (misaligned, strided):
    tensor = zero_copy.as_tensor(array)  # TF would abort on a shared one.
    np.testing.assert_array_equal(tensor.numpy(), array)
    assert not shares_memory(array, tensor)
  np.testing.assert_array_equal(zero_copy.as_tensor(read_only), read_only)
  strings = np.array([b'red ball', b''], object)
  assert zero_copy.as_tensor(strings).numpy().tolist() == strings.tolist()


def test_aligned_concatenate_and_stack_equal_numpy_and_are_aligned():
  rng = np.random.default_rng(0)
  parts = [rng.integers(0, 255, (n, 3, 2)).astype(np.uint8) for n in (1, 4, 2)]
  joined = zero_copy.aligned_concatenate(parts)
  np.testing.assert_array_equal(joined, np.concatenate(parts))
  assert joined.ctypes.data % zero_copy.TENSOR_ALIGNMENT == 0
  same = [rng.normal(size=(3, 2)).astype(np.float32) for _ in range(5)]
  for axis in (0, 1, 2):
    stacked = zero_copy.aligned_stack(same, axis)
    np.testing.assert_array_equal(stacked, np.stack(same, axis))
    assert stacked.ctypes.data % zero_copy.TENSOR_ALIGNMENT == 0
  strings = [np.array([b'a', b'b'], object), np.array([b'c'], object)]
  assert zero_copy.aligned_concatenate(strings).tolist() == [b'a', b'b', b'c']


def single_step(rng, n, frame_shape, instructions=None):
  """`StepOutput` of one step of n environments (numpy, leaves ``[n, ...]``)."""
  frames = rng.integers(0, 256, (n, *frame_shape)).astype(np.uint8)
  observation = frames
  if instructions is not None:
    observation = (frames, np.array(instructions, object))
  return StepOutput(
      reward=rng.normal(size=n).astype(np.float32),
      info=StepOutputInfo(np.zeros(n, np.float32), np.zeros(n, np.int32)),
      done=rng.random(n) < 0.3,
      observation=observation)


@pytest.mark.parametrize('torso,use_lstm,instruction', [
    ('mlp', False, False), ('mlp', True, False), ('shallow', True, True)])
def test_inference_equals_the_agents_own_call(torso, use_lstm, instruction):
  """Over several steps and batch sizes (it is traced once, for any n), the
  policy call's logits, baseline and state equal the agent's eager call on
  the same inputs, and every row carries the learner's version."""
  rng = np.random.default_rng(1)
  frame_shape = (72, 96, 3) if torso == 'shallow' else (5,)
  agent = networks.ImpalaAgent(4, torso=torso, use_lstm=use_lstm,
                               use_instruction=instruction)
  version = tf.Variable(17, dtype=tf.int64)
  policy = agents.make_inference(agent, version)
  for n in (3, 8, 3):
    state = tree.map_structure(lambda t: rng.normal(size=t.shape).astype(
        np.float32), agent.initial_state(n))
    step = single_step(rng, n, frame_shape,
                       [['red ball', 'go'][i % 2] for i in range(n)]
                       if instruction else None)
    prev_action = rng.integers(0, 4, n).astype(np.int32)
    if instruction:  # The batcher's arrays; strings are copied.
      step = step._replace(observation=(zero_copy.aligned_concatenate(
          [step.observation[0]]), step.observation[1]))
    output, new_state, versions = policy(prev_action, step, state)
    expected, expected_state = agent(
        tf.constant(prev_action),
        tree.map_structure(tf.constant, step._replace(info=())),
        tree.map_structure(tf.constant, state))
    np.testing.assert_allclose(output.policy_logits, expected.policy_logits,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(output.baseline, expected.baseline,
                               rtol=1e-5, atol=1e-5)
    tree.map_structure(lambda a, b: np.testing.assert_allclose(
        a, b, rtol=1e-5, atol=1e-5), new_state, expected_state)
    assert output.action.shape == (n,)
    assert set(output.action) <= set(range(4))
    np.testing.assert_array_equal(versions, np.full(n, version.numpy()))
    version.assign_add(1)  # The next call reads the new value.

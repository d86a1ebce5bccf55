"""Losses, reward clipping and TF1-style RMSProp against hand computations."""

import math

import numpy as np
import pytest
import tensorflow as tf

from impala_tf.agent import losses
from impala_tf.agent.optimizer import RMSProp


def log_softmax(x):
  x = x - x.max(-1, keepdims=True)
  return x - np.log(np.exp(x).sum(-1, keepdims=True))


def test_losses_are_sums_over_time_and_batch():
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(3, 2, 4))
  actions = rng.integers(0, 4, (3, 2))
  advantages = rng.normal(size=(3, 2))
  log_pi = log_softmax(logits)
  taken = np.take_along_axis(log_pi, actions[..., None], -1)[..., 0]

  pg = losses.policy_gradient_loss(logits, actions, advantages)
  np.testing.assert_allclose(pg, np.sum(-taken * advantages), rtol=1e-10)
  np.testing.assert_allclose(losses.baseline_loss(advantages),
                             0.5 * np.sum(advantages**2), rtol=1e-10)
  entropy = -np.sum(np.exp(log_pi) * log_pi, axis=-1)
  np.testing.assert_allclose(losses.entropy(logits), entropy, rtol=1e-10)
  np.testing.assert_allclose(losses.entropy_loss(logits), -np.sum(entropy),
                             rtol=1e-10)


def test_policy_gradient_treats_advantages_as_constants():
  logits = tf.Variable(tf.zeros([1, 1, 3]))
  advantages = tf.Variable([[2.0]])
  with tf.GradientTape() as tape:
    loss = losses.policy_gradient_loss(logits, tf.constant([[1]]), advantages)
  grad_logits, grad_advantages = tape.gradient(loss, [logits, advantages])
  assert grad_advantages is None
  # d(-log softmax(z)_1)/dz = softmax(z) - onehot(1) = [1/3, -2/3, 1/3], × A.
  np.testing.assert_allclose(grad_logits[0, 0], [2 / 3, -4 / 3, 2 / 3],
                             rtol=1e-6)


def test_entropy_of_uniform_policy_is_log_num_actions():
  np.testing.assert_allclose(losses.entropy(tf.zeros([5])), math.log(5),
                             rtol=1e-6)


@pytest.mark.parametrize('mode,reward,expected', [
    ('abs_one', 3.0, 1.0),
    ('abs_one', -0.5, -0.5),
    ('abs_one', -7.0, -1.0),
    ('soft_asymmetric', 5.0, 5 * math.tanh(1.0)),
    ('soft_asymmetric', -5.0, 5 * 0.3 * math.tanh(-1.0)),
    ('soft_asymmetric', 0.0, 0.0),
    ('paper_asymmetric', 1.0, 5 * math.tanh(1.0)),
    ('paper_asymmetric', -1.0, 0.3 * math.tanh(-1.0)),
    ('paper_asymmetric', 20.0, 5 * math.tanh(20.0)),
    ('none', -13.5, -13.5),
])
def test_reward_clipping(mode, reward, expected):
  clipped = losses.clip_rewards(tf.constant([reward], tf.float64), mode)
  np.testing.assert_allclose(clipped, [expected], rtol=1e-12, atol=1e-12)


def test_the_two_asymmetric_clippings_differ():
  rewards = tf.constant([-2.0, 1.0, 3.0])
  assert not np.allclose(losses.clip_rewards(rewards, 'soft_asymmetric'),
                         losses.clip_rewards(rewards, 'paper_asymmetric'))


def test_unknown_clipping_is_named():
  with pytest.raises(ValueError, match="'tanh'"):
    losses.clip_rewards(tf.zeros([2]), 'tanh')


def test_rmsprop_first_two_steps_by_hand():
  var = tf.Variable([1.0, -2.0], dtype=tf.float32)
  opt = RMSProp([var], decay=0.9, momentum=0.0, epsilon=0.01)
  lr = 0.1
  g1 = np.array([0.5, -1.0])
  g2 = np.array([-0.2, 3.0])

  opt.apply([tf.constant(g1, tf.float32)], lr)
  # TF1 semantics: ms starts at 1, ε inside the square root.
  ms1 = np.array([0.9 * 1 + 0.1 * 0.25, 0.9 * 1 + 0.1 * 1.0])
  v1 = np.array([1.0 - lr * 0.5 / math.sqrt(ms1[0] + 0.01),
                 -2.0 + lr * 1.0 / math.sqrt(ms1[1] + 0.01)])
  np.testing.assert_allclose(var.numpy(), v1, rtol=1e-6)
  np.testing.assert_allclose(opt.mean_square[0].numpy(), ms1, rtol=1e-6)

  opt.apply([tf.constant(g2, tf.float32)], lr)
  ms2 = 0.9 * ms1 + 0.1 * g2**2
  v2 = v1 - lr * g2 / np.sqrt(ms2 + 0.01)
  np.testing.assert_allclose(var.numpy(), v2, rtol=1e-6)


def test_rmsprop_momentum_accumulates():
  var = tf.Variable([0.0])
  opt = RMSProp([var], decay=0.5, momentum=0.9, epsilon=0.0)
  opt.apply([tf.constant([1.0])], 1.0)
  mom1 = 1.0 / math.sqrt(0.5 * 1 + 0.5 * 1)
  opt.apply([tf.constant([1.0])], 1.0)
  mom2 = 0.9 * mom1 + 1.0 / math.sqrt(1.0)
  np.testing.assert_allclose(var.numpy(), [-(mom1 + mom2)], rtol=1e-6)


def test_rmsprop_skips_missing_gradients_and_checks_lengths():
  a, b = tf.Variable([1.0]), tf.Variable([2.0])
  opt = RMSProp([a, b])
  opt.apply([None, tf.constant([1.0])], 0.1)
  assert a.numpy()[0] == 1.0 and b.numpy()[0] != 2.0
  with pytest.raises(ValueError, match='1 gradients for 2 variables'):
    opt.apply([tf.constant([1.0])], 0.1)


def test_torch_style_rmsprop_by_hand():
  """PyTorch's RMSprop: ms starts at 0, ε outside the root, lr outside the
  momentum buffer."""
  var = tf.Variable([1.0, -2.0], dtype=tf.float32)
  opt = RMSProp([var], decay=0.9, momentum=0.5, epsilon=0.01, style='torch')
  lr = 0.1
  theta, ms, buf = np.array([1.0, -2.0]), np.zeros(2), np.zeros(2)
  for g in (np.array([0.5, -1.0]), np.array([-0.2, 3.0]), np.array([1.0, 0])):
    opt.apply([tf.constant(g, tf.float32)], lr)
    ms = 0.9 * ms + 0.1 * g**2
    buf = 0.5 * buf + g / (np.sqrt(ms) + 0.01)
    theta = theta - lr * buf
    np.testing.assert_allclose(var.numpy(), theta, rtol=1e-5)
  # The first step: TF1's is damped by ms starting at 1, PyTorch's is not.
  moved = {}
  for style in ('tf1', 'torch'):
    var = tf.Variable([0.0])
    RMSProp([var], decay=0.99, epsilon=0.01, style=style).apply(
        [tf.constant([0.05])], 0.01)
    moved[style] = -var.numpy()[0]
  np.testing.assert_allclose(moved['tf1'], 0.01 * 0.05 / math.sqrt(
      0.99 + 0.01 * 0.05**2 + 0.01), rtol=1e-5)
  assert moved['torch'] > 10 * moved['tf1']


def test_unknown_rmsprop_style_is_named():
  with pytest.raises(ValueError, match="'keras'"):
    RMSProp([tf.Variable([1.0])], style='keras')

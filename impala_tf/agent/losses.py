"""IMPALA's losses and reward clipping (paper.md §6.1, §6.2, §7).

As in the paper (Table D.1 note) and the original release, every loss is
**summed** over time and batch, not averaged: the learning rates of the paper
are tuned for sums, so they stay valid only with sums.
"""

import tensorflow as tf

from impala_tf.choices import REWARD_CLIPPINGS


def policy_gradient_loss(policy_logits: tf.Tensor, actions: tf.Tensor,
                         advantages: tf.Tensor,
                         epsilon: float = 0.0) -> tf.Tensor:
  """Σ −log(π(a_t|x_t) + ε) · A_t, with the advantages treated as constants.

  Args:
    policy_logits: float ``[T, B, num_actions]`` (the learner's π).
    actions: int ``[T, B]``.
    advantages: float ``[T, B]``, e.g. V-trace's ``pg_advantages``.
    epsilon: 0, or the ε-correction's 1e-6 (Table 2).

  Returns:
    A scalar.
  """
  if epsilon:
    probabilities = tf.gather(tf.nn.softmax(policy_logits), actions,
                              batch_dims=len(actions.shape))
    cross_entropy = -tf.math.log(probabilities + epsilon)
  else:
    cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=actions, logits=policy_logits)
  return tf.reduce_sum(cross_entropy * tf.stop_gradient(advantages))


def baseline_loss(advantages: tf.Tensor) -> tf.Tensor:
  """0.5 · Σ (v_s − V(x_s))², given ``advantages = v_s − V(x_s)`` ``[T, B]``.

  The result is multiplied by the baseline cost (0.5 in the paper) by the
  caller, as in the original release: 0.5 · 0.5 · Σ (v_s − V)² in total.
  """
  return 0.5 * tf.reduce_sum(tf.square(advantages))


def entropy_loss(policy_logits: tf.Tensor) -> tf.Tensor:
  """−Σ H(π(·|x_t)) over ``[T, B]``, so that minimising it raises entropy."""
  return -tf.reduce_sum(entropy(policy_logits))


def entropy(policy_logits: tf.Tensor) -> tf.Tensor:
  """H(π(·|x)) in nats: logits ``[..., A]`` → ``[...]``."""
  log_policy = tf.nn.log_softmax(policy_logits)
  return -tf.reduce_sum(tf.exp(log_policy) * log_policy, axis=-1)


def clip_rewards(rewards: tf.Tensor, mode: str) -> tf.Tensor:
  """Reward clipping applied to the training rewards.

  Modes:
    'abs_one': clip to [−1, 1] (Atari, DMLab single tasks; paper.md §6.2, §6.3).
    'soft_asymmetric': the original release's "optimistic asymmetric"
      clipping: 5·tanh(r/5) for r ≥ 0, 0.3·5·tanh(r/5) for r < 0.
    'paper_asymmetric': the formula of the paper's Fig. D.1:
      0.3·min(tanh r, 0) + 5·max(tanh r, 0).
    'none': unchanged.
  The two asymmetric modes are different functions (paper.md §6.2): the release
  squeezes by 5 before tanh, the figure does not. Both are offered so that a
  run can match either source; DMLab-30 configs say which one they use.
  """
  if mode == 'abs_one':
    return tf.clip_by_value(rewards, -1.0, 1.0)
  if mode == 'soft_asymmetric':
    squeezed = tf.tanh(rewards / 5.0)
    return 5.0 * tf.where(rewards < 0, 0.3 * squeezed, squeezed)
  if mode == 'paper_asymmetric':
    squashed = tf.tanh(rewards)
    return 0.3 * tf.minimum(squashed, 0.0) + 5.0 * tf.maximum(squashed, 0.0)
  if mode == 'none':
    return rewards
  raise ValueError(
      f'Unknown reward clipping {mode!r}; choose one of {REWARD_CLIPPINGS}')

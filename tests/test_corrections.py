"""Table 2's off-policy corrections against hand-computed targets."""

import numpy as np
import pytest
import tensorflow as tf

from impala_tf.agent import corrections
from impala_tf.agent import losses
from impala_tf.agent import vtrace

GAMMA = 0.9
# T = 2 steps, B = 1, two actions. Behaviour μ and target π of the taken
# actions: step 0 takes action 0 with μ = 0.5, π = 0.8 (ρ = 1.6);
# step 1 takes action 1 with μ = 0.8, π = 0.4 (ρ = 0.5).
MU = np.array([[[0.5, 0.5]], [[0.2, 0.8]]])
PI = np.array([[[0.8, 0.2]], [[0.6, 0.4]]])
ACTIONS = np.array([[0], [1]])
REWARDS = np.array([[1.0], [2.0]])
VALUES = np.array([[0.5], [1.5]])
BOOTSTRAP = np.array([3.0])


def run(correction, **thresholds):
  return corrections.targets(
      correction,
      behaviour_policy_logits=tf.constant(np.log(MU), tf.float64),
      target_policy_logits=tf.constant(np.log(PI), tf.float64),
      actions=tf.constant(ACTIONS, tf.int32),
      discounts=tf.constant(np.full((2, 1), GAMMA)),
      rewards=tf.constant(REWARDS),
      values=tf.constant(VALUES),
      bootstrap_value=tf.constant(BOOTSTRAP),
      **thresholds)


# Uncorrected, by hand: v_1 = r_1 + γ·V_boot, v_0 = r_0 + γ·r_1 + γ²·V_boot.
V1 = 2.0 + GAMMA * 3.0  # 4.7
V0 = 1.0 + GAMMA * 2.0 + GAMMA**2 * 3.0  # 5.23
# Advantages r_s + γ·v_{s+1} − V(x_s).
ADV0 = 1.0 + GAMMA * V1 - 0.5  # 4.73
ADV1 = 2.0 + GAMMA * 3.0 - 1.5  # 3.2


@pytest.mark.parametrize('correction', ['no_correction', 'epsilon_correction'])
def test_uncorrected_targets_are_n_step_returns(correction):
  targets = run(correction)
  np.testing.assert_allclose(targets.vs, [[V0], [V1]])
  np.testing.assert_allclose(targets.pg_advantages, [[ADV0], [ADV1]])
  np.testing.assert_allclose(tf.exp(targets.log_rhos), [[1.6], [0.5]])


def test_one_step_importance_sampling_weights_each_advantage():
  targets = run('one_step_is')
  np.testing.assert_allclose(targets.vs, [[V0], [V1]])  # Value: uncorrected.
  # ρ_0 = 1.6 clipped at 1; ρ_1 = 0.5.
  np.testing.assert_allclose(targets.pg_advantages, [[ADV0], [0.5 * ADV1]])
  unclipped = run('one_step_is', clip_pg_rho_threshold=None)
  np.testing.assert_allclose(unclipped.pg_advantages,
                             [[1.6 * ADV0], [0.5 * ADV1]])


def test_vtrace_by_hand_and_by_the_vtrace_module():
  targets = run('vtrace')
  # ρ̄ = c̄ = 1: ρ_0 = c_0 = 1, ρ_1 = c_1 = 0.5.
  delta1 = 0.5 * (2.0 + GAMMA * 3.0 - 1.5)
  v1 = 1.5 + delta1
  delta0 = 1.0 * (1.0 + GAMMA * 1.5 - 0.5)
  v0 = 0.5 + delta0 + GAMMA * 1.0 * (v1 - 1.5)
  np.testing.assert_allclose(targets.vs, [[v0], [v1]])
  np.testing.assert_allclose(
      targets.pg_advantages,
      [[1.0 * (1.0 + GAMMA * v1 - 0.5)], [0.5 * (2.0 + GAMMA * 3.0 - 1.5)]])
  reference = vtrace.from_logits(
      tf.constant(np.log(MU)), tf.constant(np.log(PI)),
      tf.constant(ACTIONS, tf.int32), tf.constant(np.full((2, 1), GAMMA)),
      tf.constant(REWARDS), tf.constant(VALUES), tf.constant(BOOTSTRAP))
  np.testing.assert_allclose(targets.vs, reference.vs)


def test_epsilon_bounds_the_log_of_a_vanishing_probability():
  logits = tf.constant([[[0.0, -30.0]]])  # π(action 1) ≈ 9.4e-14.
  actions = tf.constant([[1]])
  advantages = tf.constant([[1.0]])
  plain = losses.policy_gradient_loss(logits, actions, advantages)
  corrected = losses.policy_gradient_loss(logits, actions, advantages,
                                          epsilon=corrections.EPSILON)
  np.testing.assert_allclose(plain, 30.0, rtol=1e-4)  # −log π.
  np.testing.assert_allclose(corrected, -np.log(9.357623e-14 + 1e-6),
                             rtol=1e-4)  # ≈ 13.8
  # Where π is not small, ε changes nothing noticeable.
  big = losses.policy_gradient_loss(logits, tf.constant([[0]]), advantages,
                                    epsilon=corrections.EPSILON)
  np.testing.assert_allclose(
      big, losses.policy_gradient_loss(logits, tf.constant([[0]]), advantages),
      atol=2e-6)


def test_unknown_correction_is_named():
  with pytest.raises(ValueError, match="'retrace'"):
    run('retrace')

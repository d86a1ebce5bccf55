"""V-trace against a ground truth written from the paper's sum form (eq. 1)."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from impala_tf.agent import vtrace


def ground_truth(log_rhos, discounts, rewards, values, bootstrap_value,
                 clip_rho, clip_c, clip_pg_rho, lambda_):
  """Equation (1) as a double sum, O(T²), in float64 numpy.

  v_s = V(x_s) + Σ_{t=s}^{T-1} (Π_{i=s}^{t-1} γ_i c_i) ρ_t (r_t + γ_t V(x_{t+1}) - V(x_t))
  with per-step discounts γ_t in place of γ^{t-s}, V(x_T) = bootstrap.
  """
  rhos = np.exp(np.asarray(log_rhos, np.float64))
  clip = lambda x, c: x if c is None else np.minimum(c, x)
  clipped_rhos = clip(rhos, clip_rho)
  cs = lambda_ * clip(rhos, clip_c)
  values_ext = np.concatenate([values, bootstrap_value[None]], axis=0)
  num_steps = len(rewards)
  vs = np.zeros_like(rhos)
  for s in range(num_steps):
    total = np.array(values[s], np.float64)
    for t in range(s, num_steps):
      trace = np.ones_like(total)
      for i in range(s, t):
        trace = trace * discounts[i] * cs[i]
      delta = clipped_rhos[t] * (
          rewards[t] + discounts[t] * values_ext[t + 1] - values_ext[t])
      total = total + trace * delta
    vs[s] = total
  vs_ext = np.concatenate([vs, bootstrap_value[None]], axis=0)
  pg_advantages = clip(rhos, clip_pg_rho) * (
      rewards + discounts * vs_ext[1:] - values)
  return vs, pg_advantages


def random_inputs(num_steps, batch_size, dtype, seed=0, trailing=()):
  rng = np.random.default_rng(seed)
  shape = (num_steps, batch_size) + trailing
  discounts = np.full(shape, 0.9)
  if num_steps > 2:
    # An episode ends inside the unroll, in one batch entry only.
    discounts[num_steps // 2, 0] = 0.0
  return dict(
      log_rhos=rng.normal(0.0, 1.0, shape).astype(dtype),
      discounts=discounts.astype(dtype),
      rewards=rng.normal(size=shape).astype(dtype),
      values=rng.normal(size=shape).astype(dtype),
      bootstrap_value=rng.normal(size=shape[1:]).astype(dtype),
  )


CLIP_GRID = list(
    itertools.product([0.5, 1.0, 10.0, None], [0.5, 1.0, 2.0, None],
                      [1.0, 0.9]))


@pytest.mark.parametrize('clip_rho,clip_c,lambda_', CLIP_GRID)
@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_matches_sum_form(clip_rho, clip_c, lambda_, dtype):
  inputs = random_inputs(num_steps=7, batch_size=3, dtype=dtype)
  returns = vtrace.from_importance_weights(
      **inputs, clip_rho_threshold=clip_rho, clip_c_threshold=clip_c,
      clip_pg_rho_threshold=clip_rho, lambda_=lambda_)
  want_vs, want_pg = ground_truth(**inputs, clip_rho=clip_rho, clip_c=clip_c,
                                  clip_pg_rho=clip_rho, lambda_=lambda_)
  assert returns.vs.dtype == dtype
  tolerance = 1e-4 if dtype == np.float32 else 1e-10
  np.testing.assert_allclose(returns.vs.numpy(), want_vs, rtol=tolerance,
                             atol=tolerance)
  np.testing.assert_allclose(returns.pg_advantages.numpy(), want_pg,
                             rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize('num_steps', [1, 2, 5, 8, 9, 100])
def test_lengths_around_powers_of_two(num_steps):
  inputs = random_inputs(num_steps=num_steps, batch_size=2, dtype=np.float64)
  returns = vtrace.from_importance_weights(**inputs, clip_c_threshold=None)
  want_vs, want_pg = ground_truth(**inputs, clip_rho=1.0, clip_c=None,
                                  clip_pg_rho=1.0, lambda_=1.0)
  np.testing.assert_allclose(returns.vs.numpy(), want_vs, rtol=1e-10)
  np.testing.assert_allclose(returns.pg_advantages.numpy(), want_pg, rtol=1e-10)


def test_infinite_threshold_is_no_clipping():
  inputs = random_inputs(num_steps=6, batch_size=2, dtype=np.float64)
  unclipped = vtrace.from_importance_weights(
      **inputs, clip_rho_threshold=None, clip_c_threshold=None,
      clip_pg_rho_threshold=None)
  infinite = vtrace.from_importance_weights(
      **inputs, clip_rho_threshold=float('inf'),
      clip_c_threshold=float('inf'), clip_pg_rho_threshold=float('inf'))
  np.testing.assert_array_equal(unclipped.vs, infinite.vs)
  np.testing.assert_array_equal(unclipped.pg_advantages,
                                infinite.pg_advantages)


def test_single_step_by_hand():
  # T = 1: v_0 = V_0 + ρ_0 (r_0 + γ_0 V_1 - V_0), A_0 = ρ^pg_0 (r_0 + γ_0 V_1 - V_0).
  returns = vtrace.from_importance_weights(
      log_rhos=[[np.log(2.0)]], discounts=[[0.5]], rewards=[[1.0]],
      values=[[3.0]], bootstrap_value=[4.0], clip_rho_threshold=1.5,
      clip_pg_rho_threshold=None)
  np.testing.assert_allclose(returns.vs.numpy(), [[3.0 + 1.5 * (1 + 2 - 3)]])
  np.testing.assert_allclose(returns.pg_advantages.numpy(), [[2.0 * 0.0]])
  returns = vtrace.from_importance_weights(
      log_rhos=[[np.log(2.0)]], discounts=[[0.5]], rewards=[[2.0]],
      values=[[3.0]], bootstrap_value=[4.0], clip_rho_threshold=1.5,
      clip_pg_rho_threshold=None)
  np.testing.assert_allclose(returns.vs.numpy(), [[3.0 + 1.5 * 1.0]])
  np.testing.assert_allclose(returns.pg_advantages.numpy(), [[2.0 * 1.0]])


def test_on_policy_is_n_step_return():
  # Equation (2): with π = μ and c̄ ≥ 1, v_s is the n-step Bellman target.
  num_steps, gamma = 6, 0.9
  rng = np.random.default_rng(1)
  rewards = rng.normal(size=(num_steps, 4))
  values = rng.normal(size=(num_steps, 4))
  bootstrap = rng.normal(size=(4,))
  returns = vtrace.from_importance_weights(
      log_rhos=np.zeros((num_steps, 4)), discounts=np.full((num_steps, 4), gamma),
      rewards=rewards, values=values, bootstrap_value=bootstrap)
  for s in range(num_steps):
    n = num_steps - s
    want = sum(gamma**k * rewards[s + k] for k in range(n)) + gamma**n * bootstrap
    np.testing.assert_allclose(returns.vs.numpy()[s], want, rtol=1e-12)


def test_episode_end_cuts_the_trace():
  # With γ_t = 0 at an episode end, nothing after it reaches v_s for s ≤ t.
  inputs = random_inputs(num_steps=6, batch_size=1, dtype=np.float64)
  inputs['discounts'][:] = 0.9
  inputs['discounts'][2] = 0.0
  base = vtrace.from_importance_weights(**inputs).vs.numpy()
  inputs['rewards'][4] += 100.0
  inputs['bootstrap_value'] += 100.0
  changed = vtrace.from_importance_weights(**inputs).vs.numpy()
  np.testing.assert_allclose(changed[:3], base[:3])
  assert np.all(np.abs(changed[3:] - base[3:]) > 1.0)


def test_trailing_dimensions():
  inputs = random_inputs(num_steps=5, batch_size=2, dtype=np.float64,
                         trailing=(3,))
  returns = vtrace.from_importance_weights(**inputs, clip_rho_threshold=2.0)
  want_vs, want_pg = ground_truth(**inputs, clip_rho=2.0, clip_c=1.0,
                                  clip_pg_rho=1.0, lambda_=1.0)
  np.testing.assert_allclose(returns.vs.numpy(), want_vs, rtol=1e-10)
  np.testing.assert_allclose(returns.pg_advantages.numpy(), want_pg, rtol=1e-10)


def test_separate_pg_threshold():
  inputs = random_inputs(num_steps=5, batch_size=2, dtype=np.float64)
  returns = vtrace.from_importance_weights(
      **inputs, clip_rho_threshold=1.0, clip_pg_rho_threshold=0.5)
  _, want_pg = ground_truth(**inputs, clip_rho=1.0, clip_c=1.0,
                            clip_pg_rho=0.5, lambda_=1.0)
  np.testing.assert_allclose(returns.pg_advantages.numpy(), want_pg, rtol=1e-10)


def test_from_logits_agrees_with_importance_weights():
  rng = np.random.default_rng(2)
  num_steps, batch_size, num_actions = 5, 3, 4
  behaviour_logits = rng.normal(size=(num_steps, batch_size, num_actions))
  target_logits = rng.normal(size=(num_steps, batch_size, num_actions))
  actions = rng.integers(0, num_actions, size=(num_steps, batch_size))
  inputs = random_inputs(num_steps, batch_size, np.float64)
  del inputs['log_rhos']
  out = vtrace.from_logits(behaviour_logits, target_logits, actions, **inputs,
                           clip_rho_threshold=2.0, clip_c_threshold=0.5)

  def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))

  pick = lambda logits: np.take_along_axis(
      log_softmax(logits), actions[..., None], -1)[..., 0]
  want_log_rhos = pick(target_logits) - pick(behaviour_logits)
  np.testing.assert_allclose(out.behaviour_action_log_probs.numpy(),
                             pick(behaviour_logits), rtol=1e-10)
  np.testing.assert_allclose(out.target_action_log_probs.numpy(),
                             pick(target_logits), rtol=1e-10)
  np.testing.assert_allclose(out.log_rhos.numpy(), want_log_rhos, rtol=1e-10)
  direct = vtrace.from_importance_weights(
      want_log_rhos, **inputs, clip_rho_threshold=2.0, clip_c_threshold=0.5)
  np.testing.assert_allclose(out.vs.numpy(), direct.vs.numpy(), rtol=1e-10)
  np.testing.assert_allclose(out.pg_advantages.numpy(),
                             direct.pg_advantages.numpy(), rtol=1e-10)


def test_outputs_carry_no_gradient():
  inputs = {k: tf.Variable(v) for k, v in
            random_inputs(4, 2, np.float64).items()}
  with tf.GradientTape() as tape:
    returns = vtrace.from_importance_weights(**inputs)
    total = tf.reduce_sum(returns.vs) + tf.reduce_sum(returns.pg_advantages)
  grads = tape.gradient(total, list(inputs.values()))
  assert all(g is None for g in grads)


@pytest.mark.parametrize('jit_compile', [False, True])
def test_tf_function_and_xla_agree_with_eager(jit_compile):
  inputs = random_inputs(num_steps=20, batch_size=4, dtype=np.float32)
  eager = vtrace.from_importance_weights(**inputs, clip_c_threshold=2.0)
  compiled = tf.function(
      lambda **kw: vtrace.from_importance_weights(**kw, clip_c_threshold=2.0),
      jit_compile=jit_compile)(**inputs)
  np.testing.assert_allclose(compiled.vs.numpy(), eager.vs.numpy(), rtol=1e-5,
                             atol=1e-5)
  np.testing.assert_allclose(compiled.pg_advantages.numpy(),
                             eager.pg_advantages.numpy(), rtol=1e-5, atol=1e-5)


def test_unknown_time_length_under_tf_function():
  inputs = random_inputs(num_steps=11, batch_size=2, dtype=np.float64)
  spec = tf.TensorSpec([None, 2], tf.float64)
  fn = tf.function(
      vtrace.from_importance_weights,
      input_signature=[spec] * 4 + [tf.TensorSpec([2], tf.float64)])
  returns = fn(inputs['log_rhos'], inputs['discounts'], inputs['rewards'],
               inputs['values'], inputs['bootstrap_value'])
  want_vs, _ = ground_truth(**inputs, clip_rho=1.0, clip_c=1.0,
                            clip_pg_rho=1.0, lambda_=1.0)
  np.testing.assert_allclose(returns.vs.numpy(), want_vs, rtol=1e-10)


@pytest.mark.parametrize('bad_arg,bad_shape,expected', [
    ('discounts', (5,), 'discounts'),
    ('rewards', (5, 3), 'rewards'),
    ('values', (4, 2), 'values'),
    ('bootstrap_value', (5, 2), 'bootstrap_value'),
    ('log_rhos', (), 'log_rhos'),
])
def test_bad_shapes_name_the_argument(bad_arg, bad_shape, expected):
  inputs = random_inputs(num_steps=5, batch_size=2, dtype=np.float32)
  inputs[bad_arg] = np.zeros(bad_shape, np.float32)
  with pytest.raises(ValueError, match=expected):
    vtrace.from_importance_weights(**inputs)


def test_bad_logits_name_the_argument():
  inputs = random_inputs(num_steps=5, batch_size=2, dtype=np.float32)
  del inputs['log_rhos']
  logits = np.zeros((5, 2, 3), np.float32)
  with pytest.raises(ValueError, match='target_policy_logits'):
    vtrace.from_logits(logits, np.zeros((5, 2, 4), np.float32),
                       np.zeros((5, 2), np.int32), **inputs)
  with pytest.raises(ValueError, match='actions'):
    vtrace.from_logits(logits, logits, np.zeros((5, 3), np.int32), **inputs)
  with pytest.raises(ValueError, match='behaviour_policy_logits'):
    vtrace.from_logits(np.zeros((5,), np.float32), np.zeros((5,), np.float32),
                       np.zeros((5,), np.int32), **inputs)


@pytest.mark.parametrize('kwargs,expected', [
    (dict(clip_rho_threshold=0.0), 'clip_rho_threshold'),
    (dict(clip_c_threshold=-1.0), 'clip_c_threshold'),
    (dict(clip_pg_rho_threshold=0), 'clip_pg_rho_threshold'),
    (dict(lambda_=1.5), 'lambda_'),
])
def test_bad_thresholds_name_the_argument(kwargs, expected):
  inputs = random_inputs(num_steps=3, batch_size=2, dtype=np.float32)
  with pytest.raises(ValueError, match=expected):
    vtrace.from_importance_weights(**inputs, **kwargs)

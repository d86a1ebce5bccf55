"""V-trace off-policy targets (Espeholt et al., 2018, §4; paper.md §7).

Pure functions of tensors. Everything is time-major: leaves are ``[T, ...]``
where ``...`` is usually ``[B]``; any trailing axes are allowed as long as all
per-step inputs share one shape and ``bootstrap_value`` has that shape without
the time axis.

Definitions (paper.md §7), with per-step discounts γ_t (0 where an episode ends):

    ρ_t  = min(ρ̄, π(a_t|x_t) / μ(a_t|x_t))
    c_t  = λ · min(c̄, π(a_t|x_t) / μ(a_t|x_t))
    δ_t  = ρ_t (r_t + γ_t V(x_{t+1}) − V(x_t))
    v_s  = V(x_s) + Σ_{t≥s} (Π_{i=s}^{t−1} γ_i c_i) δ_t                  (1)
    A_s  = ρ^pg_s (r_s + γ_s v_{s+1} − V(x_s)),  v_T = V(x_T) = bootstrap

A threshold of ``None`` means no clipping. The outputs carry no gradient.

The original release evaluates (1) with a reverse ``tf.scan``: T sequential
steps. Here the same recursion is solved by recursive doubling in ceil(log2 T)
rounds of whole-tensor ops, which is faster eagerly, under ``tf.function`` and
under XLA (``benchmarks/vtrace_speed.py`` measures it).
"""

from typing import NamedTuple, Optional, Union

import tensorflow as tf

Threshold = Optional[Union[float, tf.Tensor]]


class VTraceReturns(NamedTuple):
  """vs: ``[T, ...]`` V-trace value targets v_s.

  pg_advantages: ``[T, ...]`` the policy-gradient advantages A_s.
  """
  vs: tf.Tensor
  pg_advantages: tf.Tensor


class VTraceFromLogitsReturns(NamedTuple):
  """`VTraceReturns` plus the log-probabilities they were computed from.

  All fields are ``[T, ...]``. ``target_action_log_probs`` keeps its gradient
  (it is the learner's log π(a_t|x_t)); ``vs`` and ``pg_advantages`` do not.
  """
  vs: tf.Tensor
  pg_advantages: tf.Tensor
  log_rhos: tf.Tensor
  behaviour_action_log_probs: tf.Tensor
  target_action_log_probs: tf.Tensor


def action_log_probs(policy_logits: tf.Tensor, actions: tf.Tensor) -> tf.Tensor:
  """log π(a|x) of the taken actions.

  Args:
    policy_logits: float ``[..., num_actions]``, unnormalised.
    actions: int ``[...]``.

  Returns:
    float ``[...]``.
  """
  return -tf.nn.sparse_softmax_cross_entropy_with_logits(
      labels=actions, logits=policy_logits)


def from_logits(behaviour_policy_logits,
                target_policy_logits,
                actions,
                discounts,
                rewards,
                values,
                bootstrap_value,
                clip_rho_threshold: Threshold = 1.0,
                clip_c_threshold: Threshold = 1.0,
                clip_pg_rho_threshold: Threshold = 1.0,
                lambda_: Union[float, tf.Tensor] = 1.0,
                name: str = 'vtrace_from_logits') -> VTraceFromLogitsReturns:
  """V-trace for softmax policies given as logits.

  Args:
    behaviour_policy_logits: float ``[T, ..., num_actions]``, μ's logits.
    target_policy_logits: float ``[T, ..., num_actions]``, π's logits.
    actions: int ``[T, ...]``, the actions taken (sampled from μ).
    discounts: float ``[T, ...]``, γ_t: the discount after step t, 0 where
      step t ended an episode.
    rewards: float ``[T, ...]``.
    values: float ``[T, ...]``, V(x_t).
    bootstrap_value: float ``[...]``, V(x_T).
    clip_rho_threshold, clip_c_threshold, clip_pg_rho_threshold, lambda_: see
      `from_importance_weights`.
    name: name scope.

  Returns:
    A `VTraceFromLogitsReturns`.

  Raises:
    ValueError: an argument has the wrong rank or shape (the message names it).
  """
  with tf.name_scope(name):
    (behaviour_policy_logits, target_policy_logits,
     actions) = _logits_and_actions(behaviour_policy_logits,
                                    target_policy_logits, actions)
    behaviour_log_probs = action_log_probs(behaviour_policy_logits, actions)
    target_log_probs = action_log_probs(target_policy_logits, actions)
    log_rhos = target_log_probs - behaviour_log_probs
    returns = from_importance_weights(
        log_rhos=log_rhos,
        discounts=discounts,
        rewards=rewards,
        values=values,
        bootstrap_value=bootstrap_value,
        clip_rho_threshold=clip_rho_threshold,
        clip_c_threshold=clip_c_threshold,
        clip_pg_rho_threshold=clip_pg_rho_threshold,
        lambda_=lambda_)
    return VTraceFromLogitsReturns(
        vs=returns.vs,
        pg_advantages=returns.pg_advantages,
        log_rhos=log_rhos,
        behaviour_action_log_probs=behaviour_log_probs,
        target_action_log_probs=target_log_probs)


def from_importance_weights(log_rhos,
                            discounts,
                            rewards,
                            values,
                            bootstrap_value,
                            clip_rho_threshold: Threshold = 1.0,
                            clip_c_threshold: Threshold = 1.0,
                            clip_pg_rho_threshold: Threshold = 1.0,
                            lambda_: Union[float, tf.Tensor] = 1.0,
                            name: str = 'vtrace_from_importance_weights'
                           ) -> VTraceReturns:
  """V-trace from log importance weights log(π(a_t|x_t) / μ(a_t|x_t)).

  Args:
    log_rhos: float ``[T, ...]``.
    discounts: float ``[T, ...]``, γ_t, 0 where step t ended an episode.
    rewards: float ``[T, ...]``.
    values: float ``[T, ...]``, V(x_t).
    bootstrap_value: float ``[...]``, V(x_T).
    clip_rho_threshold: ρ̄, truncates the ρ_t in δ_t; sets the fixed point.
      ``None``: no clipping.
    clip_c_threshold: c̄, truncates the trace coefficients c_t; sets the
      contraction speed. ``None``: no clipping.
    clip_pg_rho_threshold: truncates the ρ in the policy-gradient advantage
      (the paper uses ρ̄ there; the original release exposes it separately).
      ``None``: no clipping.
    lambda_: λ ∈ [0, 1], multiplies every c_t (paper.md §7, Remark 2).
    name: name scope.

  Returns:
    A `VTraceReturns` of ``[T, ...]`` tensors, with gradients stopped.

  Raises:
    ValueError: an argument has the wrong rank or shape, or a threshold is
      not positive (the message names it).
  """
  _check_truncation(clip_rho_threshold, clip_c_threshold,
                    clip_pg_rho_threshold, lambda_)
  with tf.name_scope(name):
    log_rhos, discounts, rewards, values, bootstrap_value = _time_major(
        log_rhos, discounts, rewards, values, bootstrap_value)
    dtype = log_rhos.dtype
    rhos = tf.exp(log_rhos)
    clipped_rhos = _clip(rhos, clip_rho_threshold)
    cs = _to_dtype(lambda_, dtype) * _clip(rhos, clip_c_threshold)

    values_t_plus_1 = tf.concat([values[1:], bootstrap_value[None]], axis=0)
    deltas = clipped_rhos * (rewards + discounts * values_t_plus_1 - values)
    vs = values + _discounted_trace_sum(deltas, discounts * cs)

    vs_t_plus_1 = tf.concat([vs[1:], bootstrap_value[None]], axis=0)
    clipped_pg_rhos = _clip(rhos, clip_pg_rho_threshold)
    pg_advantages = clipped_pg_rhos * (rewards + discounts * vs_t_plus_1 - values)

    return VTraceReturns(
        vs=tf.stop_gradient(vs), pg_advantages=tf.stop_gradient(pg_advantages))


def _clip(rhos: tf.Tensor, threshold: Threshold) -> tf.Tensor:
  if threshold is None:
    return rhos
  return tf.minimum(_to_dtype(threshold, rhos.dtype), rhos)


def _to_dtype(value, dtype) -> tf.Tensor:
  # tf.cast would round a Python float through float32 first.
  return tf.cast(value, dtype) if tf.is_tensor(value) else tf.constant(
      value, dtype)


def _discounted_trace_sum(deltas: tf.Tensor, decays: tf.Tensor) -> tf.Tensor:
  """acc_s = Σ_{t≥s} (Π_{i=s}^{t−1} decays_i) deltas_t for every s.

  This solves the linear recursion acc_s = deltas_s + decays_s · acc_{s+1},
  acc_T = 0, by recursive doubling (an associative scan): after the round with
  offset d, ``acc_s`` holds the sum over t < s + 2d and ``span_s`` the product
  of the decays over [s, s + 2d). ceil(log2 T) rounds of whole-tensor ops
  replace the T sequential steps of a reverse scan.

  Args:
    deltas: ``[T, ...]``.
    decays: ``[T, ...]``.

  Returns:
    ``[T, ...]``.
  """
  num_steps = deltas.shape[0]

  def double(acc, span, offset):
    # Past the end acc is 0, so the padding value of span never matters.
    padding = tf.zeros_like(acc[:offset])
    acc = acc + span * tf.concat([acc[offset:], padding], axis=0)
    span = span * tf.concat([span[offset:], padding], axis=0)
    return acc, span

  acc, span = deltas, decays
  if num_steps is not None:  # Static T: a fixed chain of ops, XLA-friendly.
    offset = 1
    while offset < num_steps:
      acc, span = double(acc, span, offset)
      offset *= 2
    return acc
  num_steps = tf.shape(deltas)[0]
  _, acc, _ = tf.while_loop(
      cond=lambda offset, acc, span: offset < num_steps,
      body=lambda offset, acc, span: (offset * 2, *double(acc, span, offset)),
      loop_vars=(tf.constant(1), acc, span))
  return acc


def _check_truncation(clip_rho_threshold: Threshold,
                      clip_c_threshold: Threshold,
                      clip_pg_rho_threshold: Threshold,
                      lambda_: Union[float, tf.Tensor]) -> None:
  """ValueError naming a threshold that is not positive, or a λ outside
  [0, 1] (tensors are not checked: they may be traced)."""
  for arg_name, threshold in (('clip_rho_threshold', clip_rho_threshold),
                              ('clip_c_threshold', clip_c_threshold),
                              ('clip_pg_rho_threshold', clip_pg_rho_threshold)):
    if isinstance(threshold, (int, float)) and not threshold > 0:
      raise ValueError(f'{arg_name} must be positive or None, got {threshold}')
  if isinstance(lambda_, (int, float)) and not 0 <= lambda_ <= 1:
    raise ValueError(f'lambda_ must be in [0, 1], got {lambda_}')


def _logits_and_actions(behaviour_policy_logits, target_policy_logits,
                        actions):
  """The inputs of `from_logits` as tensors, checked: both logits
  ``[T, ..., num_actions]`` of one shape, actions ``[T, ...]``. ValueError
  naming the first that does not fit."""
  behaviour_policy_logits = tf.convert_to_tensor(behaviour_policy_logits)
  target_policy_logits = tf.convert_to_tensor(target_policy_logits)
  actions = tf.convert_to_tensor(actions)
  _check_compatible('target_policy_logits', target_policy_logits,
                    'behaviour_policy_logits', behaviour_policy_logits.shape)
  if behaviour_policy_logits.shape.rank is not None:
    if behaviour_policy_logits.shape.rank < 2:
      raise ValueError(
          'behaviour_policy_logits must be [T, ..., num_actions], got shape '
          f'{behaviour_policy_logits.shape}')
    _check_compatible('actions', actions, 'the logits without their last axis',
                      behaviour_policy_logits.shape[:-1])
  return behaviour_policy_logits, target_policy_logits, actions


def _time_major(log_rhos, discounts, rewards, values, bootstrap_value):
  """The five inputs as tensors of log_rhos' dtype, checked: log_rhos,
  discounts, rewards and values ``[T, ...]`` of one shape, bootstrap_value
  ``[...]``. ValueError naming the first that does not fit."""
  log_rhos = tf.convert_to_tensor(log_rhos)
  dtype = log_rhos.dtype
  discounts = tf.convert_to_tensor(discounts, dtype=dtype)
  rewards = tf.convert_to_tensor(rewards, dtype=dtype)
  values = tf.convert_to_tensor(values, dtype=dtype)
  bootstrap_value = tf.convert_to_tensor(bootstrap_value, dtype=dtype)
  if log_rhos.shape.rank is not None and log_rhos.shape.rank < 1:
    raise ValueError(
        f'log_rhos must have a leading time axis [T, ...], got shape '
        f'{log_rhos.shape}')
  for arg_name, tensor in (('discounts', discounts), ('rewards', rewards),
                           ('values', values)):
    _check_compatible(arg_name, tensor, 'log_rhos', log_rhos.shape)
  _check_compatible('bootstrap_value', bootstrap_value,
                    'log_rhos without its time axis', log_rhos.shape[1:])
  return log_rhos, discounts, rewards, values, bootstrap_value


def _check_compatible(arg_name: str, tensor: tf.Tensor, reference_name: str,
                      reference_shape: tf.TensorShape) -> None:
  if not tensor.shape.is_compatible_with(reference_shape):
    raise ValueError(
        f'{arg_name} has shape {tensor.shape}, which does not match '
        f'{reference_name} {reference_shape}')

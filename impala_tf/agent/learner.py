"""The learner: one IMPALA update on a batch of trajectories (paper.md §3, §7).

``Learner.train_step`` unrolls the agent over a time-major batch of
trajectories, computes V-trace targets against the behaviour policy's logits,
sums the three losses over time and batch, and applies one TF1-style RMSProp
step with the learning rate annealed linearly to 0 over the total frames.

It runs under any `tf.distribute` strategy: each replica computes the
gradients of its share of the batch, the gradients are summed across replicas
(the loss is a sum, so the result equals one device's gradient on the whole
batch; one batched all-reduce, across hosts under
MultiWorkerMirroredStrategy), and the update is applied once in cross-replica
context.
"""

import math
from typing import Dict, Optional

import sonnet as snt
import tensorflow as tf
import tree

from impala_tf.agent import corrections
from impala_tf.agent import losses
from impala_tf.agent.hyperparameters import EVOLVABLE, LearnerHyperparameters
from impala_tf.agent.optimizer import RMSProp
from impala_tf.types import Trajectory

SUM = tf.distribute.ReduceOp.SUM


class Learner:
  """Owns the agent's variables, the optimiser and the counters.

  Args:
    agent: an `ImpalaAgent` (or any module with the same ``unroll``).
    hyperparameters: a `LearnerHyperparameters` (of a validated config).
    batch_spec: a `Trajectory` of `tf.TensorSpec`: the shape and dtype of one
      replica's batch, time-major ``[T+1, B, ...]`` (``agent_state`` and
      ``level_name`` are ``[B, ...]``). The agent is built from it.
    strategy: the `tf.distribute.Strategy`; the default strategy if None.
  """

  def __init__(self,
               agent: snt.Module,
               hyperparameters: LearnerHyperparameters,
               batch_spec: Trajectory,
               strategy: Optional[tf.distribute.Strategy] = None):
    self._hyperparameters = hyperparameters
    self._agent = agent
    self._strategy = strategy or tf.distribute.get_strategy()
    with self._strategy.scope():
      build_variables(agent, batch_spec)
      self._variables = agent.trainable_variables
      self.optimizer = RMSProp(
          self._variables,
          decay=hyperparameters.rmsprop_decay,
          momentum=hyperparameters.rmsprop_momentum,
          epsilon=hyperparameters.rmsprop_epsilon,
          style=hyperparameters.rmsprop_style)
      self.num_frames = tf.Variable(0, dtype=tf.int64, trainable=False,
                                    name='num_frames')
      self.num_updates = tf.Variable(0, dtype=tf.int64, trainable=False,
                                     name='num_updates')
      self.initial_learning_rate = tf.Variable(
          hyperparameters.learning_rate, dtype=tf.float32, trainable=False,
          name='initial_learning_rate')
      self.entropy_cost = tf.Variable(
          hyperparameters.entropy_cost, dtype=tf.float32, trainable=False,
          name='entropy_cost')
      clips = _clips(hyperparameters.max_grad_norm)
      self.max_grad_norm = tf.Variable(
          hyperparameters.max_grad_norm if clips else 0.0,
          dtype=tf.float32, trainable=False, name='max_grad_norm')
    self._evolvable = dict(zip(EVOLVABLE, (
        self.initial_learning_rate, self.entropy_cost, self.optimizer.epsilon,
        self.max_grad_norm)))
    self.checkpoint = tf.train.Checkpoint(
        **_policy_objects(agent, self.num_updates),
        optimizer=self.optimizer,
        num_frames=self.num_frames,
        initial_learning_rate=self.initial_learning_rate,
        entropy_cost=self.entropy_cost,
        max_grad_norm=self.max_grad_norm)
    self._weights = tf.train.Checkpoint(agent=agent, optimizer=self.optimizer)
    # With replay, round(replay_fraction · B) trajectories of each batch of B
    # were seen before (runtime.pipeline.make_dataset); frames count only the
    # others, so that the frame budget and the learning-rate schedule are in
    # environment frames with or without replay. (The very first batch, from
    # an empty buffer, is all fresh but counted the same.)
    batch_size = (batch_spec.level_name.shape[0] *
                  self._strategy.num_replicas_in_sync)
    fresh = batch_size - round(hyperparameters.replay_fraction * batch_size)
    self._fresh_share = fresh / batch_size
    self._train_step = tf.function(self._cross_replica_step)

  def hyperparameters(self, names) -> Dict[str, float]:
    """Current values of the evolvable hyperparameters ``names`` (config
    field names: learning_rate is the value before annealing)."""
    return {name: float(self._hyperparameter(name).numpy()) for name in names}

  def set_hyperparameters(self, values: Dict[str, float]) -> None:
    """Sets evolvable hyperparameters (population-based training)."""
    for name, value in values.items():
      if (name == 'max_grad_norm' and
          not _clips(self._hyperparameters.max_grad_norm)):
        raise ValueError('max_grad_norm cannot be evolved in a run without '
                         'gradient clipping (config.max_grad_norm=None)')
      self._hyperparameter(name).assign(value)

  def _hyperparameter(self, name: str) -> tf.Variable:
    if name not in self._evolvable:
      raise ValueError(f'{name!r} is not an evolvable hyperparameter; '
                       f'choose from {EVOLVABLE}')
    return self._evolvable[name]

  def save_weights(self, path: str) -> str:
    """Writes the agent's and the optimiser's variables to ``path`` (not the
    counters, nor the learning rate, entropy cost and clipping norm; the
    optimiser's ε comes with it, so a caller that copies weights sets its
    hyperparameters after loading); returns the checkpoint's path."""
    return self._weights.write(path)

  def load_weights(self, path: str) -> None:
    """Loads what `save_weights` wrote, e.g. another member's weights."""
    self._weights.read(path).assert_consumed()

  def learning_rate(self) -> tf.Tensor:
    """The learning rate of the next update: linear from the initial to 0."""
    fraction_done = tf.minimum(
        tf.cast(self.num_frames, tf.float64) /
        float(self._hyperparameters.total_environment_frames), 1.0)
    return self.initial_learning_rate * tf.cast(1.0 - fraction_done, tf.float32)

  def train_step(self, batch: Trajectory) -> Dict[str, tf.Tensor]:
    """One update.

    Args:
      batch: a `Trajectory` with leaves ``[T+1, B, ...]``; under a strategy
        with several replicas, a per-replica value (e.g. from a distributed
        dataset).

    Returns:
      Scalars: the losses (sums over the whole batch), the mean entropy, the
      mean importance weight ρ, the mean policy lag in updates, the gradient's
      global norm before clipping, the learning rate used, and the frame and
      update counters after the step.
    """
    return self._train_step(batch)

  def _cross_replica_step(self, batch: Trajectory) -> Dict[str, tf.Tensor]:
    # Summed across replicas inside the replica step (one batched all-reduce,
    # across hosts too), so every replica holds the same sums: take this
    # host's first copy.
    gradients, sums = tree.map_structure(
        lambda x: self._strategy.experimental_local_results(x)[0],
        self._strategy.run(self._replica_step, args=(batch,)))

    learning_rate = self.learning_rate()
    gradient_norm = tf.linalg.global_norm(gradients)
    if _clips(self._hyperparameters.max_grad_norm):
      gradients, _ = tf.clip_by_global_norm(
          gradients, self.max_grad_norm, use_norm=gradient_norm)
    self.optimizer.apply(gradients, learning_rate)
    num_steps = sums.pop('num_steps')
    self.num_frames.assign_add(tf.cast(
        tf.round(num_steps * self._fresh_share), tf.int64) *
                               self._hyperparameters.num_action_repeats)
    self.num_updates.assign_add(1)

    steps = tf.cast(num_steps, tf.float32)
    return dict(
        total_loss=sums['total_loss'],
        policy_gradient_loss=sums['policy_gradient_loss'],
        baseline_loss=sums['baseline_loss'],
        entropy_loss=sums['entropy_loss'],
        entropy=-sums['entropy_loss'] / steps,
        mean_rho=sums['rho'] / steps,
        policy_lag=sums['policy_lag'] / steps,
        gradient_norm=gradient_norm,
        learning_rate=learning_rate,
        num_frames=self.num_frames.read_value(),
        num_updates=self.num_updates.read_value(),
    )

  def _replica_step(self, batch: Trajectory):
    """Gradients and loss sums for this replica's share of the batch."""
    with tf.GradientTape() as tape:
      sums = self._loss_sums(batch)
    gradients = tape.gradient(sums['total_loss'], self._variables)
    gradients = [
        tf.zeros_like(v) if g is None else g
        for g, v in zip(gradients, self._variables)
    ]
    policy_lag = tf.cast(self.num_updates, tf.float32) - tf.cast(
        batch.policy_version[1:], tf.float32)
    sums['policy_lag'] = tf.reduce_sum(policy_lag)
    return tf.distribute.get_replica_context().all_reduce(
        SUM, (gradients, sums))

  def _loss_sums(self, batch: Trajectory) -> Dict[str, tf.Tensor]:
    """The losses of ``batch`` (``[T+1, B, ...]``), each a sum over time and
    batch, with the sum of the importance weights ρ and the number of
    steps."""
    hp = self._hyperparameters
    learner_outputs, _ = self._agent.unroll(
        batch.agent_outputs.action, batch.env_outputs, batch.agent_state)
    bootstrap_value = learner_outputs.baseline[-1]
    # Align: learner_outputs[t] reads env_outputs[t] and so decides the
    # action of agent_outputs[t + 1], which produced env_outputs[t + 1].
    learner_outputs = tree.map_structure(lambda t: t[:-1], learner_outputs)
    agent_outputs = tree.map_structure(lambda t: t[1:], batch.agent_outputs)
    rewards = losses.clip_rewards(
        tf.cast(batch.env_outputs.reward[1:], tf.float32), hp.reward_clipping)
    discounts = (1.0 - tf.cast(batch.env_outputs.done[1:], tf.float32)
                ) * hp.discounting

    returns = corrections.targets(
        hp.off_policy_correction,
        behaviour_policy_logits=agent_outputs.policy_logits,
        target_policy_logits=learner_outputs.policy_logits,
        actions=agent_outputs.action,
        discounts=discounts,
        rewards=rewards,
        values=learner_outputs.baseline,
        bootstrap_value=bootstrap_value,
        clip_rho_threshold=hp.clip_rho_threshold,
        clip_c_threshold=hp.clip_c_threshold,
        clip_pg_rho_threshold=hp.clip_pg_rho_threshold,
        lambda_=hp.vtrace_lambda)

    pg_loss = losses.policy_gradient_loss(
        learner_outputs.policy_logits, agent_outputs.action,
        returns.pg_advantages,
        epsilon=(corrections.EPSILON if hp.off_policy_correction ==
                 'epsilon_correction' else 0.0))
    baseline_loss = losses.baseline_loss(returns.vs - learner_outputs.baseline)
    entropy_loss = losses.entropy_loss(learner_outputs.policy_logits)
    return dict(
        total_loss=(pg_loss + hp.baseline_cost * baseline_loss +
                    self.entropy_cost * entropy_loss),
        policy_gradient_loss=pg_loss,
        baseline_loss=baseline_loss,
        entropy_loss=entropy_loss,
        rho=tf.reduce_sum(tf.exp(returns.log_rhos)),
        # float32: all-reduced with the rest on the compute devices (int32
        # tensors live on the host). Exact up to 2**24 steps per batch.
        num_steps=tf.cast(tf.size(rewards), tf.float32),
    )


def _clips(max_grad_norm: Optional[float]) -> bool:
  """None and inf both mean: no gradient clipping."""
  return max_grad_norm is not None and math.isfinite(max_grad_norm)


def _policy_objects(agent: snt.Module, num_updates: tf.Variable):
  """The entries of a learner's checkpoint that a policy is made of; the one
  place their keys are written."""
  return dict(agent=agent, num_updates=num_updates)


def restore_policy(agent: snt.Module, batch_spec: Trajectory,
                   path: str) -> tf.Variable:
  """Loads the agent's weights from the learner checkpoint ``path``.

  Builds the agent from ``batch_spec`` first, so that every one of its
  variables exists and must be found in the checkpoint: a checkpoint of a
  different network, or with renamed keys, raises ValueError instead of
  leaving untrained weights in place. Returns the checkpoint's update count
  (the policy's version) as an int64 variable.
  """
  build_variables(agent, batch_spec)
  version = tf.Variable(0, dtype=tf.int64, trainable=False)
  try:
    status = tf.train.Checkpoint(**_policy_objects(agent, version)).read(path)
    status.assert_existing_objects_matched()
  except (AssertionError, ValueError) as error:  # Missing; wrong shape.
    raise ValueError(f'checkpoint {path} does not hold every variable of '
                     f'this agent: {error}') from None
  status.expect_partial()  # The optimiser's slots and counters stay behind.
  return version


def build_variables(agent: snt.Module, batch_spec: Trajectory) -> None:
  """Creates the agent's variables by unrolling it once on zeros shaped like
  ``batch_spec`` (see `Learner`)."""
  example = tree.map_structure(lambda s: tf.zeros(s.shape, s.dtype),
                               batch_spec)
  agent.unroll(example.agent_outputs.action, example.env_outputs,
               example.agent_state)

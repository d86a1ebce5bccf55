"""The learner step: counters, schedule, statistics, strategies, learning."""

import dataclasses
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tree

from impala_tf import config as config_lib
from impala_tf.agent import networks
from impala_tf.agent.hyperparameters import LearnerHyperparameters
from impala_tf.agent.learner import Learner, restore_policy
from impala_tf.runtime.pipeline import trajectory_spec
from impala_tf.types import (AgentOutput, StepOutput, StepOutputInfo,
                             Trajectory)
from tests import distribute

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Chain:
  """A short chain: start at 0, action 1 moves right, 0 moves left.

  Reaching the right end pays 1 and ends the episode; so does running out of
  steps (paying 0). Observations are one-hot positions. The optimal return
  is 1; a uniformly random policy gets about 0.1.
  """

  def __init__(self, length=6, max_steps=8):
    self.length, self.max_steps = length, max_steps
    self.position, self.steps, self.episode_return = 0, 0, 0.0

  def observation(self):
    return np.eye(self.length, dtype=np.float32)[self.position]

  def step(self, action):
    """Returns (reward, done, observation, finished_return or None)."""
    self.position = max(0, self.position + (1 if action == 1 else -1))
    self.steps += 1
    reward = float(self.position == self.length - 1)
    self.episode_return += reward
    if reward or self.steps == self.max_steps:
      finished = self.episode_return
      self.position, self.steps, self.episode_return = 0, 0, 0.0
      return reward, True, self.observation(), finished
    return reward, False, self.observation(), None


class OnPolicyLoop:
  """Batched actors stepping the agent in-process, emitting [T+1, B] batches."""

  def __init__(self, agent, num_envs, unroll_length, learner):
    self.envs = [Chain() for _ in range(num_envs)]
    self.agent, self.learner = agent, learner
    self.unroll_length = unroll_length
    self.step_fn = tf.function(agent.__call__)
    self.env_output = StepOutput(
        reward=np.zeros(num_envs, np.float32),
        info=StepOutputInfo(np.zeros(num_envs, np.float32),
                            np.zeros(num_envs, np.int32)),
        done=np.ones(num_envs, bool),
        observation=np.stack([env.observation() for env in self.envs]))
    self.agent_output = AgentOutput(
        action=np.zeros(num_envs, np.int32),
        policy_logits=np.zeros((num_envs, agent.num_actions), np.float32),
        baseline=np.zeros(num_envs, np.float32))
    self.state = agent.initial_state(num_envs)
    self.version = 0
    self.returns = []

  def unroll(self):
    start_state = self.state
    env_outputs, agent_outputs = [self.env_output], [self.agent_output]
    for _ in range(self.unroll_length):
      output, self.state = self.step_fn(
          tf.constant(self.agent_output.action), self.env_output, self.state)
      self.agent_output = tree.map_structure(lambda t: t.numpy(), output)
      rewards, dones, observations = [], [], []
      for env, action in zip(self.envs, self.agent_output.action):
        reward, done, observation, finished = env.step(action)
        if finished is not None:
          self.returns.append(finished)
        rewards.append(reward)
        dones.append(done)
        observations.append(observation)
      self.env_output = StepOutput(
          reward=np.array(rewards, np.float32),
          info=self.env_output.info,
          done=np.array(dones),
          observation=np.stack(observations))
      env_outputs.append(self.env_output)
      agent_outputs.append(self.agent_output)
    stack = lambda *xs: np.stack(xs)
    num_envs = len(self.envs)
    return Trajectory(
        level_name=np.array(['chain'] * num_envs),
        agent_state=start_state,
        env_outputs=tree.map_structure(stack, *env_outputs),
        agent_outputs=tree.map_structure(stack, *agent_outputs),
        policy_version=np.full((self.unroll_length + 1, num_envs),
                               self.version, np.int64))


def chain_learner(unroll_length=10, batch_size=16, **overrides):
  config = config_lib.learner_config()
  config.update(dict(num_action_repeats=1, total_environment_frames=int(1e6),
                     learning_rate=2e-3, rmsprop_epsilon=0.01,
                     entropy_cost=0.01, discounting=0.9))
  config.update(overrides)
  agent = networks.ImpalaAgent(2, torso='mlp', use_lstm=True)
  spec = trajectory_spec(tf.TensorSpec([6], tf.float32), agent.state_spec(), 2,
                         unroll_length, batch_size)
  config_lib.validate_learner_config(config)
  return agent, Learner(agent, LearnerHyperparameters.from_config(config),
                        spec)


def test_on_policy_learning_solves_the_chain():
  agent, learner = chain_learner()
  loop = OnPolicyLoop(agent, num_envs=16, unroll_length=10, learner=learner)
  first_returns = None
  for update in range(400):
    batch = loop.unroll()
    stats = learner.train_step(batch)
    loop.version = int(stats['num_updates'])
    if first_returns is None and len(loop.returns) >= 50:
      first_returns = np.mean(loop.returns[:50])
    if len(loop.returns) >= 200 and np.mean(loop.returns[-100:]) >= 0.95:
      break
  final = np.mean(loop.returns[-100:])
  assert first_returns < 0.5, first_returns
  print(f"chain solved after {update + 1} updates; first {first_returns:.2f}, final {final:.2f}")
  assert final >= 0.95, (update, final)
  # On-policy data: the importance weights stay near 1, the lag at 0.
  assert abs(float(stats['mean_rho']) - 1.0) < 0.05
  assert float(stats['policy_lag']) == 0.0


def test_counters_and_linear_learning_rate_schedule():
  agent, learner = chain_learner(unroll_length=5, batch_size=4,
                                 num_action_repeats=4,
                                 total_environment_frames=800,
                                 learning_rate=0.01)
  loop = OnPolicyLoop(agent, num_envs=4, unroll_length=5, learner=learner)
  rates = []
  for _ in range(12):
    stats = learner.train_step(loop.unroll())
    rates.append(float(stats['learning_rate']))
  # 5 × 4 × 4 = 80 frames per update; the rate of an update uses the frames
  # before it, reaching 0 at 800 frames and staying there.
  np.testing.assert_allclose(rates, [0.01 * max(0.0, 1 - 80 * i / 800)
                                     for i in range(12)], rtol=1e-6, atol=1e-9)
  assert int(stats['num_frames']) == 12 * 80
  assert int(stats['num_updates']) == 12


def test_replayed_steps_are_not_counted_as_new_frames():
  # Half of each batch of 4 is replayed (pipeline.make_dataset): 2 × 5 × 4 = 40
  # new frames an update, so the schedule runs over environment frames.
  agent, learner = chain_learner(unroll_length=5, batch_size=4,
                                 num_action_repeats=4,
                                 total_environment_frames=800,
                                 learning_rate=0.01, replay_fraction=0.5)
  loop = OnPolicyLoop(agent, num_envs=4, unroll_length=5, learner=learner)
  rates = [float(learner.train_step(loop.unroll())['learning_rate'])
           for _ in range(3)]
  np.testing.assert_allclose(rates, [0.01, 0.0095, 0.009], rtol=1e-6)
  assert int(learner.num_frames.numpy()) == 3 * 40


def test_zero_learning_rate_leaves_parameters_unchanged():
  agent, learner = chain_learner(unroll_length=5, batch_size=4,
                                 num_action_repeats=1,
                                 total_environment_frames=20)
  loop = OnPolicyLoop(agent, num_envs=4, unroll_length=5, learner=learner)
  learner.train_step(loop.unroll())  # Uses up all 20 frames.
  before = [v.numpy() for v in agent.trainable_variables]
  learner.train_step(loop.unroll())
  for b, v in zip(before, agent.trainable_variables):
    np.testing.assert_array_equal(b, v.numpy())


def test_statistics_and_policy_lag():
  agent, learner = chain_learner(unroll_length=5, batch_size=4)
  loop = OnPolicyLoop(agent, num_envs=4, unroll_length=5, learner=learner)
  for _ in range(3):
    batch = loop.unroll()
    stats = learner.train_step(batch)
  # Behaviour version 0 for every step, learner at update 2 when it computed:
  assert float(stats['policy_lag']) == pytest.approx(2.0)
  total = (stats['policy_gradient_loss'] + 0.5 * stats['baseline_loss'] +
           0.01 * stats['entropy_loss'])
  np.testing.assert_allclose(stats['total_loss'], total, rtol=1e-5)
  assert 0.0 < float(stats['entropy']) <= np.log(2) + 1e-6
  assert float(stats['gradient_norm']) > 0


def test_gradient_clipping_bounds_the_update():
  # With ms ≈ 1 at the first step, RMSProp moves each parameter by about
  # lr · g; clipping the global norm to a tiny value shrinks the update.
  sizes = {}
  for max_grad_norm in (None, 1e-3):
    tf.random.set_seed(0)
    agent, learner = chain_learner(unroll_length=5, batch_size=4,
                                   max_grad_norm=max_grad_norm)
    loop = OnPolicyLoop(agent, num_envs=4, unroll_length=5, learner=learner)
    batch = loop.unroll()
    before = [v.numpy() for v in agent.trainable_variables]
    stats = learner.train_step(batch)
    sizes[max_grad_norm] = np.sqrt(sum(
        np.sum((b - v.numpy())**2)
        for b, v in zip(before, agent.trainable_variables)))
    assert float(stats['gradient_norm']) > 1e-3
  lr = 2e-3
  assert sizes[1e-3] <= lr * 1e-3 * 1.01
  assert sizes[None] > 10 * sizes[1e-3]


@pytest.mark.parametrize('field,value', [
    ('learning_rate', -1.0),
    ('reward_clipping', 'sometimes'),
    ('clip_c_threshold', 0.0),
    ('discounting', 1.5),
    ('max_grad_norm', -40.0),
    ('num_action_repeats', 0),
    ('off_policy_correction', 'retrace'),
    ('rmsprop_style', 'keras'),
])
def test_bad_config_values_are_named_before_anything_is_built(field, value):
  config = config_lib.learner_config()
  config[field] = value
  with pytest.raises(ValueError, match=f'config.{field}='):
    config_lib.validate_learner_config(config)


@pytest.mark.parametrize('field,value,message', [
    ('stop_at_frames', 0, 'a positive integer, or None'),
    ('fire_reset', True, "False unless config.env='atari'"),
])
def test_bad_run_config_values_are_named(field, value, message):
  config = config_lib.base_config()  # Catch.
  config[field] = value
  with pytest.raises(ValueError, match=f'config.{field}={value!r}: must be '
                     f'{message}'):
    config_lib.validate_config(config)


def test_none_thresholds_are_valid():
  config = config_lib.learner_config()
  config.clip_rho_threshold = None
  config.clip_c_threshold = float('inf')  # The command line's None.
  config.max_grad_norm = 40.0
  config_lib.validate_learner_config(config)
  config.clip_c_threshold = float('nan')
  with pytest.raises(ValueError, match='config.clip_c_threshold=nan'):
    config_lib.validate_learner_config(config)


def test_infinite_gradient_norm_means_no_clipping():
  updates = {}
  for max_grad_norm in (None, float('inf')):
    tf.random.set_seed(0)
    agent, learner = chain_learner(unroll_length=5, batch_size=4,
                                   max_grad_norm=max_grad_norm)
    loop = OnPolicyLoop(agent, num_envs=4, unroll_length=5, learner=learner)
    stats = learner.train_step(loop.unroll())
    assert np.isfinite(stats['total_loss'])
    updates[max_grad_norm] = [v.numpy() for v in agent.trainable_variables]
  for with_none, with_inf in zip(updates[None], updates[float('inf')]):
    np.testing.assert_allclose(with_inf, with_none, rtol=1e-6)


def test_mirrored_strategy_over_two_devices_gives_the_same_update():
  unroll_length, batch_size = 5, 8
  agent, learner = chain_learner(unroll_length, batch_size)
  loop = OnPolicyLoop(agent, num_envs=batch_size, unroll_length=unroll_length,
                      learner=learner)
  batch = loop.unroll()

  strategy = tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1'])
  mirrored_agent = networks.ImpalaAgent(2, torso='mlp', use_lstm=True)
  half = batch_size // 2
  spec = trajectory_spec(tf.TensorSpec([6], tf.float32),
                         mirrored_agent.state_spec(), 2, unroll_length, half)
  mirrored = Learner(mirrored_agent, learner._hyperparameters, spec,
                     strategy=strategy)
  for source, target in zip(agent.trainable_variables,
                            mirrored_agent.trainable_variables):
    target.assign(source)

  distributed = distribute.distribute_batch(strategy, batch)
  for _ in range(2):  # Two updates: the optimiser state must agree too.
    single_stats = learner.train_step(batch)
    mirrored_stats = mirrored.train_step(distributed)
  assert strategy.num_replicas_in_sync == 2
  for key in ('total_loss', 'entropy', 'mean_rho', 'gradient_norm',
              'num_frames'):
    np.testing.assert_allclose(mirrored_stats[key], single_stats[key],
                               rtol=1e-4, err_msg=key)
  for single, replicated in zip(agent.trainable_variables,
                                mirrored_agent.trainable_variables):
    for device_value in strategy.experimental_local_results(replicated):
      np.testing.assert_allclose(device_value, single, rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_multi_worker_mirrored_strategy_gives_the_same_update(tmp_path):
  """Two worker processes on 127.0.0.1, each with half of the batch, end
  with the weights of one learner trained on the whole batch."""
  unroll_length, batch_size = 5, 8
  agent, learner = chain_learner(unroll_length, batch_size)
  loop = OnPolicyLoop(agent, num_envs=batch_size, unroll_length=unroll_length,
                      learner=learner)
  batch = loop.unroll()
  inputs = str(tmp_path / 'inputs.npz')
  np.savez(inputs,
           config=json.dumps(dataclasses.asdict(learner._hyperparameters)),
           unroll_length=unroll_length, batch_size=batch_size,
           **{f'weight_{i}': v.numpy()
              for i, v in enumerate(agent.trainable_variables)},
           **{f'batch_{i}': x for i, x in enumerate(tree.flatten(batch))})
  ports = ','.join(str(free_port()) for _ in range(2))
  environment = dict(os.environ, PYTHONPATH=os.pathsep.join(
      p for p in (REPO, os.environ.get('PYTHONPATH')) if p))
  workers = [
      subprocess.Popen([sys.executable, os.path.join(REPO, 'tests',
                                                     'multi_worker_learner.py'),
                        str(i), ports, inputs, str(tmp_path / f'out_{i}.npz')],
                       env=environment)
      for i in range(2)]
  try:
    assert [w.wait(timeout=300) for w in workers] == [0, 0]
  finally:
    for worker in workers:
      worker.kill()

  for _ in range(2):
    single_stats = learner.train_step(batch)
  for i in range(2):
    out = np.load(tmp_path / f'out_{i}.npz')
    np.testing.assert_allclose(out['total_loss'], single_stats['total_loss'],
                               rtol=1e-4)
    for j, single in enumerate(agent.trainable_variables):
      np.testing.assert_allclose(out[f'weight_{j}'], single, rtol=1e-4,
                                 atol=1e-6)


def free_port():
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def test_restore_policy_loads_every_weight_of_a_learner_checkpoint(tmp_path):
  agent, learner = chain_learner()
  learner.num_updates.assign(7)
  path = learner.checkpoint.write(str(tmp_path / 'ckpt'))
  fresh, spec = _chain_policy_and_spec()
  version = restore_policy(fresh, spec, path)
  assert int(version.numpy()) == 7
  assert len(fresh.variables) == len(agent.variables) > 0
  for restored, saved in zip(fresh.variables, agent.variables):
    np.testing.assert_array_equal(restored.numpy(), saved.numpy())


def _chain_policy_and_spec(use_lstm=True):
  agent = networks.ImpalaAgent(2, torso='mlp', use_lstm=use_lstm)
  spec = trajectory_spec(tf.TensorSpec([6], tf.float32), agent.state_spec(), 2,
                         unroll_length=0, batch_size=1)
  return agent, spec


def test_restore_policy_rejects_a_checkpoint_with_other_keys(tmp_path):
  agent, _ = chain_learner()
  # The agent saved under another key: none of it would be restored.
  path = tf.train.Checkpoint(model=agent).write(str(tmp_path / 'ckpt'))
  with pytest.raises(ValueError, match='does not hold every variable'):
    restore_policy(*_chain_policy_and_spec(), path)


def test_restore_policy_rejects_a_checkpoint_of_another_network(tmp_path):
  # A learner without the LSTM: the core's weights are missing.
  without_lstm, _ = _chain_policy_and_spec(use_lstm=False)
  config = config_lib.learner_config()
  other = Learner(without_lstm, LearnerHyperparameters.from_config(config),
                  trajectory_spec(
      tf.TensorSpec([6], tf.float32), without_lstm.state_spec(), 2, 10, 16))
  path = other.checkpoint.write(str(tmp_path / 'ckpt'))
  with pytest.raises(ValueError, match='does not hold every variable'):
    restore_policy(*_chain_policy_and_spec(use_lstm=True), path)

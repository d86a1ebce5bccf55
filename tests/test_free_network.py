"""benchmarks/free_network.py: the stand-in network that bounds the runtime
from above has the configured agent's inputs, outputs and state, and the
learner trains it."""

import os

import numpy as np
import tensorflow as tf
import tree

from benchmarks import free_network
from impala_tf import config as config_lib
from impala_tf.agent.hyperparameters import LearnerHyperparameters
from impala_tf.agent.learner import Learner
from impala_tf.runtime import agents
from impala_tf.runtime.pipeline import trajectory_spec
from impala_tf.types import StepOutput, StepOutputInfo

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def memory_config():
  """A small recurrent agent: the state must pass through."""
  return config_lib.load_config_file(
      os.path.join(REPO, 'paper_configs', 'memory.py'))


def test_the_free_agent_answers_like_the_real_one():
  config = memory_config()
  spec = agents.environment_spec(config)
  real = agents.make_agent(config, spec)
  free = free_network.make_free_agent(config, spec)
  described = lambda spec: tree.map_structure(lambda s: (s.shape, s.dtype),
                                              spec)
  assert described(free.state_spec()) == described(real.state_spec())
  batch = 3
  observation = tf.zeros([batch, *spec.observation.shape],
                         spec.observation.dtype)
  env_output = StepOutput(
      reward=tf.zeros([batch]), info=StepOutputInfo((), ()),
      done=tf.zeros([batch], tf.bool), observation=observation)
  prev_action = tf.zeros([batch], tf.int32)
  real_out, real_state = real(prev_action, env_output,
                              real.initial_state(batch))
  state = free.initial_state(batch)
  free_out, free_state = free(prev_action, env_output, state)
  for a, b in zip(tree.flatten(real_out), tree.flatten(free_out)):
    assert a.shape == b.shape and a.dtype == b.dtype
  # Its core state passes through, shaped as the real agent's.
  tree.map_structure(np.testing.assert_array_equal, free_state, state)
  tree.assert_same_structure(real_state, free_state)
  assert set(free_out.action.numpy()) <= set(range(spec.num_actions))


def test_the_learner_trains_the_free_agent():
  config = memory_config()
  spec = agents.environment_spec(config)
  free = free_network.make_free_agent(config, spec)
  batch_spec = trajectory_spec(spec.observation, free.state_spec(),
                               spec.num_actions, 5, 4)
  learner = Learner(free, LearnerHyperparameters.from_config(config),
                    batch_spec)
  rng = np.random.default_rng(0)
  batch = tree.map_structure(
      lambda s: tf.constant(rng.integers(0, spec.num_actions, s.shape)
                            .astype(s.dtype.as_numpy_dtype))
      if s.dtype.is_integer else
      (tf.constant(np.full(s.shape, b'memory')) if s.dtype == tf.string
       else tf.zeros(s.shape, s.dtype)), batch_spec)
  batch = batch._replace(env_outputs=batch.env_outputs._replace(
      reward=tf.ones_like(batch.env_outputs.reward)))
  before = [v.numpy() for v in free.trainable_variables]
  stats = learner.train_step(batch)
  assert int(stats['num_updates']) == 1
  assert np.isfinite(float(stats['total_loss']))
  # Two variables, both moved by the update (rewards of 1 raise the
  # baseline).
  assert len(before) == 2
  assert all(not np.allclose(b, v.numpy())
             for b, v in zip(before, free.trainable_variables))

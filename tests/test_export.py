"""The exported SavedModel policy: loads with TensorFlow alone and gives the
checkpoint's outputs; bad exports fail in one line and leave nothing."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from impala_tf import config as config_lib
from impala_tf import envs
from impala_tf.agent.learner import restore_policy
from impala_tf.results import rundir
from impala_tf.runtime import agents
from impala_tf.runtime import policy_export
from impala_tf.runtime import training
from impala_tf.runtime.checkpoints import RunCheckpoints
from impala_tf.types import StepOutput

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs the exported policy over a sequence in a fresh interpreter that
# imports TensorFlow and numpy only: argv = SavedModel, inputs .npz, out .npz.
PLAY_SEQUENCE = '''
import sys
import numpy as np
import tensorflow as tf
policy = tf.saved_model.load(sys.argv[1])
steps = np.load(sys.argv[2])
state = policy.initial_state(steps['reward'].shape[1])
logits, baselines = [], []
for t in range(steps['reward'].shape[0]):
  inputs = {k: tf.constant(steps[k][t]) for k in
            ('observation', 'reward', 'done', 'prev_action')}
  outputs, state = policy.step(inputs, state)
  logits.append(outputs['policy_logits'].numpy())
  baselines.append(outputs['baseline'].numpy())
assert not [m for m in sys.modules if m.startswith('impala_tf')]
np.savez(sys.argv[3], policy_logits=np.stack(logits),
         baseline=np.stack(baselines))
'''


def catch_config(use_lstm: bool):
  """Catch for a few updates: a checkpoint to export, not a trained agent."""
  config = config_lib.load_config_file(
      os.path.join(REPO, 'paper_configs', 'catch.py'))
  config.update(dict(use_lstm=use_lstm, total_environment_frames=4_000,
                     num_actors=1, envs_per_actor=2))
  return config


@pytest.fixture(scope='module', params=[False, True], ids=['ff', 'lstm'])
def trained_run(request, tmp_path_factory):
  """A short Catch run with checkpoints, feed-forward and LSTM."""
  logdir = str(tmp_path_factory.mktemp('run'))
  training.train(catch_config(request.param), logdir)
  return logdir


def checkpoint_outputs(logdir, steps):
  """The checkpoint's own agent stepped over ``steps`` ([T, n] leaves),
  its state carried: (logits [T, n, A], baselines [T, n])."""
  config = rundir.read_config(logdir)
  spec = agents.environment_spec(config)
  agent = agents.make_agent(config, spec)
  restore_policy(agent, agents.single_step_spec(agent, spec),
                 RunCheckpoints(logdir).kept()[0])
  state = agent.initial_state(steps['reward'].shape[1])
  logits, baselines = [], []
  for t in range(steps['reward'].shape[0]):
    output, state = agent(
        tf.constant(steps['prev_action'][t]),
        StepOutput(reward=tf.constant(steps['reward'][t]), info=(),
                   done=tf.constant(steps['done'][t]),
                   observation=tf.constant(steps['observation'][t])),
        state)
    logits.append(output.policy_logits.numpy())
    baselines.append(output.baseline.numpy())
  return np.stack(logits), np.stack(baselines)


def test_the_saved_model_alone_gives_the_checkpoints_outputs(trained_run,
                                                            tmp_path):
  """Eight steps of three games, a ``done`` in the middle of one, in an
  interpreter without this package: logits and baseline equal the
  checkpoint's to 1e-5, the state carried and reset where the agent's
  own call resets it."""
  output = str(tmp_path / 'policy')
  policy_export.export_policy(trained_run, output)
  rng = np.random.default_rng(0)
  done = np.zeros((8, 3), bool)
  done[0] = True
  done[4, 1] = True
  steps = dict(observation=rng.integers(0, 2, (8, 3, 10, 5, 1), np.uint8),
               reward=rng.normal(size=(8, 3)).astype(np.float32),
               done=done,
               prev_action=rng.integers(0, 3, (8, 3)).astype(np.int32))
  np.savez(tmp_path / 'steps.npz', **steps)
  environment = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
  result = subprocess.run(
      [sys.executable, '-c', PLAY_SEQUENCE, output,
       str(tmp_path / 'steps.npz'), str(tmp_path / 'out.npz')],
      cwd=str(tmp_path), env=environment, capture_output=True, text=True,
      timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  exported = np.load(tmp_path / 'out.npz')
  logits, baselines = checkpoint_outputs(trained_run, steps)
  np.testing.assert_allclose(exported['policy_logits'], logits,
                             rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(exported['baseline'], baselines,
                             rtol=1e-5, atol=1e-5)
  loaded = tf.saved_model.load(output)
  assert json.loads(loaded.config_json.numpy())['env'] == 'catch'
  assert loaded.action_set.numpy().tolist() == [b'0', b'1', b'2']


def test_bad_exports_fail_in_one_line_and_leave_nothing(trained_run,
                                                       tmp_path):
  no_checkpoint = tmp_path / 'empty_run'
  no_checkpoint.mkdir()
  with open(no_checkpoint / rundir.CONFIG_FILE, 'w') as f:
    f.write(catch_config(False).to_json_best_effort())
  taken = tmp_path / 'taken'
  taken.mkdir()
  cases = [(str(no_checkpoint), str(tmp_path / 'a'), 'no checkpoint in'),
           (str(tmp_path / 'missing'), str(tmp_path / 'b'),
            'is not a directory'),
           (trained_run, str(taken), 'exists')]
  for logdir, output, message in cases:
    result = subprocess.run(
        [sys.executable, '-m', 'impala_tf.export', f'--logdir={logdir}',
         f'--output={output}'], cwd=REPO, capture_output=True, text=True,
        timeout=300)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('error: ') and message in last, last
  # Nothing half-written: only what the test made itself.
  assert sorted(os.listdir(tmp_path)) == ['empty_run', 'taken']
  assert os.listdir(taken) == []


@pytest.mark.slow
def test_an_exported_catch_policy_plays_as_well_as_its_checkpoint(tmp_path):
  """Trained here to the config's end: the exported policy, playing Catch
  by itself, reaches the return that evaluating the checkpoint reaches."""
  from impala_tf import evaluate  # pylint: disable=g-import-not-at-top
  logdir = str(tmp_path / 'run')
  training.train(config_lib.load_config_file(  # As the README trains it.
      os.path.join(REPO, 'paper_configs', 'catch.py')), logdir)
  checkpoint_return = evaluate.evaluate(
      logdir, episodes_per_level=100)['levels']['catch']['mean_return']
  output = str(tmp_path / 'policy')
  policy_export.export_policy(logdir, output)
  policy = tf.saved_model.load(output)
  env = envs.make('catch', 'catch', False)
  returns = []
  for episode in range(100):
    observation, _ = env.reset(seed=episode)
    state = policy.initial_state(1)
    inputs = dict(reward=[0.0], done=[True], prev_action=[0])
    total, finished = 0.0, False
    while not finished:
      outputs, state = policy.step(dict(
          observation=observation[None], reward=tf.constant(
              inputs['reward'], tf.float32), done=tf.constant(inputs['done']),
          prev_action=tf.constant(inputs['prev_action'], tf.int32)), state)
      action = int(outputs['action'][0])
      observation, reward, terminated, truncated, _ = env.step(action)
      total += reward
      finished = terminated or truncated
      inputs = dict(reward=[reward], done=[False], prev_action=[action])
    returns.append(total)
  env.close()
  assert checkpoint_return >= 0.8  # It learned.
  assert np.mean(returns) >= checkpoint_return - 0.15


def readme_snippet() -> str:
  """The README's Python snippet that plays Pong with an exported policy."""
  with open(os.path.join(REPO, 'README.md')) as f:
    text = f.read()
  after = text.split('<!-- export-snippet -->', 1)[1]
  return after.split('```python\n', 1)[1].split('```', 1)[0]


@pytest.mark.slow
def test_the_readme_plays_pong_with_an_exported_policy(tmp_path):
  """A Pong agent trained for a moment, exported, and played for a whole
  game by the README's snippet (at most 20 lines) in an interpreter with
  TensorFlow and gymnasium only."""
  snippet = readme_snippet()
  assert len(snippet.strip().splitlines()) <= 20
  config = config_lib.load_config_file(
      os.path.join(REPO, 'paper_configs', 'atari_expert_shallow.py'), 'pong')
  config.update(dict(num_actors=1, envs_per_actor=2, batch_size=2,
                     total_environment_frames=400))
  logdir = str(tmp_path / 'run')
  training.train(config, logdir)
  output = str(tmp_path / 'pong')
  policy_export.export_policy(logdir, output)
  script = snippet.replace("'exported/pong'", repr(output)) + (
      "\nimport sys\n"
      "assert not [m for m in sys.modules if m.startswith('impala_tf')]\n")
  result = subprocess.run([sys.executable, '-c', script], cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=900)
  assert result.returncode == 0, result.stderr[-3000:]
  game_return = float(result.stdout.split()[-1])
  assert -21 <= game_return <= 21 and game_return == int(game_return)

"""Importing impala_tf turns on TensorFlow's oneDNN kernels and, on a
machine without a GPU, quiets TensorFlow's log (its __init__.py). TensorFlow
reads both flags once, when it is imported, so each case runs in a fresh
interpreter."""

import json
import os
import subprocess
import sys

import pytest

import impala_tf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The package's warning (TensorFlow's own log also names oneDNN).
WARNING = 'imported before impala_tf, without its oneDNN kernels'

# Prints whether TensorFlow runs oneDNN's kernels (its own answer: it has
# no public one).
_REPORT = '''
import json
from tensorflow.python.util import _pywrap_util_port
print(json.dumps(dict(onednn=bool(_pywrap_util_port.IsMklEnabled()))))
'''


def run_python(imports, **environment):
  """Runs ``imports`` then the report; (report, stderr)."""
  env = {k: v for k, v in os.environ.items() if k != 'TF_ENABLE_ONEDNN_OPTS'}
  env.update(environment, TF_CPP_MIN_LOG_LEVEL='2')
  result = subprocess.run([sys.executable, '-c', imports + _REPORT], cwd=REPO,
                          env=env, capture_output=True, text=True,
                          timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def test_importing_the_package_first_turns_on_onednn():
  report, stderr = run_python('import impala_tf\nimport tensorflow\n')
  assert report['onednn'] is True
  assert WARNING not in stderr


def test_a_users_setting_wins():
  report, stderr = run_python('import impala_tf\nimport tensorflow\n',
                              TF_ENABLE_ONEDNN_OPTS='0')
  assert report['onednn'] is False
  assert WARNING not in stderr  # Asked for: no warning.


def test_importing_tensorflow_first_warns_where_onednn_is_off():
  report, stderr = run_python('import tensorflow\nimport impala_tf\n')
  # On CPUs where TensorFlow turns oneDNN on by itself (AVX-512 VNNI) there
  # is nothing to warn about; elsewhere the program runs without it and the
  # warning must say so.
  warned = WARNING in stderr
  assert warned == (not report['onednn']), stderr[-2000:]


_LOG_REPORT = '''
import json, os
import impala_tf
import tensorflow as tf
tf.config.list_physical_devices()
print(json.dumps(dict(level=os.environ.get('TF_CPP_MIN_LOG_LEVEL'))))
'''


def run_log_report(**environment):
  """Imports the package, then TensorFlow, and asks for the devices (where
  TensorFlow calls cuInit); (the log level in force, TF's error lines)."""
  env = {k: v for k, v in os.environ.items() if k != 'TF_CPP_MIN_LOG_LEVEL'}
  env.update(environment)
  result = subprocess.run([sys.executable, '-c', _LOG_REPORT], cwd=REPO,
                          env=env, capture_output=True, text=True,
                          timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  errors = [line for line in result.stderr.splitlines()
            if line.startswith('E0000')]
  return json.loads(result.stdout.strip().splitlines()[-1])['level'], errors


@pytest.mark.skipif(impala_tf._has_gpu_device(),  # pylint: disable=protected-access
                    reason='this machine has a GPU: cuInit succeeds')
def test_a_start_without_a_gpu_logs_no_cuda_error():
  level, errors = run_log_report()
  assert level == '3'
  assert errors == []
  # A user who asks for TensorFlow's whole log gets it, cuInit's error too.
  level, errors = run_log_report(TF_CPP_MIN_LOG_LEVEL='0')
  assert level == '0'
  assert len(errors) >= 1

"""Importing impala_tf turns on TensorFlow's oneDNN kernels (its
__init__.py). TensorFlow reads the flag once, when it is imported, so each
case runs in a fresh interpreter."""

import json
import os
import subprocess
import sys

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

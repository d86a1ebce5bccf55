"""Train an IMPALA agent on this machine.

  python -m impala_tf.train --config=paper_configs/atari_expert_shallow.py:pong \
      --logdir=runs/pong [--config.learning_rate=3e-4 ...]

Running it again with the same --logdir resumes from the last checkpoint,
with the checkpoint's learning rate, entropy cost, RMSProp epsilon and
gradient-clipping norm (flags that change them are ignored, with a warning).
Ctrl-C (or SIGTERM) checkpoints and stops.
"""

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from impala_tf import cli
from impala_tf import config as config_lib
from impala_tf.runtime import training

_CONFIG = config_flags.DEFINE_config_file(
    'config', None, 'A config file from paper_configs/ (file.py[:argument]).',
    lock_config=True)
_LOGDIR = flags.DEFINE_string('logdir', None, 'The run directory.')
flags.mark_flags_as_required(['config', 'logdir'])


def main(argv):
  with cli.reading_input():  # Everything is checked before anything starts.
    if len(argv) > 1:
      raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
    config = cli.config_value(_CONFIG)
    config_lib.validate_config(config)
    trainer = training.Trainer(config, _LOGDIR.value)
  stats = trainer.run()
  logging.info('stopped at %s frames, %s updates',
               stats.get('num_frames'), stats.get('num_updates'))


if __name__ == '__main__':
  cli.run(main)

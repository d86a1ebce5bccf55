"""The command line of `runtime.policy_export`: a run's policy as a
SavedModel that loads with TensorFlow alone.

  python -m impala_tf.export --logdir=runs/pong --output=exported/pong

Then, in any Python with TensorFlow:

  policy = tf.saved_model.load('exported/pong')
  state = policy.initial_state(1)
  outputs, state = policy.step(dict(observation=..., reward=..., done=...,
                                    prev_action=...), state)
"""

from absl import app
from absl import flags

from impala_tf import cli
from impala_tf.runtime import policy_export


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  args = flags.FLAGS
  with cli.reading_input():  # It checks its input before any work.
    checkpoint = policy_export.export_policy(args.logdir, args.output)
  print(f'{args.output}: the policy of {checkpoint}')


if __name__ == '__main__':
  # Flags live here, not at import: library modules must not claim names.
  flags.DEFINE_string('logdir', None, 'The run directory to export.')
  flags.DEFINE_string('output', None, 'Where to write the SavedModel (a new '
                      'directory).')
  flags.mark_flags_as_required(['logdir', 'output'])
  cli.run(main)

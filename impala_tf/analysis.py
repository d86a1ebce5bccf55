"""The command line of `results.analysis`: plot runs' learning curves.

  python -m impala_tf.analysis --runs=runs/pong --output=pong.png
"""

from absl import app
from absl import flags

from impala_tf import cli
from impala_tf.results.analysis import plot_learning_curves


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  args = flags.FLAGS
  if not args.runs:
    raise app.UsageError('Give --runs=dir1,dir2,...')
  plot_learning_curves(args.runs, args.output, args.window)
  print(f'wrote {args.output}')


if __name__ == '__main__':
  # Flags live here, not at import: library modules must not claim names.
  flags.DEFINE_list('runs', [], 'Run directories to plot.')
  flags.DEFINE_string('output', 'learning_curves.png', 'PNG to write.')
  flags.DEFINE_integer('window', 50, 'Episodes in the running mean.')
  cli.run(main, only_reads_input=True)

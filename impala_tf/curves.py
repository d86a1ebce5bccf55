"""The command line of `results.curves`: export a run's learning curve as
CSV, export a sweep's, plot curves, print milestones.

  python -m impala_tf.curves export|export_tree|export_evaluations|plot|\
      milestones [flags]

See `impala_tf.results.curves` for what each writes.
"""

from absl import app
from absl import flags
import numpy as np

from impala_tf import cli
from impala_tf.results.curves import (REFERENCES, export,
                                      export_evaluations, export_tree,
                                      milestones, plot)


def _format_frames(value: float) -> str:
  return '—' if np.isnan(value) else f'{value / 1e6:.1f} M'


def main(argv):
  if len(argv) != 2 or argv[1] not in ('export', 'export_tree',
                                        'export_evaluations', 'plot',
                                        'milestones'):
    raise app.UsageError('usage: python -m impala_tf.curves export|'
                         'export_tree|export_evaluations|plot|milestones '
                         '[flags]')
  args = flags.FLAGS
  command = argv[1]
  if command == 'export':
    if not args.logdir or not args.output:
      raise app.UsageError('export needs --logdir and --output')
    curve = export(args.logdir, args.output, args.window, args.level)
    print(f'wrote {args.output}: {len(curve)} rows')
    return
  if command == 'export_evaluations':
    if not args.logdir or not args.output:
      raise app.UsageError('export_evaluations needs --logdir and --output')
    curve = export_evaluations(args.logdir, args.output)
    print(f'wrote {args.output}: {len(curve)} rows')
    return
  if command == 'export_tree':
    if not args.logdir or not args.output:
      raise app.UsageError('export_tree needs --logdir and --output')
    written = export_tree(args.logdir, args.output, args.window)
    print(f'wrote {len(written)} curves under {args.output}')
    return
  if not args.curves:
    raise app.UsageError(f'{command} needs --curves=a.csv,b.csv,...')
  if command == 'plot':
    if not args.output:
      raise app.UsageError('plot needs --output')
    plot(args.curves, args.output, args.reference)
    print(f'wrote {args.output}')
    return
  table = milestones(args.curves, [float(t) for t in args.thresholds])
  for column in table.columns:
    if column.startswith('frames'):
      table[column] = table[column].map(_format_frames)
  print(table.to_markdown(index=False, floatfmt='+.1f'))


if __name__ == '__main__':
  # Flags live here, not at import: library modules must not claim names.
  flags.DEFINE_string('logdir', None, 'export, export_evaluations: the run '
                      'directory; export_tree: the directory of sweep runs.')
  flags.DEFINE_string('output', None, 'export, export_evaluations: the CSV; '
                      'export_tree: the directory of CSVs; plot: the PNG.')
  flags.DEFINE_integer('window', 50, 'export: episodes in the running mean.')
  flags.DEFINE_string('level', None, 'export: only this level (default all).')
  flags.DEFINE_list('curves', [], 'plot, milestones: curve CSVs.')
  flags.DEFINE_list('reference', [], 'plot: published points to draw, '
                    f'from {sorted(REFERENCES)}.')
  flags.DEFINE_list('thresholds', ['-15', '0', '18'],
                    'milestones: returns to report the first frames of.')
  cli.run(main, only_reads_input=True)

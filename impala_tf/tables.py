"""The command line of `results.tables`: the paper's tables from run
directories.

  python -m impala_tf.tables atari57|dmlab30|atari5|atari10|procgen --runs=... \
      [--output=prefix]
"""

import os

from absl import app
from absl import flags

from impala_tf import cli
from impala_tf.results.tables import (TABLES, atari57_table,
                                      atari_subset_table, dmlab30_table,
                                      procgen_table)


def main(argv):
  if len(argv) != 2 or argv[1] not in TABLES:
    raise app.UsageError(f'Give one table: {", ".join(TABLES)}')
  if argv[1] == 'atari57':
    table, summary = atari57_table(flags.FLAGS.runs)
  elif argv[1] == 'dmlab30':
    table, summary = dmlab30_table(flags.FLAGS.runs)
  elif argv[1] == 'procgen':
    table, summary = procgen_table(flags.FLAGS.runs)
  else:
    table, summary = atari_subset_table(flags.FLAGS.runs, argv[1])
  markdown = (table.to_markdown(index=False, floatfmt='.2f') + '\n\n' +
              summary + '\n')
  print(markdown)
  output = flags.FLAGS.output
  if output:
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with open(output + '.md', 'w') as f:
      f.write(markdown)
    table.to_csv(output + '.csv', index=False)


if __name__ == '__main__':
  # Flags live here, not at import: library modules must not claim names.
  flags.DEFINE_list('runs', [], 'Run directories with evaluation.json.')
  flags.DEFINE_string('output', None, 'Path prefix for the .md and .csv '
                      'files; default: print only.')
  cli.run(main, only_reads_input=True)

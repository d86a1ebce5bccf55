"""Population-based training with the paper's rules (paper.md §6.4): the
command line.

Members are Ray Tune trials (`population.tune_runner`), each running the
ordinary training loop; one `population.members.Population` actor decides
for all of them (`population.rules`) and writes each decision down, so that
any member's ancestry can be rebuilt (`results.ancestry`).

    python -m impala_tf.pbt --config=paper_configs/dmlab30_deep_pbt.py \\
        --logdir=runs/dmlab30_pbt [--ray_address=HOST:PORT]
"""

from absl import app
from absl import flags
from ml_collections import config_flags
import ray

from impala_tf import cli
from impala_tf.population.rules import validate_population_config
from impala_tf.population.tune_runner import run_population


def main(argv):
  args = flags.FLAGS
  with cli.reading_input():
    if len(argv) > 1:
      raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
    config = cli.config_value(flags.FLAGS['config'])
    validate_population_config(config)
  ray.init(address=args.ray_address, log_to_driver=False)
  results = run_population(config, args.logdir, args.cpus_per_member)
  for result in results:
    print(f'member {result["member"]}: {result["num_frames"]} frames, '
          f'fitness {result["fitness"]}')


if __name__ == '__main__':
  # Flags live here, not at import: library modules must not claim names.
  config_flags.DEFINE_config_file(
      'config', None, 'A PBT config (with a pbt section), file.py[:arg].',
      lock_config=False)
  flags.DEFINE_string('logdir', None, 'The population directory.')
  flags.DEFINE_string('ray_address', None, 'A Ray cluster to join; default: '
                       'start Ray on this machine.')
  flags.DEFINE_float('cpus_per_member', 1.0, 'Ray CPUs each member reserves '
                      '(its learner; its actors follow config.runtime).')
  flags.mark_flags_as_required(['config', 'logdir'])
  cli.run(main)

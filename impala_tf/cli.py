"""What every command line shares: bad input is reported in one line.

A command reads its input (flags, config files, run directories,
checkpoints) inside ``with cli.reading_input():``; an error raised there is
the user's to fix, so `run` prints its message alone, ``error: ...``, and
exits with status 2, instead of a traceback. Errors after that point (a bug
during training, say) keep their traceback.
"""

import contextlib
import sys

from absl import app
from absl import flags

# What reading bad input raises: a bad value, a missing file, an unknown
# field, a module that cannot be imported.
INPUT_ERRORS = (ValueError, OSError, KeyError, AttributeError, ImportError,
                app.UsageError)


class InputError(Exception):
  """Bad input, with a message that names it."""


@contextlib.contextmanager
def reading_input():
  """Turns the errors of reading input (`INPUT_ERRORS`) into `InputError`."""
  try:
    yield
  except InputError:
    raise
  except INPUT_ERRORS as error:
    raise InputError(one_line(error)) from error


def one_line(error: BaseException) -> str:
  """An error's message on one line (some span several, e.g. a config file
  that fails to load)."""
  text = ' '.join(part.strip() for part in str(error).splitlines()
                  if part.strip())
  return text or type(error).__name__


def config_value(config_flag):
  """The value of a `config_flags` flag; the errors of loading its file
  (raised when the value is first read) become `InputError`s."""
  try:
    return config_flag.value
  except Exception as error:  # pylint: disable=broad-except
    raise InputError(f'--config: {one_line(error)}') from error


def run(main, only_reads_input: bool = False) -> None:
  """`absl.app.run(main)`, printing an `InputError` as one line.

  ``only_reads_input``: the whole of ``main`` reads input (the tools that
  read run directories and write tables or figures), as if it ran inside
  `reading_input`.
  """

  def main_with_input_errors(argv):
    try:
      if only_reads_input:
        with reading_input():
          return main(argv)
      return main(argv)
    except InputError as error:
      print(f'error: {error}', file=sys.stderr, flush=True)
      sys.exit(2)

  app.run(main_with_input_errors, flags_parser=_parse_flags)


def _parse_flags(argv):
  """absl's flag parsing, with its errors (an unknown flag, a bad value, an
  override of a config field that does not exist) as one line."""
  try:
    return flags.FLAGS(argv)
  except AttributeError as error:  # ml_collections' unknown override.
    message = (f'unknown config field {one_line(error).strip(chr(34))} in a '
               '--config.<field>=<value> override')
  except Exception as error:  # pylint: disable=broad-except
    message = one_line(error)
  print(f'error: {message}', file=sys.stderr, flush=True)
  sys.exit(2)

"""Entry point of an environment worker process (see `env_process`).

  python -m impala_tf.runtime.env_worker <socket file descriptor>
"""

import sys

from impala_tf.runtime import env_process

if __name__ == '__main__':
  env_process.serve(int(sys.argv[1]))

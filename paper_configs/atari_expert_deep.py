"""IMPALA deep Atari expert (Table 4, Table C.1 "IMPALA (deep)").

The shallow expert's settings (Table G.1 is the same for both, App. G) with
the residual torso of Fig. 3, no LSTM (§5.3.2):

  python -m impala_tf.train --config=paper_configs/atari_expert_deep.py:pong \
      --logdir=runs/pong_deep
"""

import importlib.util
import os


def get_config(game: str = 'pong'):
  path = os.path.join(os.path.dirname(__file__), 'atari_expert_shallow.py')
  spec = importlib.util.spec_from_file_location('atari_expert_shallow', path)
  shallow = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(shallow)
  config = shallow.get_config(game)
  config.torso = 'deep'  # Facts §5.2; feed-forward on Atari (§4.2).
  return config

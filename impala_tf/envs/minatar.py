"""MinAtar (Young & Tian, 2019): five Atari-like games on 10×10 boolean
frames, a small benchmark harder than Catch that trains in minutes.

Observations are ``[10, 10, C]`` bool, one channel per kind of object (C = 4
on breakout, 6 on space_invaders, 7 on freeway, 10 on seaquest, 4 on
asterix). Every game has MinAtar's full set of 6 actions (no-op, left, up,
right, down, fire), as MinAtar's own agents use; sticky actions with
probability 0.1 and difficulty ramping, MinAtar's defaults.
"""

import gymnasium as gym

GAMES = ('asterix', 'breakout', 'freeway', 'seaquest', 'space_invaders')


def make_minatar(game: str) -> gym.Env:
  try:
    # Optional: only MinAtar runs need it, and they get a hint without it.
    from minatar import gym as minatar_gym  # pylint: disable=g-import-not-at-top
  except ImportError as error:
    raise ImportError('MinAtar is not installed: pip install minatar '
                      f'(the version in requirements.txt) ({error})') from None
  return minatar_gym.BaseEnv(game, use_minimal_action_set=False)

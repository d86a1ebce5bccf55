"""PPO's Procgen curves at our evaluation frames, read off the figures that
Raileanu et al. (2021, "Automatic Data Augmentation for Generalization in
Reinforcement Learning") publish with their code.

The Procgen paper and Raileanu et al. give PPO (the IMPALA CNN, easy mode,
200 training levels, Procgen's PPO settings) as curves; only the 25 M-frame
end is printed as a number. To set our runs beside PPO at equal frames this
script reads PPO's line off the two figures of the authors' `auto-drac`
repository (commit 1fbf256): `figures/test.png` (returns on the test levels)
and `figures/train.png` (on the training levels), 4 × 4 panels of returns
against environment steps, which in Procgen are frames.

  .venv/bin/python reproduce/procgen_ppo_curves.py --test=test.png \
      --train=train.png

writes `reproduce/curves/ppo_raileanu2021_<game>_<split>.csv` (frames,
mean_return) for StarPilot and BigFish.

How it reads: in each panel the light grey grid lines that cross it give
the axes (their values, read from the tick labels, are below); PPO is the
pure blue line, and its height at a pixel column is the median row of the
blue pixels there. A point is the mean of the columns within ±0.25 M frames.
The other methods' lines cross PPO's in places; where they hide it, the
columns that still show blue decide.
"""

import argparse
import os

import numpy as np
from PIL import Image

# (game, figure): the panel's box inside its frame (left, top, right, bottom,
# in pixels), and the values of its horizontal grid lines from top to bottom.
# The vertical grid lines are at 0, 10 M and 20 M frames in every panel.
PANELS = {
    ('bigfish', 'test'): ((248, 94, 1033, 882), (12.5, 10.0, 7.5, 5.0, 2.5)),
    ('starpilot', 'test'): ((1200, 94, 1985, 882), (30.0, 20.0, 10.0)),
    ('bigfish', 'train'): ((189, 94, 945, 880), (15.0, 10.0, 5.0)),
    ('starpilot', 'train'): ((1171, 94, 1926, 880), (30.0, 20.0, 10.0)),
}
GRID_FRAMES = (0.0, 10e6, 20e6)
READ_AT = np.arange(1, 11) * 1e6  # our evaluations: every 1 M to 10 M.
HALF_WIDTH = 0.25e6


def _grid_lines(grey: np.ndarray, axis: int) -> np.ndarray:
  """Centres of the runs of pixel columns (axis 0) or rows (axis 1) of the
  box that are grey over more than half its extent."""
  hits = np.where(grey.sum(axis) > 0.5 * grey.shape[axis])[0]
  runs = np.split(hits, np.where(np.diff(hits) > 1)[0] + 1)
  return np.array([run.mean() for run in runs if len(run)])


def read_panel(image: np.ndarray, box, y_values) -> dict:
  """frames → PPO's mean return, one entry per pixel column with blue."""
  left, top, right, bottom = box
  rgb = image[top:bottom, left:right].astype(int)
  r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
  grey = ((abs(r - g) < 6) & (abs(g - b) < 6) & (r > 150) & (r < 215))
  blue = (r < 60) & (g < 60) & (b > 200)
  columns, rows = _grid_lines(grey, 0), _grid_lines(grey, 1)
  if len(columns) != len(GRID_FRAMES) or len(rows) != len(y_values):
    raise ValueError(f'box {box}: found grid lines at columns {columns} and '
                     f'rows {rows}; expected {len(GRID_FRAMES)} and '
                     f'{len(y_values)}')
  frames_per_column = np.polyfit(columns, GRID_FRAMES, 1)
  value_per_row = np.polyfit(rows, y_values, 1)
  line = {}
  for column in range(blue.shape[1]):
    blue_rows = np.where(blue[:, column])[0]
    if len(blue_rows):
      line[np.polyval(frames_per_column, column)] = np.polyval(
          value_per_row, np.median(blue_rows))
  return line


def at_frames(line: dict, frames_at) -> np.ndarray:
  """The line's mean height within ±`HALF_WIDTH` of each of ``frames_at``."""
  frames = np.array(sorted(line))
  values = np.array([line[f] for f in frames])
  return np.array([values[abs(frames - f) <= HALF_WIDTH].mean()
                   for f in frames_at])


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--test', required=True, help="auto-drac's test.png")
  parser.add_argument('--train', required=True, help="auto-drac's train.png")
  parser.add_argument('--output_dir', default='reproduce/curves')
  args = parser.parse_args()
  images = {split: np.asarray(Image.open(path).convert('RGB'))
            for split, path in (('test', args.test), ('train', args.train))}
  for (game, split), (box, y_values) in PANELS.items():
    line = read_panel(images[split], box, y_values)
    returns = at_frames(line, READ_AT)
    path = os.path.join(args.output_dir, f'ppo_raileanu2021_{game}_{split}.csv')
    with open(path, 'w') as f:
      f.write(f'# run: PPO, {game}, easy, 200 training levels, returns on '
              f'the {split} levels; Raileanu et al. (2021), read off '
              f'figures/{split}.png of their auto-drac code (commit 1fbf256)\n'
              '# command: .venv/bin/python reproduce/procgen_ppo_curves.py '
              '--test=test.png --train=train.png\n'
              'frames,mean_return\n')
      for frames, value in zip(READ_AT, returns):
        f.write(f'{int(frames)},{value:.2f}\n')
    # Where the line ends, to set beside the 25 M figure printed in the
    # paper. The lines stop short of 25 M; the end reads late by half the
    # line's width, about 0.1 M frames.
    end = max(line)
    read = ' '.join(f'{v:.2f}' for v in returns)
    print(f'{path}: {read}; the line ends at {end / 1e6:.1f} M frames at '
          f'{at_frames(line, [end])[0]:.2f}')


if __name__ == '__main__':
  main()

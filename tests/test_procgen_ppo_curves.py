"""reproduce/procgen_ppo_curves.py reads PPO's line off a published figure.
A figure drawn here in that figure's style (grey grid lines, a pure blue
line that another line crosses) must give back the values it was drawn
from."""

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image
import pytest

from reproduce import procgen_ppo_curves as reader


def _drawn_line(frames):
  """A rising return, as a learning curve: 5 at 0 frames towards 30."""
  return 30.0 - 25.0 * np.exp(-frames / 4e6)


def _draw(path):
  """Draws `_drawn_line` with a red line across it; returns the panel's
  box inside its frame, in the image's pixels."""
  plt.switch_backend('Agg')
  figure, axis = plt.subplots(figsize=(4, 4), dpi=200)
  frames = np.linspace(0.8e6, 23.6e6, 500)
  axis.plot(frames / 1e6, _drawn_line(frames), color=(0, 0, 1), linewidth=3)
  axis.plot(frames / 1e6, np.full_like(frames, 17.0), color=(1, 0, 0),
            linewidth=3)  # Crosses the blue line near 2.6 M frames.
  axis.set_xticks([0, 10, 20])
  axis.set_yticks([10, 20, 30])
  axis.set_ylim(3, 33)
  axis.grid(True)
  figure.savefig(path, dpi=200)
  frame = axis.get_window_extent()  # pixels, from the bottom left
  height = figure.bbox.height
  plt.close(figure)
  return (int(frame.x0) + 3, int(height - frame.y1) + 3,
          int(frame.x1) - 3, int(height - frame.y0) - 3)


def test_reads_back_the_drawn_line(tmp_path):
  box = _draw(tmp_path / 'figure.png')
  image = np.asarray(Image.open(tmp_path / 'figure.png').convert('RGB'))
  line = reader.read_panel(image, box, (30.0, 20.0, 10.0))
  read = reader.at_frames(line, reader.READ_AT)
  # A pixel is about 0.05 of return here; the mean over ±0.25 M frames of
  # a curved line differs from its value at the centre by less than 0.02.
  np.testing.assert_allclose(read, _drawn_line(reader.READ_AT), atol=0.15)
  # The line's end reads late by up to half its width (its cap): 4 pixels.
  assert max(line) == pytest.approx(23.6e6, abs=0.2e6)


def test_a_box_without_the_expected_grid_lines_is_refused(tmp_path):
  box = _draw(tmp_path / 'figure.png')
  image = np.asarray(Image.open(tmp_path / 'figure.png').convert('RGB'))
  with pytest.raises(ValueError, match='grid lines'):
    reader.read_panel(image, box, (30.0, 25.0, 20.0, 10.0))

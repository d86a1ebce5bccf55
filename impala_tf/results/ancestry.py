"""The ancestry of a population's members: whose training a member's weights
come from, and the learning curve along it, as the paper draws its PBT
curves (paper.md §6.4). Reads what `population.members.Population` wrote.

A population directory holds one run directory per member (`member_dir`) and
the events file, one JSON line per decision.
"""

import json
import os
from typing import List, Optional, Sequence

import pandas as pd

from impala_tf.results import analysis

EVENTS_FILE = 'pbt_events.jsonl'


def member_dir(population_dir: str, member: int) -> str:
  return os.path.join(population_dir, f'member_{member:02d}')


def read_events(population_dir: str) -> List[dict]:
  with open(os.path.join(population_dir, EVENTS_FILE)) as f:
    return [json.loads(line) for line in f if line.strip()]


def ancestry(events: Sequence[dict], member: int,
             until_frames: Optional[float] = None) -> List[tuple]:
  """Whose training a member's weights come from, oldest first.

  Returns ``[(member, from_frames, to_frames), ...]``: follow the member's
  own history back to its last copy, then the donor's before that, and so
  on. ``to_frames`` of the last segment is ``until_frames`` (None: open).
  """
  # A member saves its weights, then reports, then loads a donor's: a
  # checkpoint saved at frame F predates a copy made at F.
  copies = sorted((e for e in events if e['member'] == member and e['copied']
                   and (until_frames is None or e['frames'] < until_frames)),
                  key=lambda e: e['frames'])
  if not copies:
    return [(member, 0, until_frames)]
  last = copies[-1]
  return ancestry(events, last['candidate'], last['donor_frames']) + [
      (member, last['frames'], until_frames)]


def ancestral_curve(population_dir: str, member: int):
  """The learning curve of a member's weights through its ancestry: a
  DataFrame of episodes (frames, episode_return, level, member, segment)
  taken from each ancestor's run for the frames it was the ancestor;
  ``segment`` indexes `ancestry`'s list."""
  pieces = []
  lineage = ancestry(read_events(population_dir), member)
  for segment, (ancestor, start, end) in enumerate(lineage):
    episodes = analysis.episodes(member_dir(population_dir, ancestor))
    keep = episodes.frames > start
    if end is not None:
      keep &= episodes.frames <= end
    pieces.append(episodes[keep].assign(member=ancestor, segment=segment))
  return pd.concat(pieces, ignore_index=True)

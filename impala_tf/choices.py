"""The names a config may choose from where the agent's modules implement
each choice: off-policy corrections, reward clippings, RMSProp styles and
torsos.

They live here, below both `config` (which checks a run's config against
them before anything starts) and the modules that implement them
(`agent.corrections`, `agent.losses`, `agent.optimizer`, `agent.networks`),
so that checking a config needs no TensorFlow and no module above it.
"""

# Table 2's methods (paper.md §2); see agent/corrections.py.
CORRECTIONS = ('vtrace', 'one_step_is', 'epsilon_correction', 'no_correction')
# See agent/losses.py, `clip_rewards`.
REWARD_CLIPPINGS = ('abs_one', 'soft_asymmetric', 'paper_asymmetric', 'none')
# TF1's RMSProp (the paper's) or PyTorch's; see agent/optimizer.py.
RMSPROP_STYLES = ('tf1', 'torch')
# The networks' torsos (paper.md §5.2 and small ones); see agent/networks.py.
TORSOS = ('shallow', 'deep', 'mlp', 'minatar')

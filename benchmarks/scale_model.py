"""A cost model of the system: measured per-frame costs → frames/s and the
component that binds, on this machine and on bigger ones (issue 36).

Every cost is per environment frame (4 frames per agent step), measured on
this machine by the other benchmarks and read from their JSON:

  env        CPU µs of the environments (vector backend: worker processes
             and the actor threads that receive their steps), from
             throughput.py's E frames per CPU-second;
  inference  CPU µs of the batched policy call on this CPU (its I);
  learn      CPU µs of the train step on this CPU (its L);
  runtime    CPU µs of the learner process that is neither network nor
             environments (batching, the queue, tf.data, logging), from
             profile_system.py with free environments and a free network,
             less its actor threads (already in env);
  gil        µs of GIL held per frame in that same free/free run: one
             learner process takes at most 10⁶ / gil frames/s;
  ray_*      the same two for the Ray runtime's learner process, and the
             CPU µs per frame its actors' processes spend beside the
             environments (serialising and shipping unrolls);
  FLOPs      of one frame's inference and of its share of a train step,
             counted from the TensorFlow graphs of the configured networks;
  bytes      of a trajectory per frame, as it travels from an actor into
             the learner process (the Ray runtime ships it).

Machines: (a) this one, as a self-check against the measured system
(``--check``: within 15 %, shallow and deep); (b) 16 cores and one GPU (the
kind sometimes lent here); (c) 48 cores and one P100 (the paper's Table 1
machine); (d) N machines of 16 cores of Ray actors feeding one learner with
one GPU. Every assumption (GPU FLOP/s, the share of it granted, the cores
left to the learner) is printed with the predictions.

  python benchmarks/scale_model.py [--check] [--output=PATH]

Prints one JSON object; with --check exits 1 when a self-check misses.
"""

import json
import os
import sys

from absl import app
from absl import flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
# Before TensorFlow: the package turns on its oneDNN kernels (its __init__).
import impala_tf  # pylint: disable=g-import-not-at-top,unused-import

import tensorflow as tf  # pylint: disable=g-import-not-at-top
from tensorflow.python.profiler import model_analyzer  # pylint: disable=g-import-not-at-top
from tensorflow.python.profiler import option_builder  # pylint: disable=g-import-not-at-top
import tree  # pylint: disable=g-import-not-at-top

from impala_tf import config as config_lib  # pylint: disable=g-import-not-at-top
from impala_tf.agent.hyperparameters import LearnerHyperparameters  # pylint: disable=g-import-not-at-top
from impala_tf.agent.learner import Learner  # pylint: disable=g-import-not-at-top
from impala_tf.runtime import agents  # pylint: disable=g-import-not-at-top
from impala_tf.runtime.pipeline import trajectory_spec  # pylint: disable=g-import-not-at-top

SCALE = os.path.join(REPO, 'reproduce', 'scale')
CONFIGS = {'shallow': 'atari_expert_shallow.py', 'deep': 'atari_expert_deep.py'}
FRAMES_PER_STEP = 4

_CHECK = flags.DEFINE_bool('check', False, 'Exit 1 unless the predictions '
                           'for this machine are within 15 % of the measured '
                           'system, shallow and deep.')
_OUTPUT = flags.DEFINE_string('output', None, 'Also write the JSON here.')
_THROUGHPUT = flags.DEFINE_string(
    'throughput', os.path.join(SCALE, 'throughput_{torso}.json'),
    "throughput.py's JSON per torso ({torso}: shallow, deep).")
_RUNTIME = flags.DEFINE_string(
    'runtime_profile', os.path.join(SCALE, 'free_free_{runtime}.json'),
    "profile_system.py's JSON with free environments and a free network, "
    'per runtime ({runtime}: local, ray).')
# Assumptions, stated in the output.
_GPU_16 = flags.DEFINE_float('gpu_tflops_b', 495.0, '(b) the GPU: TF32 '
                             'tensor-core TFLOP/s, dense (an H100 SXM).')
_GPU_P100 = flags.DEFINE_float('gpu_tflops_c', 10.6, '(c) the P100: FP32 '
                               'TFLOP/s (SXM2; it has no tensor cores).')
_GPU_SHARE = flags.DEFINE_float(
    'gpu_share_b', 0.05, '(b), (d): the share of the peak granted to these '
    'small convolutions at batch 32 (a guess until a GPU run measures it).')
_P100_SHARE = flags.DEFINE_float('gpu_share_c', 0.3, '(c): the same for the '
                                 "P100's FP32 units, easier to fill.")
_CORE_SHARE = flags.DEFINE_float(
    'core_share', 0.9, 'The share of the sum of its parts that a whole '
    'system gets out of shared cores (processes and threads contending for '
    "them): Table 1's three runs reached 0.89-0.93 of their parts' ceiling "
    '(REPRODUCE.md).')
_CLUSTER = flags.DEFINE_list('cluster_nodes', ['1', '2', '4', '8', '16', '32',
                                               '64'], '(d): actor machines.')


def network_per_frame(torso: str):
  """(inference FLOPs, learning FLOPs, trajectory bytes) per environment
  frame of the Pong expert with this torso; the FLOPs counted from its
  graphs by TensorFlow's profiler, the bytes from one trajectory's spec
  (T + 1 steps for T new ones)."""
  config = config_lib.load_config_file(
      os.path.join(REPO, 'paper_configs', CONFIGS[torso]), 'pong')
  spec = agents.environment_spec(config)
  agent = agents.make_agent(config, spec)
  steps, batch = config.unroll_length, config.batch_size
  batch_spec = trajectory_spec(spec.observation, agent.state_spec(),
                               spec.num_actions, steps, batch)
  learner = Learner(agent, LearnerHyperparameters.from_config(config),
                    batch_spec)
  options = option_builder.ProfileOptionBuilder.float_operation()
  options['output'] = 'none'
  count = lambda graph: model_analyzer.profile(
      graph, options=options).total_float_ops
  learn = count(learner._train_step.get_concrete_function(  # pylint: disable=protected-access
      batch_spec).graph) / (steps * batch * FRAMES_PER_STEP)
  rows = 64
  one = agents.single_step_spec(agent, spec)
  step = tree.map_structure(lambda s: tf.TensorSpec([rows, *s.shape[2:]],
                                                    s.dtype), one)
  state = tree.map_structure(lambda s: tf.TensorSpec([rows, *s.shape[1:]],
                                                     s.dtype), one.agent_state)
  call = tf.function(agent).get_concrete_function(
      step.agent_outputs.action, step.env_outputs._replace(info=()), state)
  inference = count(call.graph) / (rows * FRAMES_PER_STEP)
  one_trajectory = trajectory_spec(spec.observation, agent.state_spec(),
                                   spec.num_actions, steps)
  size = sum(s.shape.num_elements() * (s.dtype.size if s.dtype != tf.string
                                       else len('pong'))
             for s in tree.flatten(one_trajectory))
  return inference, learn, size / (steps * FRAMES_PER_STEP)


def per_cpu_second_us(figures: dict, name: str) -> float:
  """CPU µs per frame of a part, from its median frames per CPU-second."""
  return 1e6 / figures[f'{name} frames/CPU-s'][0]


def costs(torso: str) -> dict:
  """Every per-frame cost of the model for ``torso``."""
  measured = json.load(open(_THROUGHPUT.value.format(torso=torso)))
  local = json.load(open(_RUNTIME.value.format(runtime='local')))
  remote = json.load(open(_RUNTIME.value.format(runtime='ray')))
  inference_flops, learn_flops, trajectory_bytes = network_per_frame(torso)
  cpu = local['cpu_us_per_frame']
  ray_cpu = remote['cpu_us_per_frame']
  return dict(
      env_cpu_us=per_cpu_second_us(measured, 'E/vector'),
      inference_cpu_us=per_cpu_second_us(measured, 'I'),
      learn_cpu_us=per_cpu_second_us(measured, 'L'),
      runtime_cpu_us=cpu['learner_process'] - cpu.get('actor threads', 0.0),
      gil_us=local['gil_us_per_frame'],
      ray_runtime_cpu_us=ray_cpu['learner_process'],
      ray_gil_us=remote['gil_us_per_frame'],
      # Free environments and network: what the Ray actors' processes
      # spend per frame is theirs alone (serialising, shipping).
      ray_actor_cpu_us=ray_cpu['child_processes'],
      inference_flops=inference_flops,
      learn_flops=learn_flops,
      trajectory_bytes=trajectory_bytes,
      measured_system_fps=measured['system/vector fps'][0],
      measured_cores=measured['cores'],
  )


def binding(limits: dict) -> dict:
  """frames/s = the smallest limit; which component it is."""
  component = min(limits, key=limits.get)
  return dict(frames_per_second=round(limits[component]),
              binds=component,
              limits={k: round(v) for k, v in limits.items()})


def this_machine(c: dict) -> dict:
  """(a) Everything on the CPU cores: environments, runtime and network
  share them; the GIL bounds the learner process."""
  per_frame = (c['env_cpu_us'] + c['runtime_cpu_us'] + c['inference_cpu_us'] +
               c['learn_cpu_us'])
  return binding(dict(
      cpu_cores=_CORE_SHARE.value * c['measured_cores'] * 1e6 / per_frame,
      learner_gil=1e6 / c['gil_us']))


def one_gpu_machine(c: dict, cores: int, tflops: float, share: float) -> dict:
  """(b), (c): the network on one GPU (inference and learning), the
  environments and the runtime on the cores, one learner process."""
  gpu = tflops * 1e12 * share / (c['inference_flops'] + c['learn_flops'])
  return binding(dict(
      environments_and_runtime_on_cores=_CORE_SHARE.value * cores * 1e6 / (
          c['env_cpu_us'] + c['runtime_cpu_us']),
      gpu=gpu,
      learner_gil=1e6 / c['gil_us']))


def cluster(c: dict, nodes: int) -> dict:
  """(d) ``nodes`` machines of 16 cores of Ray actors (environments and
  inference on their CPUs, as the Ray runtime runs them), one learner
  process with one GPU (as (b)) that every trajectory enters."""
  actors = _CORE_SHARE.value * nodes * 16 * 1e6 / (
      c['env_cpu_us'] + c['inference_cpu_us'] + c['ray_actor_cpu_us'])
  gpu = _GPU_16.value * 1e12 * _GPU_SHARE.value / c['learn_flops']
  return binding(dict(
      actor_machines=actors,
      learner_gpu=gpu,
      learner_gil=1e6 / c['ray_gil_us'],
      learner_cores=16 * 1e6 / c['ray_runtime_cpu_us']))


def main(argv):
  del argv
  record = dict(
      benchmark='scale_model',
      assumptions=dict(
          b=f'16 cores, one GPU of {_GPU_16.value:g} TFLOP/s (TF32, dense) '
          f'of which {_GPU_SHARE.value:.0%} is granted',
          c=f'48 cores, one P100 of {_GPU_P100.value:g} TFLOP/s (FP32) of '
          f'which {_P100_SHARE.value:.0%} is granted',
          d='N machines of 16 cores of Ray actors (each runs its network '
          'on its CPU), one learner process with the GPU of (b) on a '
          'machine of 16 cores',
          cores='every core of a machine runs environments or the runtime, '
          f'at {_CORE_SHARE.value:.0%} of the sum of the parts measured '
          "alone (Table 1's system/ceiling); a worker's CPU cost per frame "
          "is this machine's"),
      torsos={})
  failed = []
  for torso in CONFIGS:
    c = costs(torso)
    predicted = this_machine(c)
    error = predicted['frames_per_second'] / c['measured_system_fps'] - 1
    if abs(error) > 0.15:
      failed.append(f'{torso}: {error:+.0%}')
    record['torsos'][torso] = dict(
        costs_per_frame={k: round(v, 2) for k, v in c.items()},
        a_this_machine=dict(predicted, measured=round(
            c['measured_system_fps']), error=round(error, 3)),
        b_16_cores_one_gpu=one_gpu_machine(c, 16, _GPU_16.value,
                                           _GPU_SHARE.value),
        c_48_cores_one_p100=one_gpu_machine(c, 48, _GPU_P100.value,
                                            _P100_SHARE.value),
        d_cluster={n: cluster(c, int(n)) for n in _CLUSTER.value})
  record['check'] = 'passed' if not failed else f'missed: {failed}'
  text = json.dumps(record, indent=2)
  print(text)
  if _OUTPUT.value:
    with open(_OUTPUT.value, 'w') as f:
      f.write(text + '\n')
  if _CHECK.value and failed:
    sys.exit(1)


if __name__ == '__main__':
  app.run(main)

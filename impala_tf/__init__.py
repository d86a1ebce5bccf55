"""IMPALA (Espeholt et al., 2018) in TensorFlow 2.

Importing the package turns on TensorFlow's oneDNN kernels for the CPU
(``TF_ENABLE_ONEDNN_OPTS=1``) unless the environment says otherwise.
TensorFlow enables them by itself only on CPUs with AVX-512 VNNI or newer
instructions; elsewhere (AMD EPYC, older Intel parts) it falls back to
Eigen's kernels, whose convolution gradients are slow: on a 2-core AMD EPYC
the learner's train step ran 2.2× faster with oneDNN on the shallow network
and 2.8× on the deep one (`benchmarks/throughput.py --part=L`, REPRODUCE.md,
Table 1). TensorFlow reads the flag once, when it is first imported, so it
takes effect only where this package is imported before TensorFlow: the
entry points, the benchmarks, the tests and the notebooks all do.
``TF_ENABLE_ONEDNN_OPTS=0`` keeps Eigen's kernels.
"""

import os

os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '1')

"""The batch (rank 5): every report of a review period, on warm kernels, published safely.

Planning (:mod:`~kpinb.batch.plan`), inputs keys (:mod:`~kpinb.batch.inputs`), running
(:mod:`~kpinb.batch.runner` on :mod:`~kpinb.batch.kernels`), publishing
(:mod:`~kpinb.batch.outputs`, :mod:`~kpinb.batch.export`) and the index and manifest
(:mod:`~kpinb.batch.manifest`). A Dask executor belongs beside the kernel pool.
"""

from kpinb.batch.jobs import BatchResult
from kpinb.batch.run import run_batch

__all__ = ["BatchResult", "run_batch"]

"""The batch (rank 5): every report of a review period, on warm kernels, published safely.

Planning (:mod:`~kpinb.batch.plan`), inputs keys (:mod:`~kpinb.batch.inputs`), running
(:mod:`~kpinb.batch.runner` through an executor, :mod:`~kpinb.batch.executors`: warm
kernels here, or on a Dask cluster, :mod:`~kpinb.batch.cluster`; both run the per-report
code of :mod:`~kpinb.batch.build`), publishing (:mod:`~kpinb.batch.outputs`,
:mod:`~kpinb.batch.export`) and the index and manifest (:mod:`~kpinb.batch.manifest`).
"""

from kpinb.batch.jobs import BatchResult
from kpinb.batch.run import run_batch

__all__ = ["BatchResult", "run_batch"]

"""The batch (rank 5): every report of a review period, on warm kernels, published safely.

In wings, each importing only what sits below it: the records every wing passes around
(:mod:`~kpinb.batch.records`); planning, what to build (:mod:`~kpinb.batch.planning`);
the output formats, one table (:mod:`~kpinb.batch.formats`); execution, where notebooks
run (:mod:`~kpinb.batch.executors`: warm kernels here or on a Dask cluster); publishing
(:mod:`~kpinb.batch.publish`: the folder, each report's files, the index, run.json,
uploads, packs). Planning and execution never import publishing. On top:
:mod:`~kpinb.batch.orchestrate` (``run_batch``) and :mod:`~kpinb.batch.period_run`.
"""

from kpinb.batch.orchestrate import run_batch
from kpinb.batch.records import BatchResult

__all__ = ["BatchResult", "run_batch"]

"""Execution (where and how report notebooks run): the seam (:mod:`.base`), warm kernels
on this machine (:mod:`.local`, :mod:`.kernels`) or on a Dask cluster (:mod:`.dask`),
and the per-report code every executor shares (:mod:`.build`). Nothing here imports
the publisher: an executor hands each built report back to the run, which publishes it."""

"""The ``kpinb`` command line (rank 6): one module per command group, heavy imports deferred."""

from kpinb.cli.main import main

__all__ = ["main"]

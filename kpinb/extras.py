"""The optional features and the pip extras that install them.

``pip install kpinb`` gives the batch, the reports and the journal. The explorer, the Dask
cluster, cloud file systems and database sources need more; each asks for its extra with
one sentence naming the pip command (:func:`require`), never a bare ``ModuleNotFoundError``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from kpinb.errors import KpinbError

# extra -> what it adds, said in the missing-extra sentence
EXTRAS = {
    "lab": "the explorer in JupyterLab",
    "dask": "kpinb run --scheduler (the batch on a Dask cluster)",
    "s3": "reports published to s3:// URLs",
    "gcs": "reports published to gs:// URLs",
    "sql": "workspace tables read from a database",
}
# fsspec URL scheme -> the package that implements it and the extra that installs it
URL_EXTRAS = {
    "s3": ("s3fs", "s3"),
    "s3a": ("s3fs", "s3"),
    "gs": ("gcsfs", "gcs"),
    "gcs": ("gcsfs", "gcs"),
}


class MissingExtraError(KpinbError, ImportError):
    """A feature whose extra is not installed; the message names the pip command."""


def install_command(extra: str) -> str:
    """The pip command that installs ``extra``."""
    return f"pip install 'kpinb[{extra}]'"


def missing_message(module: str, extra: str) -> str:
    """One sentence: what is missing, for what, and the pip command that adds it."""
    return (
        f"{EXTRAS[extra]} needs {module.split('.')[0]}, which is not installed: "
        f"{install_command(extra)}"
    )


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` (installed by ``extra``), or raise :class:`MissingExtraError`."""
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; known: {', '.join(EXTRAS)}")
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = exc.name or module
        if missing != module and not module.startswith(f"{missing}."):
            raise  # the module is there but one of its own imports is broken
        raise MissingExtraError(missing_message(module, extra)) from None


def require_for_url(scheme: str) -> None:
    """The fsspec implementation of a URL scheme kpinb ships an extra for (``s3``, ``gs``)."""
    known = URL_EXTRAS.get(scheme.lower())
    if known is not None:
        require(*known)

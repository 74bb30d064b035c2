"""The HR analyst's explorer (rank 4): one workspace in JupyterLab, with ipywidgets.

``explore(workspace, period)`` shows what changed this period across everyone, any
person or team as each audience sees it, the data-quality findings, and forms that
record check-ins and feasibility flags. ipywidgets is imported inside the functions
that build widgets, so nothing else in kpinb needs it.
"""

from kpinb.explorer.app import explore

__all__ = ["explore"]

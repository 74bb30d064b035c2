"""The workspace (rank 1): reading, typing and checking its tables; the only reader of its files."""

from kpinb.workspace.loader import Validation, Workspace, load_workspace, validate_workspace

__all__ = ["Validation", "Workspace", "load_workspace", "validate_workspace"]

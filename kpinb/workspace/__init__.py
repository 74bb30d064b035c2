"""The workspace (rank 1): reading, typing and checking its tables; the only reader of its files."""

from kpinb.workspace.loader import (
    Validation,
    Workspace,
    adopt_workspace,
    forget_workspace,
    load_workspace,
    validate_workspace,
    workspace_bytes,
    workspace_files,
)

__all__ = [
    "Validation",
    "Workspace",
    "adopt_workspace",
    "forget_workspace",
    "load_workspace",
    "validate_workspace",
    "workspace_bytes",
    "workspace_files",
]

"""Stand-ins the batch tests share: small notebooks that display a twin, renamed ids."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd
from nbformat.v4 import new_code_cell, new_notebook

from kpinb.batch.planning import plan


def write_stand_in_notebooks(folder: Path, *, body: str = "", twin_body: str = "") -> Path:
    """Notebooks with the real parameters that display a minimal report and twin.

    ``body`` is extra code run before the display (to fail or to be slow on purpose);
    ``twin_body`` runs after the twin ``twin`` is made, to change what it states.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for scope, name in plan.NOTEBOOKS.items():
        param = plan.ID_PARAMETER[scope]
        params = new_code_cell(
            f'workspace: str = "."\n{param}: str = "x"\n'
            'period: str = "2026-Q3"\nview: str = "employee"'
        )
        params.metadata["tags"] = ["parameters"]
        show = new_code_cell(
            f"import html\nfrom IPython.display import display\nsid = str({param})\n{body}\n"
            f'twin = {{"scope": "{scope}", "id": sid, "period": period, "view": view, '
            '"title": "Report " + sid}\n'
            + (f"{twin_body}\n" if twin_body else "")
            + 'display({"text/html": "<p>" + html.escape(sid) + "</p>", '
            '"application/vnd.kpinb.report+json": twin}, raw=True)'
        )
        nb = new_notebook(
            cells=[params, show],
            metadata={
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
            },
        )
        nbformat.write(nb, folder / name)
    return folder


def rename_ids(root: Path, new: dict[str, str]) -> None:
    """Rename employee ids in every table of the workspace at ``root``."""
    for path in root.glob("*.csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in ("employee_id", "manager_id", "scope_id"):
            if column in frame:
                frame[column] = frame[column].replace(new)
        frame.to_csv(path, index=False)

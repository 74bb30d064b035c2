"""``kpinb render NOTEBOOK.ipynb``: the page and JSON twin of a report notebook run by hand.

A report notebook executed by papermill (README, "one report by hand") becomes the
same self-contained HTML page and JSON twin that ``kpinb run`` publishes, through
the batch's own exporter (:func:`kpinb.batch.formats.page.render_report`).
Exit codes: 0 written, 1 the notebook holds no report, 2 bad usage.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kpinb.errors import KpinbError, UsageError


def register(sub: Any) -> None:
    """Add the ``render`` sub-command."""
    parser = sub.add_parser(
        "render",
        help="turn an executed report notebook into its HTML page and JSON twin",
        description="Convert a report notebook that papermill has executed (for example "
        "out.ipynb from the README's papermill command) into the self-contained HTML page "
        "and JSON twin that `kpinb run` publishes: outputs only, no code, charts inline. "
        "The twin is written next to the page, with the extension .json. Exit 0 when "
        "written, 1 when the notebook shows no report, 2 for bad usage.",
    )
    parser.add_argument("notebook", type=Path, help="the executed notebook (.ipynb)")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="PAGE.html",
        help="the page to write (default: the notebook's name with .html; a folder: "
        "the page goes inside it)",
    )
    parser.set_defaults(func=run_render)


def page_path(notebook: Path, out: Path | None) -> Path:
    """Where the page goes: ``--out``, inside ``--out`` when it is a folder, or beside
    the notebook."""
    if out is None:
        return notebook.with_suffix(".html")
    if out.is_dir():
        return out / notebook.with_suffix(".html").name
    return out if out.suffix.lower() in (".html", ".htm") else out.with_name(out.name + ".html")


def run_render(args: argparse.Namespace) -> int:
    """Write the page and its twin; print where they are."""
    import nbformat

    from kpinb.batch.formats.page import render_report
    from kpinb.batch.formats.twin import dumps_json
    from kpinb.cli.demo import check_out_folder
    from kpinb.files import atomic_write

    notebook: Path = args.notebook
    if not notebook.is_file():
        msg = f"{notebook} is not a file. Fix: give the notebook that papermill wrote"
        raise UsageError(msg)
    try:
        nb = nbformat.read(notebook, as_version=4)
    except (OSError, ValueError) as exc:  # nbformat's read errors are ValueErrors
        msg = f"{notebook} could not be read as a notebook ({exc}). Fix: give an .ipynb file"
        raise UsageError(msg) from exc
    page = page_path(notebook, args.out)
    check_out_folder(page.parent, "--out")
    if page.resolve() == notebook.resolve():
        msg = f"--out {page} is the notebook itself. Fix: give a page name ending in .html"
        raise UsageError(msg)
    try:
        html, twin = render_report(nb)
    except ValueError as exc:
        raise KpinbError(f"{notebook}: {exc}") from exc
    page.parent.mkdir(parents=True, exist_ok=True)
    twin_path = page.with_suffix(".json")
    atomic_write(twin_path, dumps_json(twin))
    atomic_write(page, html)
    print(f"page: {page}")
    print(f"JSON twin: {twin_path}")
    return 0

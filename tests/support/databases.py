"""Workspace tables put into a database (SQLite, DuckDB, PostgreSQL) for the source tests
and benchmarks/sources.py: typed as a database would hold them (ids as text, numbers as
floats, dates as dates), written through SQLAlchemy."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kpinb.workspace.schema import TABLES


def table_frames(folder: Path, names: tuple[str, ...] = tuple(TABLES)) -> dict[str, pd.DataFrame]:
    """The CSV tables ``names`` of the workspace ``folder``, typed column by column."""
    frames = {}
    for name in names:
        path = folder / f"{name}.csv"
        if not path.is_file():
            continue
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame.columns = [c.strip().lower() for c in frame.columns]
        spec = TABLES[name]
        for column in frame.columns:
            cells = frame[column].where(frame[column] != "", None)
            if column in spec.numbers:
                frame[column] = pd.to_numeric(cells).astype("float64")
            elif column in spec.dates:
                frame[column] = pd.to_datetime(cells).dt.date.astype(object)
            else:
                frame[column] = cells.astype(object)
        frames[name] = frame
    return frames


def write_tables(url: str, frames: dict[str, pd.DataFrame]) -> None:
    """Create (replace) one table per frame in the database at ``url``."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for name, frame in frames.items():
                frame.to_sql(name, conn, if_exists="replace", index=False)
    finally:
        engine.dispose()


def execute(url: str, *statements: str) -> None:
    """Run ``statements`` in one transaction (a change to a source's rows)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def sources_toml(url: str, names: list[str], **extra: str) -> str:
    """A ``kpinb.toml`` reading each table of ``names`` from ``url`` (its own table)."""
    parts = []
    for name in names:
        lines = [f"[sources.{name}]", f'url = "{url}"', f'table = "{name}"']
        lines += [f'{key} = "{value}"' for key, value in extra.items()]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"

"""Workspace tables read from a SQL database (``[sources.NAME]`` in ``kpinb.toml``).

A source is a database URL (SQLAlchemy's form) and a query (or a table). SQLite and
DuckDB are embedded (a relative path is the workspace folder's file), PostgreSQL is the
server case. Credentials come from environment variables (``password_env``, or
``${VAR}`` in the URL), never from the file: a password written in the URL is refused.
Every connection is read-only (SQLite ``mode=ro``, DuckDB ``read_only``, PostgreSQL
``default_transaction_read_only`` and a read-only transaction), and every message masks
the password and each value taken from the environment.

The rows become a :class:`~kpinb.workspace.readers.RawTable` like a file's, so every
check and message of the files applies, naming the source and the row of the result.
SQLAlchemy and the drivers are imported only when a source is read.
"""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pandas as pd

from kpinb.errors import Problem
from kpinb.workspace.readers import RawTable, TableRefused, raw_from_frame, read_table

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine

SECTION = "sources"
KEYS = ("url", "query", "table", "password_env")
BACKENDS = ("sqlite", "duckdb", "postgresql")
INSTALL = "install the SQL extra: pip install 'kpinb[sql]'"
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MASK = "***"
# scheme://user:PASSWORD@ as SQLAlchemy reads it (a password may hold "/", not "@")
_USERINFO = r"^([\w+.-]+://[^:/@]*:)([^@]*)"


@dataclass(frozen=True)
class SqlSource:
    """One ``[sources.NAME]`` section: where a table's rows come from."""

    name: str
    url: str  # as written: ${VAR} references unexpanded, no password
    query: str
    password_env: str = ""

    @property
    def label(self) -> str:
        """How messages name the source: the section and the URL, its password masked."""
        return f"kpinb.toml [{SECTION}.{self.name}] ({masked_url(self.url)})"

    @property
    def variables(self) -> list[str]:
        """The environment variables the source reads (``${VAR}`` and ``password_env``)."""
        found = [*_VARIABLE.findall(self.url), *([self.password_env] if self.password_env else [])]
        return list(dict.fromkeys(found))


def masked_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (the URL as written otherwise)."""
    found = re.match(_USERINFO + r"(@.*)$", url)
    return f"{found[1]}{MASK}{found[3]}" if found else url


def parse_sources(section: Mapping[str, Any]) -> tuple[dict[str, SqlSource], list[Problem]]:
    """The ``[sources.*]`` sections, each checked; every problem (file, key, fix)."""
    out: dict[str, SqlSource] = {}
    problems: list[Problem] = []
    file = "kpinb.toml"
    for name, body in section.items():
        key = f"{SECTION}.{name}"

        def bad(sub: str, problem: str, fix: str, key: str = key) -> None:
            problems.append(Problem(file, problem, fix, column=f"{key}.{sub}" if sub else key))

        if not isinstance(body, Mapping):
            bad("", "is not a section", f'write it as [{key}] with url = "..." and query = "..."')
            continue
        before = len(problems)
        for sub in body:
            if sub not in KEYS:
                bad(sub, "is not a key kpinb knows", f"use one of: {', '.join(KEYS)}")
        url = body.get("url")
        if not isinstance(url, str) or not url.strip():
            bad("url", "is missing", 'give the database URL, such as url = "sqlite:///hr.db"')
            continue
        url = url.strip()
        backend = re.split(r"[+:]", url, maxsplit=1)[0].lower()
        if backend not in BACKENDS:
            bad(
                "url",
                f"names the database {backend!r}, which kpinb cannot read read-only",
                f"use a URL starting with one of: {', '.join(BACKENDS)}",
            )
        password = _written_password(url)
        if password is not None and not _VARIABLE.fullmatch(password):
            bad(
                "url",
                "holds a password; a password never goes in kpinb.toml",
                "remove it from the URL and name the environment variable that holds it: "
                'password_env = "KPINB_DB_PASSWORD" (or write ${KPINB_DB_PASSWORD} in its place)',
            )
        secret_env = body.get("password_env", "")
        if not isinstance(secret_env, str) or (secret_env and not re.fullmatch(r"\w+", secret_env)):
            bad(
                "password_env",
                f"is {secret_env!r}, not a variable's name",
                'such as "KPINB_DB_PASSWORD"',
            )
            secret_env = ""
        if secret_env and password is not None:
            bad("password_env", "is given and the URL holds a password too", "keep one of the two")
        query, table = body.get("query"), body.get("table")
        if (query is None) == (table is None):
            bad(
                "query",
                "give exactly one of query and table",
                'such as query = "select * from people"',
            )
        elif query is not None and (not isinstance(query, str) or not query.strip()):
            bad("query", "is empty", "write the SELECT that returns the rows")
        elif table is not None and (
            not isinstance(table, str) or not re.fullmatch(r"\w+(\.\w+)?", table.strip())
        ):
            bad("table", f"is {table!r}, not a table's name", 'such as table = "hr.people"')
        if len(problems) > before:
            continue
        text = query.strip() if isinstance(query, str) else f"select * from {str(table).strip()}"
        out[name] = SqlSource(name, url, text, secret_env)
    return out, problems


def table_source(root: Path, name: str) -> str | None:
    """How messages name the source of table ``name`` in the workspace ``root`` (None when
    ``kpinb.toml`` gives it none): a writer of the table's file must not add a second."""
    from kpinb.settings import read_settings

    settings, _ = read_settings(root)
    body = settings.sections.get(SECTION, {}).get(name)
    if not isinstance(body, Mapping):
        return None
    return SqlSource(name, str(body.get("url", "")), "").label


def _written_password(url: str) -> str | None:
    """The password part of ``url`` as written (``user:PASSWORD@host``), if any."""
    found = re.match(_USERINFO + "@", url)
    return found[2] if found else None


class SourceFailed(Exception):
    """A source that could not be read; ``problem`` names it and the database's reason."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def read_source(
    source: SqlSource, root: Path, categorical: tuple[str, ...] = (), numbers: tuple[str, ...] = ()
) -> RawTable:
    """The rows of ``source``'s query, as a table read from a file would be.

    Raises :class:`SourceFailed` (the source named, secrets masked) when the database
    cannot be reached or the query fails, :class:`TableRefused` for a result kpinb will
    not guess about (two columns with one name).
    """
    secrets: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="kpinb-source-") as tmp:
            url = _resolved_url(source, root, secrets)
            engine = _engine(url, root)
            if url.get_backend_name() == "postgresql":
                # the server writes the result as CSV, read as a CSV file is (in C)
                path = Path(tmp) / "result.csv"
                _copy_out(engine, source.query, path)
                raw = read_table(path, categorical, numbers)
                raw = replace(raw, file=source.label, first_row=1)
            else:
                frame = _fetch(engine, source.query, url.get_backend_name())
                raw = raw_from_frame(frame, source.label, categorical, numbers)
    except (SourceFailed, TableRefused) as exc:
        problems = [exc.problem] if isinstance(exc, SourceFailed) else exc.problems
        masked = [
            replace(p, file=source.label, problem=_mask(p.problem, secrets)) for p in problems
        ]
        if isinstance(exc, SourceFailed):
            raise SourceFailed(masked[0]) from None
        raise TableRefused(masked) from None
    except ModuleNotFoundError as exc:
        raise SourceFailed(
            Problem(source.label, f"cannot be read: the module {exc.name!r} is missing", INSTALL)
        ) from None
    except Exception as exc:  # the database's own message, masked
        raise SourceFailed(
            Problem(
                source.label,
                f"the query failed: {_mask(_message(exc), secrets)}",
                "check the URL, that the server is running and the query runs in the database",
            )
        ) from None
    return raw


def _resolved_url(source: SqlSource, root: Path, secrets: list[str]) -> URL:
    """The URL with its ${VAR} expanded, the password from ``password_env`` and an
    embedded database's relative path resolved against ``root``."""
    try:
        from sqlalchemy.engine import make_url
    except ModuleNotFoundError:
        raise SourceFailed(
            Problem(source.label, "cannot be read: SQLAlchemy is not installed", INSTALL)
        ) from None
    missing = [v for v in _VARIABLE.findall(source.url) if v not in os.environ]
    if source.password_env and source.password_env not in os.environ:
        missing.append(source.password_env)
    if missing:
        names = ", ".join(dict.fromkeys(missing))
        raise SourceFailed(
            Problem(
                source.label,
                f"needs the environment variable(s) {names}, which are not set",
                f"set {names} before running kpinb (the password stays out of kpinb.toml)",
            )
        )
    secrets += [os.environ[v] for v in _VARIABLE.findall(source.url) if os.environ[v]]
    text = source.url
    written = _written_password(text)
    if written is not None and (variable := _VARIABLE.fullmatch(written)):
        # a password may hold any character: quoted for the URL (SQLAlchemy unquotes it)
        start = len(text.split("://", 1)[0]) + 3
        text = text[:start] + text[start:].replace(
            written, quote(os.environ[variable[1]], safe=""), 1
        )
    url = make_url(_VARIABLE.sub(lambda m: os.environ[m[1]], text))
    if source.password_env:
        secrets.append(os.environ[source.password_env])
        url = url.set(password=os.environ[source.password_env])
    if url.password:
        secrets.append(str(url.password))
    backend = url.get_backend_name()
    if backend in ("sqlite", "duckdb"):
        if not url.database or url.database == ":memory:":
            raise SourceFailed(
                Problem(
                    source.label,
                    "names no database file",
                    f'give the file after the slashes: "{backend}:///hr.{backend}"',
                )
            )
        path = Path(url.database).expanduser()
        path = path if path.is_absolute() else root / path
        if not path.is_file():
            raise SourceFailed(
                Problem(
                    source.label,
                    f"no database file at {path}",
                    "give the database file's path (a relative path is read from the "
                    "workspace folder)",
                )
            )
        url = url.set(database=str(path.resolve()))
    elif backend == "postgresql" and "+" not in url.drivername:
        # SQLAlchemy's default driver is psycopg2; kpinb[sql] installs psycopg (3)
        url = url.set(drivername="postgresql+psycopg")
    return url


def _engine(url: URL, root: Path) -> Engine:
    """A read-only engine for ``url`` (no pooling: one read, then closed)."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    backend = url.get_backend_name()
    if backend == "sqlite":
        path = str(url.database)

        def connect() -> sqlite3.Connection:
            return sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True)

        return create_engine("sqlite://", creator=connect, poolclass=NullPool)
    if backend == "duckdb":
        return create_engine(url, connect_args={"read_only": True}, poolclass=NullPool)
    return create_engine(
        url,
        connect_args={"options": "-c default_transaction_read_only=on", "connect_timeout": 10},
        poolclass=NullPool,
    )


CHUNK_ROWS = 200_000  # rows fetched at a time: a large result never sits twice in memory


def _fetch(engine: Engine, query: str, backend: str) -> pd.DataFrame:
    """Run ``query``; its rows as a frame (typed as returned).

    The driver's own cursor is used (plain tuples, fetched in chunks): SQLAlchemy's rows
    cost more than the query on a large table.
    """
    parts: list[pd.DataFrame] = []
    try:
        with engine.connect() as conn:
            # the pool's connection always holds a DBAPI connection while checked out
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                if backend == "duckdb":  # the result as Arrow, in C (the same as Parquet's)
                    table = cursor.sql(query).to_arrow_table()
                    frame: pd.DataFrame = table.to_pandas(
                        date_as_object=True, coerce_temporal_nanoseconds=False
                    )
                    return frame
                cursor.execute(query)
                columns = [str(d[0]) for d in cursor.description or ()]
                while rows := cursor.fetchmany(CHUNK_ROWS):
                    parts.append(_frame(rows, columns))
            finally:
                cursor.close()
                conn.rollback()
    finally:
        engine.dispose()
    if not parts:
        empty = {i: pd.Series(dtype=object) for i in range(len(columns))}
        return pd.DataFrame(empty).set_axis(columns, axis=1)
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def _copy_out(engine: Engine, query: str, path: Path) -> None:
    """Write ``query``'s result to ``path`` as CSV with a header (PostgreSQL's COPY), in a
    read-only transaction."""
    statement = query.strip().rstrip(";")
    try:
        with engine.connect() as conn, path.open("wb") as out:
            # the pool's connection always holds a DBAPI connection while checked out
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute("SET TRANSACTION READ ONLY")
                with cursor.copy(f"COPY ({statement}) TO STDOUT (FORMAT csv, HEADER)") as copy:
                    for data in copy:
                        out.write(data)
            finally:
                cursor.close()
                conn.rollback()
    finally:
        engine.dispose()


def _frame(rows: Sequence[Any], columns: list[str]) -> pd.DataFrame:
    """Rows (tuples) as a frame, one column at a time; a database's decimals as floats."""
    data = {}
    for i, values in enumerate(zip(*rows, strict=True)):
        column = pd.Series(values)
        if column.dtype == object:
            first = next((v for v in values if v is not None), None)
            if isinstance(first, Decimal):
                column = column.astype("float64")
        data[i] = column
    return pd.DataFrame(data).set_axis(columns, axis=1)


def _message(exc: BaseException) -> str:
    """The database's own message (SQLAlchemy's wrapper and the SQL left out), one line."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    kept = [line for line in lines if not line.startswith(("[SQL:", "(Background on"))]
    return " ".join(kept) or type(exc).__name__


def _mask(text: str, secrets: list[str]) -> str:
    """``text`` with every secret replaced by ``***`` (longest first, quoted forms too)."""
    for secret in sorted(
        {s for s in secrets if s} | {quote(s, safe="") for s in secrets if s}, key=len, reverse=True
    ):
        text = text.replace(secret, MASK)
    return text

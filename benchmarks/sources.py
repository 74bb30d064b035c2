"""Benchmark: loading a workspace from a database against loading it from Parquet files.

The workspace is the analytics benchmark's (``benchmarks/analytics.py``: N people x 10
KPIs x W weeks, 3% of weeks missing; 10.4 million observations at the defaults), written
once as Parquet files and once into the tables of a throwaway PostgreSQL server
(``tests/support/postgres.py``; as root it runs as Debian's ``postgres`` user), and with
``--duckdb`` into a DuckDB file too. Each is then loaded and checked with
``load_workspace`` (the fastest of ``--repeat`` runs counts), in the same run, and the
ratio to Parquet printed.

Run: ``.venv/bin/python benchmarks/sources.py [--people N] [--weeks W] [--duckdb]``
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

from kpinb.workspace import Workspace, load_workspace

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("people", "teams", "observations", "targets")
ENV = "KPINB_BENCH_DB_PASSWORD"


def _analytics_workspace(people: int, weeks: int) -> Workspace:
    """``benchmarks/analytics.py``'s synthetic workspace."""
    spec = importlib.util.spec_from_file_location(
        "bench_analytics", ROOT / "benchmarks" / "analytics.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build(people, weeks)  # type: ignore[no-any-return]


def _kpis_yaml(ws: Workspace) -> str:
    entries = []
    for kpi in ws.kpis.values():
        entry = {
            k: getattr(kpi, k)
            for k in ("id", "name", "unit", "direction", "kind", "type", "cadence", "rollup")
        }
        entry |= {"owner": kpi.owner, "source": kpi.source, "formula": kpi.formula}
        if kpi.pair:
            entry["pair"] = kpi.pair
        if kpi.versions:
            entry["versions"] = [
                {"effective_from": v.effective_from.date().isoformat(), "change": v.change}
                for v in kpi.versions
            ]
        entries.append(entry)
    return yaml.safe_dump({"kpis": entries}, sort_keys=False)


def _frames(ws: Workspace) -> dict[str, pd.DataFrame]:
    obs = ws.observations[["employee_id", "kpi_id", "period", "value"]].copy()
    for column in ("employee_id", "kpi_id"):
        obs[column] = obs[column].astype(str)
    people = ws.people.copy()
    people["start_date"] = pd.to_datetime(people["start_date"]).dt.date
    return {"people": people, "teams": ws.teams, "observations": obs, "targets": ws.targets}


def write_parquet(root: Path, ws: Workspace) -> None:
    root.mkdir(parents=True)
    (root / "kpis.yaml").write_text(_kpis_yaml(ws))
    for name, frame in _frames(ws).items():
        frame.to_parquet(root / f"{name}.parquet", index=False)


_COLUMNS = {
    "people": "employee_id text, name text, team_id text, manager_id text, role text, "
    "start_date date",
    "teams": "team_id text, name text, department text",
    "observations": "employee_id text, kpi_id text, period date, value double precision",
    "targets": "scope text, scope_id text, kpi_id text, period text, target double precision, "
    "baseline double precision",
}


def write_postgres(root: Path, ws: Workspace, cluster: object) -> None:
    """The tables into the server (COPY), and a workspace folder reading them."""
    import psycopg

    from tests.support import postgres as pg

    url = cluster.create_database("bench")  # type: ignore[attr-defined]
    with (
        psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn,
        conn.cursor() as cur,
    ):
        for name, frame in _frames(ws).items():
            cur.execute(f"create table {name} ({_COLUMNS[name]})")
            with cur.copy(f"copy {name} from stdin (format csv)") as copy:
                for start in range(0, len(frame), 500_000):
                    copy.write(
                        frame.iloc[start : start + 500_000].to_csv(index=False, header=False)
                    )
    root.mkdir(parents=True)
    (root / "kpis.yaml").write_text(_kpis_yaml(ws))
    read = cluster.url("bench")  # type: ignore[attr-defined]
    (root / "kpinb.toml").write_text(
        "".join(
            f'[sources.{n}]\nurl = "{read}"\ntable = "{n}"\npassword_env = "{ENV}"\n\n'
            for n in TABLES
        )
    )
    os.environ[ENV] = pg.PASSWORD


def write_duckdb(root: Path, parquet: Path) -> None:
    import duckdb

    root.mkdir(parents=True)
    (root / "kpis.yaml").write_text((parquet / "kpis.yaml").read_text())
    with duckdb.connect(str(root / "hr.duckdb")) as db:
        for name in TABLES:
            db.execute(
                f"create table {name} as select * from read_parquet('{parquet / name}.parquet')"
            )
    (root / "kpinb.toml").write_text(
        "".join(f'[sources.{n}]\nurl = "duckdb:///hr.duckdb"\ntable = "{n}"\n\n' for n in TABLES)
    )


def _fastest(root: Path, repeat: int) -> tuple[float, int]:
    best, rows = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        ws = load_workspace(root)
        best = min(best, time.perf_counter() - start)
        rows = len(ws.observations)
    return best, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--repeat", type=int, default=1, help="loads of each; the fastest counts")
    parser.add_argument("--duckdb", action="store_true", help="a DuckDB file as well")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))  # tests/support/postgres.py: the throwaway server
    from tests.support import postgres as pg

    ws = _analytics_workspace(args.people, args.weeks)
    print(f"workspace: {args.people:,} people, {len(ws.observations):,} observations")
    cluster = pg.start()
    try:
        with tempfile.TemporaryDirectory(prefix="kpinb-bench-sources-") as tmp:
            folders = {"parquet": Path(tmp) / "parquet", "postgresql": Path(tmp) / "postgresql"}
            write_parquet(folders["parquet"], ws)
            write_postgres(folders["postgresql"], ws, cluster)
            if args.duckdb:
                folders["duckdb"] = Path(tmp) / "duckdb"
                write_duckdb(folders["duckdb"], folders["parquet"])
            # imports paid before timing: pandera's checks, SQLAlchemy and the drivers
            load_workspace(ROOT / "tests" / "data" / "workspace")
            import duckdb_engine  # noqa: F401
            import psycopg  # noqa: F401
            import sqlalchemy  # noqa: F401

            seconds = {}
            for kind, folder in folders.items():
                seconds[kind], rows = _fastest(folder, args.repeat)
                print(f"load from {kind:<10}: {seconds[kind]:7.2f} s  ({rows:,} observations)")
            for kind in folders:
                if kind != "parquet":
                    ratio = seconds[kind] / seconds["parquet"]
                    print(f"{kind} / parquet: {ratio:.1f}x")
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()

"""Workspace tables from SQL sources ([sources.NAME] in kpinb.toml) on real databases:
SQLite and DuckDB files, and a throwaway PostgreSQL server (the ``postgres`` fixture)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from kpinb.cli.main import main
from kpinb.workspace import adopt_workspace, load_workspace, validate_workspace, workspace_bytes
from kpinb.workspace.schema import TABLES
from tests.support import postgres as pg
from tests.support.databases import execute, sources_toml, table_frames, write_tables

pytestmark = pytest.mark.sql  # the sql extra's packages (make floors runs the core)

PERIOD = "2026-Q3"
ENV = "KPINB_TEST_DB_PASSWORD"
REPORTS = (
    ("employee", "E001", "employee"),
    ("team", "T01", "manager"),
    ("department", "Sales", "executive"),
)


def _sql_workspace(
    workspace_dir: Path, root: Path, write_url: str, read_url: str, **extra: str
) -> Path:
    """A copy of the test workspace whose tables all come from the database instead."""
    shutil.copytree(workspace_dir, root, dirs_exist_ok=True)
    frames = table_frames(workspace_dir)
    write_tables(write_url, frames)
    for name in frames:
        (root / f"{name}.csv").unlink()
    settings = (workspace_dir / "kpinb.toml").read_text(encoding="utf-8")  # kept as they are
    (root / "kpinb.toml").write_text(
        settings + "\n" + sources_toml(read_url, list(frames), **extra)
    )
    return root


def _reports(ws, journal: Path, monkeypatch) -> list[tuple[str, str]]:
    from kpinb.report import build_report, charts

    monkeypatch.setattr(charts, "to_svg", lambda chart: '<svg class="stub"></svg>')
    out = []
    for scope, scope_id, view in REPORTS:
        report = build_report(ws, scope, scope_id, PERIOD, view, journal_root=journal)
        out.append((report.to_html(), json.dumps(report.to_json(), sort_keys=True)))
    return out


@pytest.fixture
def files_ws(workspace_dir: Path, tmp_path: Path):
    root = tmp_path / "files"
    shutil.copytree(workspace_dir, root)
    return load_workspace(root)


def _database(kind: str, root: Path, postgres_factory, monkeypatch) -> tuple[str, str, dict]:
    """(URL to write with, URL kpinb.toml names, extra keys) for ``kind``."""
    root.mkdir(parents=True, exist_ok=True)
    if kind == "sqlite":
        return f"sqlite:///{root / 'hr.sqlite'}", "sqlite:///hr.sqlite", {}
    if kind == "duckdb":
        return f"duckdb:///{root / 'hr.duckdb'}", "duckdb:///hr.duckdb", {}
    cluster = postgres_factory()
    write = cluster.create_database("twins")
    monkeypatch.setenv(ENV, pg.PASSWORD)
    return write, cluster.url("twins"), {"password_env": ENV}


@pytest.mark.parametrize("kind", ["sqlite", "duckdb", "postgresql"])
def test_a_workspace_read_from_a_database_gives_the_same_tables_and_byte_identical_reports(
    kind, workspace_dir, files_ws, tmp_path, request, monkeypatch
):
    write, read, extra = _database(
        kind, tmp_path / "sql", lambda: request.getfixturevalue("postgres"), monkeypatch
    )
    root = _sql_workspace(workspace_dir, tmp_path / "sql", write, read, **extra)
    sql_ws = load_workspace(root)
    assert not any(p.exists() for p in root.glob("people.*"))  # the rows came from the database
    for name in TABLES:
        # the same values and dtypes (a categorical's internal order of categories aside)
        pd.testing.assert_frame_equal(
            getattr(sql_ws, name), getattr(files_ws, name), obj=name, check_categorical=False
        )
    assert sql_ws.kpis == files_ws.kpis
    journal = tmp_path / "journal"
    journal.mkdir()
    assert _reports(sql_ws, journal, monkeypatch) == _reports(files_ws, journal, monkeypatch)


def _sqlite_ws(workspace_dir: Path, tmp_path: Path) -> tuple[Path, str]:
    root = tmp_path / "ws"
    root.mkdir()
    write = f"sqlite:///{root / 'hr.sqlite'}"
    _sql_workspace(workspace_dir, root, write, "sqlite:///hr.sqlite")
    return root, write


def _problems(root: Path) -> list[str]:
    result = validate_workspace(root)
    assert result.workspace is None
    return [str(p) for p in result.problems]


def test_a_wrong_type_a_null_id_and_duplicate_rows_are_named_by_the_source_and_row(
    workspace_dir, tmp_path
):
    root, write = _sqlite_ws(workspace_dir, tmp_path)
    execute(
        write,
        # result rows are counted from 1 in the query's order (rowid order here)
        "update observations set value = 'lots' where rowid = 3",
        "update people set employee_id = NULL where employee_id = 'E005'",
        "insert into teams select * from teams where team_id = 'T01'",
    )
    problems = "\n".join(_problems(root))
    label = "kpinb.toml [sources.{}] (sqlite:///hr.sqlite)"
    assert (
        f"{label.format('observations')}, row 3, column 'value': 'lots' is not a number" in problems
    )
    assert f"{label.format('people')}, row 5, column 'employee_id': is empty" in problems
    assert f"{label.format('teams')}, rows 1, 3, column 'team_id': 'T01'" in problems


def test_a_query_picks_and_renames_columns_and_its_rows_are_what_is_read(workspace_dir, tmp_path):
    root, write = _sqlite_ws(workspace_dir, tmp_path)
    execute(write, "alter table teams rename column name to team_name")
    (root / "kpinb.toml").write_text(
        (root / "kpinb.toml")
        .read_text()
        .replace(
            'table = "teams"',
            'query = "select team_id, team_name as name, department from teams '
            "where team_id <> 'T04'\"",
        )
    )
    problems = _problems(root)  # T04's people now point at a team that is not read
    assert any("T04" in p and "people" in p for p in problems), problems


def test_a_missing_table_a_wrong_url_and_a_missing_file_are_named_and_nothing_is_written(
    workspace_dir, tmp_path, capsys
):
    root, _ = _sqlite_ws(workspace_dir, tmp_path)
    toml = (root / "kpinb.toml").read_text()
    toml = toml.replace('table = "goals"', 'table = "no_such_goals"')
    toml = toml.replace(
        'sqlite:///hr.sqlite"\ntable = "ratings"', 'sqlite:///nowhere.db"\ntable = "ratings"'
    )
    (root / "kpinb.toml").write_text(toml)
    before = (root / "hr.sqlite").read_bytes()
    out = tmp_path / "reports"
    assert main(["run", str(root), "--period", PERIOD, "--out", str(out)]) == 2
    text = capsys.readouterr()
    said = text.out + text.err
    assert (
        "[sources.goals] (sqlite:///hr.sqlite)" in said and "no such table: no_such_goals" in said
    )
    assert "[sources.ratings] (sqlite:///nowhere.db)" in said and "no database file at" in said
    assert not out.exists() and "nothing was written" in said
    assert (root / "hr.sqlite").read_bytes() == before
    assert not (root / "nowhere.db").exists()  # read-only: a missing file is not created


@pytest.mark.parametrize("kind", ["sqlite", "duckdb", "postgresql"])
def test_reading_is_read_only(kind, workspace_dir, tmp_path, request, monkeypatch):
    write, read, extra = _database(
        kind, tmp_path / "ws", lambda: request.getfixturevalue("postgres"), monkeypatch
    )
    root = _sql_workspace(workspace_dir, tmp_path / "ws", write, read, **extra)
    delete = {
        "sqlite": "delete from teams returning *",
        "duckdb": "delete from teams returning *",
        "postgresql": "delete from teams returning *",
    }[kind]
    toml = (root / "kpinb.toml").read_text().replace('table = "teams"', f'query = "{delete}"')
    (root / "kpinb.toml").write_text(toml)
    problems = "\n".join(_problems(root))
    assert "[sources.teams]" in problems and "the query failed" in problems
    assert {"sqlite": "readonly", "duckdb": "read-only", "postgresql": "read-only"}[
        kind
    ] in problems
    toml = toml.replace(f'query = "{delete}"', 'table = "teams"')
    (root / "kpinb.toml").write_text(toml)
    assert len(load_workspace(root).teams) == 2  # nothing was deleted


def test_a_password_is_never_in_the_file_and_never_in_any_message(
    postgres, workspace_dir, tmp_path, monkeypatch, capsys
):
    write = postgres.create_database("secrets")
    root = _sql_workspace(workspace_dir, tmp_path / "ws", write, postgres.url("secrets"))
    toml = (root / "kpinb.toml").read_text()
    # a password written in the URL is refused, without being echoed
    (root / "kpinb.toml").write_text(toml.replace("kpinb@", f"kpinb:{pg.PASSWORD}@", 1))
    problems = _problems(root)
    assert any("holds a password; a password never goes in kpinb.toml" in p for p in problems)
    # from the environment: ${VAR} in the URL, then password_env
    (root / "kpinb.toml").write_text(toml.replace("kpinb@", f"kpinb:${{{ENV}}}@"))
    assert _problems(root)[0].endswith(
        f"set {ENV} before running kpinb (the password stays out of kpinb.toml)"
    )
    monkeypatch.setenv(ENV, pg.PASSWORD)
    capsys.readouterr()
    assert main(["validate", str(root)]) == 0
    # each source's URL as written, the variable named, never its value
    shown = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("  [sources.")]
    url = postgres.url("secrets").replace("kpinb@", "kpinb:***@")
    assert shown == [
        f"  [sources.{name}]: {url}, from the environment: ${ENV}"
        for name in table_frames(workspace_dir)
    ]
    # a wrong password, a wrong port, a failing query: the database's message, masked
    monkeypatch.setenv(ENV, pg.PASSWORD + "x")
    assert main(["validate", str(root)]) == 1
    wrong_port = toml.replace(f":{postgres.port}/", ":1/", 1).replace(
        "kpinb@", f"kpinb:${{{ENV}}}@", 1
    )
    (root / "kpinb.toml").write_text(wrong_port)
    monkeypatch.setenv(ENV, pg.PASSWORD)
    assert main(["validate", str(root)]) == 1
    failing = toml.replace('table = "people"', f"query = \"select '{pg.PASSWORD}'::int\"")
    (root / "kpinb.toml").write_text(
        failing.replace("[sources.people]", f'[sources.people]\npassword_env = "{ENV}"')
    )
    assert main(["validate", str(root)]) == 1
    said = capsys.readouterr()
    text = said.out + said.err
    assert 'password authentication failed for user "kpinb"' in text
    assert "Connection refused" in text or "connection refused" in text.lower()
    assert "invalid input syntax for type integer" in text
    assert pg.PASSWORD not in text


def test_the_loader_cache_never_reuses_rows_of_a_database(
    postgres, workspace_dir, tmp_path, monkeypatch
):
    write = postgres.create_database("cache")
    monkeypatch.setenv(ENV, pg.PASSWORD)
    root = _sql_workspace(
        workspace_dir, tmp_path / "ws", write, postgres.url("cache"), password_env=ENV
    )
    first = load_workspace(root, cache=True)
    execute(write, "update teams set name = 'Sales South' where team_id = 'T01'")
    second = load_workspace(root, cache=True)  # no file changed: the rows did
    assert second is not first
    assert second.teams.set_index("team_id").loc["T01", "name"] == "Sales South"
    # the snapshot a batch hands its kernels is reused, as is
    adopted = adopt_workspace(root, workspace_bytes(first))
    assert load_workspace(root, cache=True) is adopted


def test_a_rerun_rebuilds_only_the_reports_whose_rows_changed(workspace_dir, tmp_path):
    from kpinb.batch.planning.plan import find_notebooks_dir, make_jobs, plan_requests
    from kpinb.periods import parse_period

    root, write = _sqlite_ws(workspace_dir, tmp_path)
    per = parse_period(PERIOD)

    def keys() -> dict[tuple[str, str, str], str]:
        ws = load_workspace(root)
        jobs = make_jobs(ws, per, plan_requests(ws, per), notebooks_dir=find_notebooks_dir())
        return {(j.files.scope, j.files.scope_id, j.files.view): j.key for j in jobs}

    before = keys()
    assert keys() == before  # the same rows read again: nothing to rebuild
    people = load_workspace(root).people
    quiet = people[(people["manager_id"] != "") & ~people["employee_id"].isin(people["manager_id"])]
    person = quiet["employee_id"].iloc[0]
    execute(
        write,
        "update observations set value = value + 1 where rowid = "
        f"(select min(rowid) from observations where employee_id = '{person}')",
    )
    after = keys()
    changed = {k for k in before if before[k] != after[k]}
    assert ("employee", person, "employee") in changed
    assert len(changed) < len(before) / 2, changed


def test_the_core_loads_without_the_sql_extra_and_a_source_then_says_how_to_get_it(
    workspace_dir, tmp_path
):
    import subprocess
    import sys

    root, _ = _sqlite_ws(workspace_dir, tmp_path)
    code = (
        "import sys\n"
        "for name in ('sqlalchemy', 'duckdb', 'duckdb_engine', 'psycopg'):\n"
        "    sys.modules[name] = None  # as if not installed\n"
        "from kpinb.workspace import load_workspace, validate_workspace\n"
        "load_workspace(sys.argv[1])\n"
        "for problem in validate_workspace(sys.argv[2]).problems:\n"
        "    print(problem)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(workspace_dir), str(root)],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert len(lines) == 7  # one sentence per source, no traceback
    assert lines[0] == (
        "kpinb.toml [sources.teams] (sqlite:///hr.sqlite): cannot be read: SQLAlchemy is not "
        "installed. Fix: install the SQL extra: pip install 'kpinb[sql]'"
    )


def test_every_problem_of_a_sources_section_is_named_with_its_key():
    from kpinb.workspace.sources import parse_sources

    sources, problems = parse_sources(
        {
            "people": {"url": "mysql://db/hr", "table": "people", "colour": "red"},
            "teams": {"url": "sqlite:///hr.db", "table": "teams", "query": "select 1"},
            "goals": {"table": "goals"},
            "ratings": {"url": "postgresql://kpinb:pa/ss@db/hr", "table": "ratings"},
            "targets": {"url": "postgresql://kpinb@db/hr", "query": "select * from t"},
        }
    )
    said = {(p.column, p.problem) for p in problems}
    assert (
        "sources.people.url",
        "names the database 'mysql', which kpinb cannot read read-only",
    ) in said
    assert ("sources.people.colour", "is not a key kpinb knows") in said
    assert ("sources.teams.query", "give exactly one of query and table") in said
    assert ("sources.goals.url", "is missing") in said
    assert ("sources.ratings.url", "holds a password; a password never goes in kpinb.toml") in said
    assert not any("pa/ss" in str(p) for p in problems)
    assert list(sources) == ["targets"]
    assert sources["targets"].label == ("kpinb.toml [sources.targets] (postgresql://kpinb@db/hr)")


def test_a_table_from_a_file_and_a_source_and_a_source_of_no_table_are_refused(
    workspace_dir, tmp_path
):
    root, _ = _sqlite_ws(workspace_dir, tmp_path)
    shutil.copy(workspace_dir / "teams.csv", root / "teams.csv")
    with (root / "kpinb.toml").open("a") as toml:
        toml.write('\n[sources.opportunities]\nurl = "sqlite:///hr.sqlite"\ntable = "x"\n')
    problems = _problems(root)
    assert (
        "kpinb.toml [sources.teams] (sqlite:///hr.sqlite): the table 'teams' is given twice: "
        "by teams.csv and by [sources.teams]. Fix: keep one: delete or rename teams.csv, or "
        "remove [sources.teams]"
    ) in problems
    assert any(
        "sources.opportunities" in p
        and "is neither a table of the workspace nor an event table a KPI reads" in p
        for p in problems
    ), problems


def test_a_timestamp_with_a_time_zone_counts_for_its_local_date(
    postgres, workspace_dir, files_ws, tmp_path, monkeypatch
):
    write = postgres.create_database("zones")
    monkeypatch.setenv(ENV, pg.PASSWORD)
    root = _sql_workspace(
        workspace_dir, tmp_path / "ws", write, postgres.url("zones"), password_env=ENV
    )
    # PostgreSQL writes '2022-10-03 00:00:00+00' (the hour alone when minutes are 0)
    query = (
        "select employee_id, name, team_id, manager_id, role, level, location, "
        "(start_date::timestamp at time zone 'UTC') as start_date from people"
    )
    toml = (root / "kpinb.toml").read_text()
    (root / "kpinb.toml").write_text(toml.replace('table = "people"', f'query = "{query}"'))
    pd.testing.assert_frame_equal(load_workspace(root).people, files_ws.people)


def test_a_reader_whose_password_holds_any_character_comes_in_through_the_environment(
    postgres, workspace_dir, tmp_path, monkeypatch, capsys
):
    secret = "r@d/x:%2F!"  # ("@", "/", ":" and "%" all mean something in a URL)
    write = postgres.create_database("roles")
    url = postgres.url("roles").replace(f"{pg.USER}@", "reader:${KPINB_READER}@")
    root = _sql_workspace(workspace_dir, tmp_path / "ws", write, url)
    execute(
        write,
        f"create role reader login password '{secret}'",
        "grant select on all tables in schema public to reader",
    )
    monkeypatch.setenv("KPINB_READER", secret)
    assert len(load_workspace(root).people) == 12
    assert main(["validate", str(root)]) == 0
    said = capsys.readouterr()
    assert secret not in said.out + said.err

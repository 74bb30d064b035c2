"""``kpinb deliver`` through a real SMTP server on 127.0.0.1 (aiosmtpd, in this process).

The reports are those of the test workspace (employee and manager views), published as
the batch publishes them (charts stubbed), with a ``run.json``; every reader has an
address. E001 manages E002..E006 (team T01), E007 manages E008..E012 (team T04).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import html
import json
import shutil
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from aiosmtpd.controller import Controller

from kpinb import journal
from kpinb.batch.formats.page import HTML
from kpinb.batch.formats.twin import JSON, dumps_json
from kpinb.batch.planning import plan
from kpinb.batch.publish import delivery, reports
from kpinb.batch.publish.folder import make_staging
from kpinb.cli import deliver as deliver_cli
from kpinb.cli.main import main
from kpinb.hashing import sha256_file
from kpinb.journal import Entry
from kpinb.periods import parse_period
from kpinb.report import build_report, charts
from kpinb.workspace import load_workspace

Q3 = parse_period("2026-Q3")
# each manager's people (the test workspace's two teams)
TEAMS = {"E001": [f"E{i:03d}" for i in range(2, 7)], "E007": [f"E{i:03d}" for i in range(8, 13)]}
SENDER = "hr@example.com"


# --- the server ------------------------------------------------------------------------


class Mailbox:
    """An aiosmtpd handler that keeps every accepted message; it refuses the addresses
    in ``refuse`` (550) and, once ``drop_after`` messages are in, drops every connection
    at the DATA command without an answer (a server or network gone midway)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.refuse: set[str] = set()
        self.drop_after: int | None = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.drop_after is not None and len(self.messages) >= self.drop_after:
            server.transport.abort()
            return "421 gone"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpt, m in self.messages if address in rcpt]


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on 127.0.0.1 and a free port, for one test."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()
        asyncio.set_event_loop(None)


# --- the workspace and its reports -------------------------------------------------------


def address(eid: str) -> str:
    return f"{eid.lower()}@example.com"


def publish_period(
    root: Path, out: Path, views: tuple[str, ...] = ("employee", "manager")
) -> dict[str, str]:
    """Build and publish the period's reports in ``views`` of the workspace at ``root``
    into ``out/2026-Q3`` with a run.json; returns page -> bytes' hash (to see which
    changed). A page whose report did not change keeps its bytes."""
    ws = load_workspace(root)
    period_dir = out / Q3.label
    period_dir.mkdir(parents=True, exist_ok=True)
    staging = make_staging(period_dir)
    requests = plan.plan_requests(ws, Q3, views=list(views))
    files = plan.plan_files((r.scope, r.scope_id, r.view, r.primary) for r in requests)
    rows = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(charts, "to_svg", lambda chart: '<svg class="stub"></svg>')
        for request, where in zip(requests, files, strict=True):
            report = build_report(ws, request.scope, request.scope_id, Q3, request.view)
            twin = report.to_json()
            reports.publish(
                period_dir,
                where,
                twin,
                {HTML: report.to_html(), JSON: dumps_json(twin)},
                name=request.name,
                key="k",
                staging=staging,
            )
            rows.append(
                {"scope": where.scope, "id": where.scope_id, "view": where.view,
                 "html": str(where.html), "json": str(where.json), "status": "written"}
            )  # fmt: skip
    shutil.rmtree(staging)
    manifest = {"period": Q3.label, "workspace": root.name, "reports": rows}
    (period_dir / "run.json").write_text(json.dumps(manifest), "utf-8")
    return {r["html"]: sha256_file(period_dir / r["html"]) for r in rows}


@pytest.fixture(scope="module")
def built(workspace_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The test workspace with every address and its check-ins, and its published reports."""
    base = tmp_path_factory.mktemp("deliver")
    root = base / "ws"
    shutil.copytree(workspace_dir, root)
    people = pd.read_csv(root / "people.csv", dtype=str, keep_default_na=False)
    people["email"] = people["employee_id"].map(address)
    people.to_csv(root / "people.csv", index=False)
    journal.import_checkins(root, root / "checkins.csv")
    publish_period(root, base / "reports")
    return root, base / "reports"


@pytest.fixture
def fresh(built: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the workspace (its own journal, so its own delivery log) and reports."""
    root, out = built
    shutil.copytree(root, tmp_path / "ws")
    shutil.copytree(out, tmp_path / "reports")
    return tmp_path / "ws", tmp_path / "reports"


def deliver(root: Path, out: Path, port: int, *extra: str) -> int:
    return main([
        "deliver", str(root), "--period", "2026-Q3", "--reports", str(out), "--sender", SENDER,
        "--smtp-host", "127.0.0.1", "--smtp-port", str(port), "--security", "none", *extra,
    ])  # fmt: skip


def readable_text(msg: EmailMessage) -> str:
    """Everything a reader sees: headers, body and every text attachment, unescaped."""
    parts = [f"{k}: {v}" for k, v in msg.items()]
    for part in msg.walk():
        if part.is_multipart():
            continue
        content = part.get_content()
        parts.append(content if isinstance(content, str) else content.decode("latin-1"))
        parts.append(str(part.get_filename() or ""))
    return html.unescape("\n".join(parts))


def attachments(msg: EmailMessage) -> list[str]:
    return sorted(str(p.get_filename()) for p in msg.iter_attachments())


# --- tests ---------------------------------------------------------------------------------


def test_each_reader_gets_exactly_their_reports_and_no_one_elses_name(
    fresh: tuple[Path, Path], smtp: tuple[Mailbox, int], capsys: pytest.CaptureFixture[str]
) -> None:
    root, out = fresh
    box, port = smtp
    assert deliver(root, out, port) == 0
    assert "12 message(s) sent, 0 reader(s) already had everything" in capsys.readouterr().out
    people = pd.read_csv(root / "people.csv", dtype=str)
    names = dict(zip(people["employee_id"], people["name"], strict=True))
    assert len(box.messages) == 12  # one per reader
    for eid, name in names.items():
        (msg,) = box.to(address(eid))
        people_of = TEAMS.get(eid, [])
        expected = [f"{eid}.html", *(f"{p}.manager.html" for p in people_of)]
        if people_of:
            expected.append("T01.html" if eid == "E001" else "T04.html")
        assert attachments(msg) == sorted(expected)
        assert msg["Subject"] == f"Coaching reports 2026-Q3 for {name}"
        text = readable_text(msg)
        allowed = {eid, *people_of}
        for other, other_name in names.items():
            if other in allowed:
                continue
            assert other_name not in text, (eid, other_name)
            assert other not in text, (eid, other)
            for word in other_name.replace("'", " ").split():  # a first or last name alone
                if len(word) > 3:
                    assert word not in text, (eid, word)
    log = journal.delivery_log(root, "2026-Q3")
    assert log["result"].tolist() == ["sent"] * 12
    assert sorted(log["recipient_id"]) == sorted(names)


def test_a_rerun_sends_nothing_and_a_changed_check_in_sends_one_update_to_its_readers(
    fresh: tuple[Path, Path], smtp: tuple[Mailbox, int], capsys: pytest.CaptureFixture[str]
) -> None:
    root, out = fresh
    box, port = smtp
    assert deliver(root, out, port) == 0
    assert deliver(root, out, port) == 0
    assert len(box.messages) == 12  # the rerun sent nothing
    assert "0 message(s) sent, 12 reader(s) already had everything" in capsys.readouterr().out
    manifest = json.loads((out / "2026-Q3" / "run.json").read_text("utf-8"))
    before = {r["html"]: sha256_file(out / "2026-Q3" / r["html"]) for r in manifest["reports"]}
    entry = Entry(
        dt.date(2026, 9, 20), "E003", "José Núñez", "pipeline review moved to Fridays",
        why_moved="a new routine", diagnosis="execution",
    )  # fmt: skip
    journal.add_entry(root, entry)
    after = publish_period(root, out)
    changed = sorted(page for page in after if after[page] != before[page])
    assert "employees/E003.manager.html" in changed  # the manager's view shows check-ins
    box.messages.clear()
    assert deliver(root, out, port) == 0
    readers = {
        "employees/E003.html": "E003",
        "employees/E003.manager.html": "E001",
        "teams/T01.html": "E001",
    }
    assert set(changed) <= set(readers)  # nothing about the other team changed
    wanted = {readers[p] for p in changed}
    assert sorted(r[0] for r, _ in box.messages) == sorted(address(e) for e in wanted)
    for rcpt, msg in box.messages:
        assert str(msg["Subject"]).startswith("Updated: Coaching reports 2026-Q3")
        mine = [p.rsplit("/", 1)[1] for p in changed if address(readers[p]) == rcpt[0]]
        assert attachments(msg) == sorted(mine)
        assert "(updated)" in msg.get_body(("plain",)).get_content()
    assert deliver(root, out, port) == 0  # and once more: nothing
    assert len(box.messages) == len(wanted)


def test_a_run_cut_off_midway_then_rerun_delivers_each_message_exactly_once(
    fresh: tuple[Path, Path], smtp: tuple[Mailbox, int], capsys: pytest.CaptureFixture[str]
) -> None:
    root, out = fresh
    box, port = smtp
    box.drop_after = 5
    assert deliver(root, out, port) == 1
    err = capsys.readouterr().err
    assert "7 message(s) not sent" in err and "Run the same command again" in err
    assert len(box.messages) == 5
    assert journal.delivery_log(root)["result"].tolist() == ["sent"] * 5
    box.drop_after = None
    assert deliver(root, out, port) == 0
    assert "7 message(s) sent, 5 reader(s) already had everything" in capsys.readouterr().out
    received = sorted(r[0] for r, _ in box.messages)
    assert received == sorted(address(f"E{i:03d}") for i in range(1, 13))  # each once


def test_a_refused_reader_fails_alone_and_is_named(
    fresh: tuple[Path, Path], smtp: tuple[Mailbox, int], capsys: pytest.CaptureFixture[str]
) -> None:
    root, out = fresh
    box, port = smtp
    box.refuse = {address("E004")}
    assert deliver(root, out, port) == 1
    captured = capsys.readouterr()
    assert "11 message(s) sent, 0 reader(s) already had everything, 1 refused" in captured.out
    assert "refused by the server: Lukas Schmidt <e004@example.com> (550 5.1.1 no such " in (
        captured.err
    )
    assert len(box.messages) == 11 and not box.to(address("E004"))
    log = journal.delivery_log(root)
    assert log.loc[log["recipient_id"] == "E004", "result"].tolist() == ["refused"]
    box.refuse = set()
    assert deliver(root, out, port) == 0  # once accepted, E004 gets theirs, nobody else
    assert [r for r, _ in box.messages[11:]] == [[address("E004")]]


def test_a_dry_run_writes_the_outbox_lists_it_and_sends_nothing(
    fresh: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root, out = fresh
    (out / "2026-Q3" / "employees" / "E002.pdf").write_bytes(b"%PDF-1.4 stand-in")
    people = pd.read_csv(root / "people.csv", dtype=str, keep_default_na=False)
    people.loc[people["employee_id"] == "E009", "email"] = ""
    people.to_csv(root / "people.csv", index=False)
    outbox = out / "outbox"
    code = main([  # no --period: the latest quarter the data covers to its end, 2026-Q3
        "deliver", str(root), "--reports", str(out), "--dry-run", "--outbox", str(outbox),
    ])  # fmt: skip
    assert code == 0
    captured = capsys.readouterr()
    assert "dry run: 11 message(s) written to" in captured.out
    assert "not sent: Kwame Mensah (E009) has no valid email" in captured.err
    lines = captured.out.splitlines()
    assert lines[0].split() == ["recipient", "reports", "size"]
    assert lines[2].split()[:4] == [
        "Siobhán",
        "O'Brien",
        "<e002@example.com>",
        "employee/E002/employee",
    ]
    emls = sorted(outbox.glob("*.eml"))
    assert len(emls) == 11 and (outbox.stat().st_mode & 0o777) == 0o700
    assert all((p.stat().st_mode & 0o777) == 0o600 for p in emls)
    msg = email.message_from_bytes(emls[1].read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    assert attachments(msg) == ["E002.html", "E002.pdf"]
    pdf = next(p for p in msg.iter_attachments() if p.get_filename() == "E002.pdf")
    assert pdf.get_content_type() == "application/pdf"
    assert journal.delivery_log(root).empty  # a dry run logs nothing


def test_reports_of_another_workspace_or_no_run_are_refused(
    fresh: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, out = fresh
    other = tmp_path / "other"
    shutil.copytree(root, other)
    args = ["--period", "2026-Q3", "--reports", str(out), "--dry-run"]
    assert main(["deliver", str(other), *args]) == 2
    err = capsys.readouterr().err
    assert "holds the reports of workspace 'ws', not of 'other'; nothing was changed" in err
    assert main(["deliver", str(root), *args[:3], str(tmp_path / "none"), "--dry-run"]) == 2
    assert "run.json does not exist" in capsys.readouterr().err


def test_a_login_needs_the_password_in_the_environment(
    fresh: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root, out = fresh
    monkeypatch.delenv("KPINB_SMTP_PASSWORD", raising=False)
    code = deliver(root, out, 1, "--smtp-user", "hr")
    assert code == 2
    assert "environment variable KPINB_SMTP_PASSWORD" in capsys.readouterr().err


def test_the_command_line_knows_the_delivery_choices() -> None:
    assert deliver_cli.SECURITY == delivery.SECURITY
    assert deliver_cli.PASSWORD_ENV == delivery.PASSWORD_ENV


def test_bundles_hold_only_each_readers_reports_privately(
    fresh: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, out = fresh
    bundles = tmp_path / "bundles"
    args = ["bundle", str(root), "--period", "2026-Q3", "--reports", str(out)]
    assert main([*args, "--out", str(bundles), "--zip"]) == 0
    assert "12 bundle(s) written to" in capsys.readouterr().out
    people = pd.read_csv(root / "people.csv", dtype=str)
    names = dict(zip(people["employee_id"], people["name"], strict=True))
    period = bundles / "2026-Q3"
    assert sorted(p.name for p in period.iterdir()) == sorted(
        [*names, *(f"{e}.zip" for e in names)]
    )
    for eid in names:
        folder = period / eid
        people_of = TEAMS.get(eid, [])
        files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        expected = [f"employees/{eid}.html", *(f"employees/{p}.manager.html" for p in people_of)]
        if people_of:
            expected.append("teams/T01.html" if eid == "E001" else "teams/T04.html")
        assert files == sorted([*expected, "index.html"])
        assert (folder.stat().st_mode & 0o777) == 0o700
        assert all((p.stat().st_mode & 0o777) == (0o700 if p.is_dir() else 0o600)
                   for p in folder.rglob("*"))  # fmt: skip
        index = html.unescape((folder / "index.html").read_text("utf-8"))
        allowed = {eid, *people_of}
        for other, other_name in names.items():
            if other not in allowed:
                assert other_name not in index and other not in index, (eid, other)
                for path in folder.rglob("*.html"):
                    assert other_name not in html.unescape(path.read_text("utf-8"))
        assert index.count("<li>") == len(expected)
    assert (period / "E002.zip").stat().st_mode & 0o777 == 0o600
    # a rerun replaces each folder whole; without --period: the latest complete quarter
    assert main(["bundle", str(root), "--reports", str(out), "--out", str(bundles)]) == 0
    assert "12 bundle(s) written to" in capsys.readouterr().out
    assert not list(period.glob(".*"))


# --- HR partners and the workspace's delivery settings (kpinb.toml) ------------------------

PARTNERS = """
[[recipients.hr_partners]]
name = "Dana Reyes"
email = "dana.reyes@example.com"

[[recipients.hr_partners]]
name = "Lee Park"
email = "lee.park@example.com"
departments = ["Support"]
"""


@pytest.fixture
def with_partners(fresh: tuple[Path, Path]) -> tuple[Path, Path]:
    """``fresh`` with department reports and the calibration pack built, and two HR
    partners: Dana Reyes for every department, Lee Park for Support."""
    from kpinb.batch.publish.packs import record_pack
    from kpinb.calibration import build_pack, write_pack

    root, out = fresh
    publish_period(root, out, ("employee", "manager", "executive"))
    pack = build_pack(load_workspace(root), Q3, journal_root=root)
    write_pack(pack, out / Q3.label / "calibration")
    record_pack(out / Q3.label, pack)
    (root / "kpinb.toml").write_text(PARTNERS, "utf-8")
    return root, out


def test_hr_partners_get_exactly_their_departments_material_and_no_persons_page(
    with_partners: tuple[Path, Path], smtp: tuple[Mailbox, int]
) -> None:
    root, out = with_partners
    box, port = smtp
    assert deliver(root, out, port) == 0
    assert len(box.messages) == 14  # the 12 people as before, and the two partners
    (dana,) = box.to("dana.reyes@example.com")
    (lee,) = box.to("lee.park@example.com")
    book = "calibration-2026-Q3.xlsx"
    assert attachments(dana) == sorted(
        ["Sales.html", "Support.html", "index.html", "department-Sales.html",
         "department-Support.html", book]
    )  # fmt: skip
    assert attachments(lee) == ["Support.html", "department-Support.html"]
    assert dana["Subject"] == "Coaching reports 2026-Q3 for Dana Reyes"
    period = out / Q3.label
    employee_pages = {p.read_bytes() for p in (period / "employees").glob("*.html")}
    team_pages = {p.read_bytes() for p in (period / "teams").glob("*.html")}
    for msg in (dana, lee):
        for part in msg.iter_attachments():
            content = part.get_content()
            data = content.encode("utf-8") if isinstance(content, str) else content
            assert data not in employee_pages | team_pages
    sent = {
        p.get_filename() for rcpt, m in box.messages if rcpt[0].endswith("@example.com")
        and not rcpt[0].startswith(("dana", "lee")) for p in m.iter_attachments()
    }  # fmt: skip
    assert not sent & {"Sales.html", "Support.html", book}  # people get none of it
    log = journal.delivery_log(root, "2026-Q3")
    partner = log[log["recipient_id"] == "hr:lee.park@example.com"]
    assert partner["result"].tolist() == ["sent"]


def test_hr_partners_get_their_own_bundles(
    with_partners: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, out = with_partners
    bundles = tmp_path / "bundles"
    args = ["bundle", str(root), "--period", "2026-Q3", "--reports", str(out)]
    assert main([*args, "--out", str(bundles)]) == 0
    assert "14 bundle(s) written to" in capsys.readouterr().out
    lee = next(p for p in (bundles / "2026-Q3").iterdir() if p.name.startswith("hr_lee.park"))
    files = sorted(p.relative_to(lee).as_posix() for p in lee.rglob("*") if p.is_file())
    assert files == [
        "calibration/department-Support.html", "departments/Support.html", "index.html"
    ]  # fmt: skip
    index = (lee / "index.html").read_text("utf-8")
    assert "For Lee Park." in index and index.count("<li>") == 2


def test_the_mail_server_settings_come_from_kpinb_toml_and_flags_win(
    fresh: tuple[Path, Path], smtp: tuple[Mailbox, int], capsys: pytest.CaptureFixture[str]
) -> None:
    root, out = fresh
    box, port = smtp
    (root / "kpinb.toml").write_text(
        f'[delivery]\nsender = "{SENDER}"\nsmtp_host = "127.0.0.1"\nsmtp_port = 1\n'
        'security = "none"\n',
        "utf-8",
    )
    args = ["deliver", str(root), "--period", "2026-Q3", "--reports", str(out)]
    assert main([*args, "--smtp-port", str(port)]) == 0  # the file's port 1 lost to the flag
    assert len(box.messages) == 12
    assert all(m["From"] == SENDER for _, m in box.messages)


def test_a_password_or_a_bad_setting_in_kpinb_toml_is_refused_naming_each(
    fresh: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root, out = fresh
    (root / "kpinb.toml").write_text(
        '[delivery]\npassword = "hunter2"\nsecurity = "ssl"\nsmtp_port = "587"\n\n'
        '[[recipients.hr_partners]]\nname = "Dana Reyes"\nemail = "dana at example"\n'
        'departments = ["Marketing"]\n',
        "utf-8",
    )
    args = ["deliver", str(root), "--period", "2026-Q3", "--reports", str(out), "--dry-run"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "kpinb.toml, key delivery.password: a password is never read from a file. Fix: " in err
    assert "KPINB_SMTP_PASSWORD" in err and "hunter2" not in err
    assert "kpinb.toml, key delivery.security: 'ssl' is not known. Fix: use one of " in err
    assert "kpinb.toml, key delivery.smtp_port: '587' is not a whole number" in err
    assert "key recipients.hr_partners (partner 1) email: 'dana at example' is not one" in err
    assert not (out / ".kpinb-private" / "2026-Q3" / "outbox").exists()  # nothing written
    (root / "kpinb.toml").write_text(
        '[[recipients.hr_partners]]\nname = "Dana"\nemail = "d@example.com"\n'
        'departments = ["Marketing"]\n',
        "utf-8",
    )
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "names department(s) not in teams.csv: Marketing. Fix: use the department " in err

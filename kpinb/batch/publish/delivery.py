"""The last mile: each built report to its readers by email, exactly once.

A delivery reads what the period's last run built (``run.json``), gives each report to
the readers of its view (:mod:`.recipients`), and makes one message per reader with
their reports attached (each page, and its PDF when one was built), with the standard
library's :mod:`email`. The journal's delivery log (:mod:`kpinb.journal.deliveries`) says
what already reached whom, by content hash: a reader gets only reports that are new to
them or changed since (then the subject starts with "Updated"). Messages go out one by
one through :mod:`smtplib`; each is logged right after the server accepted it, in its
own transaction, so a run stopped midway is resumed by running it again, and a reader
the server refuses is logged as refused while the others go on. A dry run writes each
message as an ``.eml`` file into an outbox folder instead and logs nothing.
"""

from __future__ import annotations

import json
import mimetypes
import smtplib
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpinb.batch.publish.folder import hold_lock, private_dir, resolve_under
from kpinb.batch.publish.manifest import check_owner
from kpinb.batch.publish.recipients import Parcel, Recipient, recipients
from kpinb.errors import BatchError, UsageError
from kpinb.files import atomic_write
from kpinb.hashing import digest, sha256_file

if TYPE_CHECKING:
    from kpinb.workspace import Workspace

SECURITY = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
PASSWORD_ENV = "KPINB_SMTP_PASSWORD"


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the mail server. The password is never read from a file or a flag:
    the command line takes it from an environment variable."""

    host: str = "localhost"
    port: int | None = None  # None: the usual port of ``security``
    security: str = "starttls"
    user: str | None = None
    password: str | None = None
    timeout: float = 60.0

    def connect(self) -> smtplib.SMTP:
        """An open, authenticated connection (certificates checked for TLS)."""
        port = self.port or DEFAULT_PORTS[self.security]
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.security == "tls":
            smtp = smtplib.SMTP_SSL(self.host, port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.user:
                smtp.login(self.user, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp


@dataclass
class Outgoing:
    """One message to send: to whom, which reports (with their content hashes), whether
    it updates reports sent before, and the message itself."""

    recipient: Recipient
    parcels: list[Parcel]
    hashes: dict[str, str]
    updated: list[str]  # report ids sent before in another version
    message: EmailMessage

    @property
    def size(self) -> int:
        """The message's size in bytes, as sent."""
        return len(self.message.as_bytes())


@dataclass
class DeliveryPlan:
    """What a delivery would do: the messages to send, the readers without an address
    (and what they would have received), the readers already holding everything, and the
    reports with no default reader."""

    period: str
    period_dir: Path
    outgoing: list[Outgoing] = field(default_factory=list)
    unreachable: list[Recipient] = field(default_factory=list)
    up_to_date: list[Recipient] = field(default_factory=list)
    nobody: list[str] = field(default_factory=list)


@dataclass
class DeliveryResult:
    """What a delivery did: messages accepted, readers refused (with the server's answer),
    messages not sent because the connection was lost (rerun to send them)."""

    sent: list[Outgoing] = field(default_factory=list)
    refused: list[tuple[Outgoing, str]] = field(default_factory=list)
    unsent: list[Outgoing] = field(default_factory=list)
    lost: str = ""  # why the connection ended early, when it did

    @property
    def ok(self) -> bool:
        """Every message was accepted."""
        return not self.refused and not self.unsent


def read_manifest(period_dir: Path, ws: Workspace) -> dict[str, Any]:
    """``run.json`` of the period's last run, checked to be this workspace's."""
    path = period_dir / "run.json"
    if not path.is_file():
        msg = (
            f"{path} does not exist: no run of this period in that folder. Build the "
            "reports first (kpinb run WORKSPACE --period P --out FOLDER), then deliver "
            "from the same folder (--reports FOLDER)"
        )
        raise UsageError(msg)
    try:
        check_owner(period_dir, ws)
    except BatchError as exc:
        raise UsageError(f"{exc}; nothing was sent") from None
    manifest: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return manifest


def period_readers(
    ws: Workspace, period_dir: Path
) -> tuple[dict[str, Any], list[Recipient], list[str]]:
    """``run.json`` of the period's last run, the readers of what it built (people, and
    the HR partners of ``kpinb.toml``) and the reports nobody reads by default."""
    from kpinb.batch.publish.delivery_settings import recipients_settings

    manifest = read_manifest(period_dir, ws)
    settings = recipients_settings(ws.root, ws.teams["department"].astype(str))
    readers, nobody = recipients(
        ws,
        manifest.get("reports", []),
        exists=lambda rel: resolve_under(period_dir, rel).is_file(),
        partners=settings.partners,
        calibration=manifest.get("calibration"),
    )
    return manifest, readers, nobody


def plan_delivery(
    ws: Workspace, period_dir: Path, *, sender: str, journal_root: Path | None = None
) -> DeliveryPlan:
    """The messages a delivery of the period's built reports sends now: to each reader,
    the reports the delivery log does not hold in this version."""
    from kpinb import journal

    manifest, readers, nobody = period_readers(ws, period_dir)
    period = str(manifest["period"])
    root = journal_root if journal_root is not None else ws.root
    sent_before = journal.delivered(root, period) if root is not None else {}
    plan = DeliveryPlan(period, period_dir, nobody=nobody)
    for reader in readers:
        if reader.address is None:
            plan.unreachable.append(reader)
            continue
        got = sent_before.get((reader.person_id, reader.address), set())
        had = {rid for rid, _ in got}
        todo, hashes = [], {}
        for parcel in reader.parcels:
            sha = digest(*(sha256_file(resolve_under(period_dir, f)) for f in parcel.files))
            if (parcel.report_id, sha) not in got:
                todo.append(parcel)
                hashes[parcel.report_id] = sha
        if not todo:
            plan.up_to_date.append(reader)
            continue
        updated = [p.report_id for p in todo if p.report_id in had]
        message = compose(reader, todo, hashes, updated, period, period_dir, sender)
        plan.outgoing.append(Outgoing(reader, todo, hashes, updated, message))
    return plan


def message_id(period: str, reader: Recipient, hashes: dict[str, str], sender: str) -> str:
    """A Message-ID made from what the message holds: the same message sent twice (a run
    killed between the server's answer and the log) carries the same id, so mail systems
    can tell it is one message."""
    key = digest(period, reader.person_id, reader.address, *sorted(hashes.items()))
    domain = sender.rpartition("@")[2] or "kpinb.invalid"
    return f"<kpinb.{period}.{key[:32]}@{domain}>"


def compose(
    reader: Recipient,
    parcels: list[Parcel],
    hashes: dict[str, str],
    updated: list[str],
    period: str,
    period_dir: Path,
    sender: str,
) -> EmailMessage:
    """One message to ``reader`` with ``parcels`` attached, naming only them and their
    reports. The body says which reports are updated versions of ones sent before."""
    msg = EmailMessage()
    subject = f"Coaching reports {period} for {reader.name}"
    msg["Subject"] = f"Updated: {subject}" if updated else subject
    msg["From"] = sender
    msg["To"] = reader.address or ""
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id(period, reader, hashes, sender)
    msg["X-Kpinb-Reports"] = ", ".join(p.report_id for p in parcels)
    lines = [
        f"Hello {reader.name},",
        "",
        f"your coaching reports for {period} are attached "
        "(open the .html files in a browser; a PDF is attached where one was made):",
        "",
        *(f"  - {p.title}{' (updated)' if p.report_id in updated else ''}" for p in parcels),
        "",
    ]
    if updated:
        lines += [
            "Reports marked updated replace the versions sent to you before for this "
            "period: their data or check-ins changed.",
            "",
        ]
    lines += [
        "These reports are confidential and meant for you only: please do not forward them.",
        "",
        "-- sent by kpinb",
    ]
    msg.set_content("\n".join(lines))
    for parcel in parcels:
        for rel in parcel.files:
            path = resolve_under(period_dir, rel)
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            main, sub = kind.split("/", 1)
            msg.add_attachment(path.read_bytes(), maintype=main, subtype=sub, filename=path.name)
    return msg


def write_outbox(plan: DeliveryPlan, outbox: Path) -> list[Path]:
    """A dry run: each message as ``NN-<person>.eml`` in ``outbox`` (readable by this
    account only), after removing the ``.eml`` files of an earlier dry run."""
    outbox.mkdir(mode=0o700, parents=True, exist_ok=True)
    outbox.chmod(0o700)
    for old in outbox.glob("*.eml"):
        old.unlink()
    written = []
    for n, out in enumerate(plan.outgoing, 1):
        from kpinb.filenames import safe_name

        path = outbox / f"{n:03d}-{safe_name(out.recipient.person_id)}.eml"
        atomic_write(path, out.message.as_bytes())
        path.chmod(0o600)
        written.append(path)
    return written


def default_outbox(period_dir: Path) -> Path:
    """Where a dry run's messages go by default: the period's private folder, beside
    the folder readers browse."""
    return private_dir(period_dir) / "outbox"


def send(
    plan: DeliveryPlan,
    settings: SmtpSettings,
    journal_root: Path,
    *,
    on_message: Callable[[Outgoing, str], None] | None = None,
) -> DeliveryResult:
    """Send the plan's messages one by one over one connection, logging each right after
    the server answered. A refused reader is logged and the rest go on; a lost
    connection stops the run (the messages not sent are not logged: a rerun sends them).

    ``on_message(outgoing, result)`` is told each outcome (for progress lines).
    """
    from kpinb import journal

    result = DeliveryResult()
    if not plan.outgoing:
        return result
    # the log must take every row before anything leaves: a journal that cannot be
    # written (read-only, damaged) stops the run here, with nothing sent
    journal.migrate(journal_root)
    with hold_lock(plan.period_dir):
        try:
            smtp = settings.connect()
        except (OSError, smtplib.SMTPException) as exc:
            result.lost = f"could not connect to {settings.host}: {_reason(exc)}"
            result.unsent = list(plan.outgoing)
            return result
        try:
            for n, out in enumerate(plan.outgoing):
                try:
                    smtp.send_message(out.message)
                except smtplib.SMTPRecipientsRefused as exc:
                    outcome, detail = "refused", _refusal(exc)
                except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
                    outcome, detail = "failed", _reason(exc)
                except (OSError, smtplib.SMTPException) as exc:
                    # the connection is gone: whether the server kept this message is not
                    # known, so it is not logged and the next run sends it again
                    result.lost = _reason(exc)
                    result.unsent = list(plan.outgoing[n:])
                    break
                else:
                    outcome, detail = "sent", ""
                journal.record_delivery(
                    journal_root,
                    period=plan.period,
                    recipient_id=out.recipient.person_id,
                    address=out.recipient.address or "",
                    reports=out.hashes,
                    message_id=str(out.message["Message-ID"]),
                    subject=str(out.message["Subject"]),
                    result=outcome,
                    detail=detail,
                )
                if outcome == "sent":
                    result.sent.append(out)
                else:
                    result.refused.append((out, detail))
                if on_message is not None:
                    on_message(out, outcome)
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
    return result


def _refusal(exc: smtplib.SMTPRecipientsRefused) -> str:
    """The server's answer to a refused recipient: ``550 no such mailbox``."""
    return "; ".join(
        f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"
        for code, text in exc.recipients.values()
    )


def _reason(exc: BaseException) -> str:
    """An SMTP or network error in one line."""
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        return f"{exc.smtp_code} {text}"
    return str(exc) or type(exc).__name__


def table(rows: Iterable[Outgoing]) -> list[tuple[str, str, str]]:
    """One line per message for the dry run's table: recipient, reports, size."""
    return [
        (
            f"{o.recipient.name} <{o.recipient.address}>",
            ", ".join(
                p.report_id + (" (updated)" if p.report_id in o.updated else "") for p in o.parcels
            ),
            f"{o.size / 1024:,.0f} KiB",
        )
        for o in rows
    ]

"""``kpinb deliver``: each built report of a period to its readers by email, exactly once."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

from kpinb.cli.periods import add_period, resolve
from kpinb.errors import UsageError

log = logging.getLogger(__name__)

# kpinb.batch.publish.delivery's SECURITY and PASSWORD_ENV (a test keeps them equal), here
# so that the parser loads no batch code
SECURITY = ("starttls", "tls", "none")
PASSWORD_ENV = "KPINB_SMTP_PASSWORD"
EPILOG = """exit status: 0 every message was accepted (or nothing was left to send; people
without an address are named but do not change it), 1 the server refused some readers
or the connection was lost (the rest is named; run the same command again to send what
was not accepted), 2 bad usage (no run of the period in --reports, reports of another
workspace, no password in the environment variable, an invalid workspace)."""


def register(subparsers: Any) -> None:
    """Add ``kpinb deliver`` to the ``kpinb`` command."""
    parser = subparsers.add_parser(
        "deliver",
        help="email each built report of a period to its readers, exactly once",
        description="Send each reader one message with the reports of the period that are "
        "theirs to read (an employee their own report, a manager their people's "
        "manager-view reports and their team's report, an HR partner named in the "
        "workspace's kpinb.toml their departments' reports and calibration pack), built by "
        "the last kpinb run of the period in --reports. Addresses come from the email "
        "column of people.csv and kpinb.toml; mail-server settings from the flags, else "
        "kpinb.toml's [delivery]. "
        "The journal's delivery log records every message; a rerun sends only reports "
        "that are new or changed ('Updated' in the subject). docs/delivery.md",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("workspace", type=Path, help="the workspace folder")
    add_period(parser)
    parser.add_argument(
        "--reports", type=Path, default=Path("reports"), help="reports folder (default: reports)"
    )
    # each of these may also come from the workspace's kpinb.toml ([delivery]); a flag wins
    parser.add_argument("--sender", help="the From address (required to send)")
    parser.add_argument("--smtp-host", help="mail server (default: localhost)")
    parser.add_argument(
        "--smtp-port", type=int, help="port (default: 587 starttls, 465 tls, 25 none)"
    )
    parser.add_argument(
        "--security",
        choices=SECURITY,
        help="starttls (default), tls (implicit TLS) or none (a relay on this machine)",
    )
    parser.add_argument("--smtp-user", help="user name to log in with (no login without it)")
    parser.add_argument(
        "--password-env",
        metavar="NAME",
        help=f"environment variable holding the password (default: {PASSWORD_ENV})",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="write each message as an .eml file into --outbox and list them; send nothing",
    )
    parser.add_argument(
        "--outbox",
        type=Path,
        help="dry run's folder (default: REPORTS/.kpinb-private/PERIOD/outbox)",
    )
    parser.set_defaults(func=run_deliver)


def run_deliver(args: argparse.Namespace) -> int:
    """Plan, then write the outbox (dry run) or send; the exit status is in EPILOG."""
    from kpinb.batch.publish import delivery
    from kpinb.errors import WorkspaceError
    from kpinb.periods import parse_period
    from kpinb.workspace import load_workspace

    if args.period is not None:
        parse_period(args.period)  # a bad period is bad usage before anything is read
    try:
        ws = load_workspace(args.workspace)
        chosen = _with_settings(args, ws)
    except WorkspaceError as exc:
        raise UsageError(str(exc)) from None
    per = resolve(ws, args).period
    settings = None
    if not args.dry_run:
        if not chosen["sender"]:
            msg = (
                "give the From address with --sender or as sender in kpinb.toml's "
                "[delivery] (or use --dry-run)"
            )
            raise UsageError(msg)
        password = None
        if chosen["smtp_user"]:
            password = os.environ.get(chosen["password_env"])
            if not password:
                msg = (
                    f"a user name is given (--smtp-user or kpinb.toml) but the environment "
                    f"variable {chosen['password_env']} holding the password is not set; set "
                    "it (never on the command line or in a file)"
                )
                raise UsageError(msg)
        settings = delivery.SmtpSettings(
            host=chosen["smtp_host"],
            port=chosen["smtp_port"],
            security=chosen["security"],
            user=chosen["smtp_user"],
            password=password,
        )
    period_dir = args.reports / per.label
    sender = chosen["sender"] or "kpinb@localhost.invalid"
    plan = delivery.plan_delivery(ws, period_dir, sender=sender)
    _say_unreached(plan)
    if args.dry_run:
        outbox = args.outbox or delivery.default_outbox(period_dir)
        delivery.write_outbox(plan, outbox)
        _print_table(plan)
        print(f"dry run: {len(plan.outgoing)} message(s) written to {outbox}; nothing sent")
        return 0
    assert settings is not None
    result = delivery.send(
        plan,
        settings,
        ws.root if ws.root is not None else args.workspace,
        on_message=lambda out, outcome: print(
            f"  {outcome}: {out.recipient.name} <{out.recipient.address}> "
            f"({len(out.parcels)} report(s))"
        ),
    )
    return _summary(plan, result)


# each setting's default, when neither a flag nor kpinb.toml gives it
DEFAULTS: dict[str, Any] = {
    "sender": None,
    "smtp_host": "localhost",
    "smtp_port": None,
    "security": "starttls",
    "smtp_user": None,
    "password_env": PASSWORD_ENV,
}


def _with_settings(args: argparse.Namespace, ws: Any) -> dict[str, Any]:
    """Each mail-server setting: the flag, else ``[delivery]`` of the workspace's
    ``kpinb.toml``, else the default."""
    from kpinb.batch.publish.delivery_settings import recipients_settings

    from_file = recipients_settings(ws.root, ws.teams["department"].astype(str)).smtp
    chosen = {}
    for key, default in DEFAULTS.items():
        flag = getattr(args, key)
        chosen[key] = flag if flag is not None else from_file.get(key, default)
    return chosen


def _say_unreached(plan: Any) -> None:
    for reader in plan.unreachable:
        log.warning(
            "not sent: %s (%s) has no valid email in people.csv; %d report(s) wait for them",
            reader.name,
            reader.person_id,
            len(reader.parcels),
            extra={"reader": reader.person_id, "reports": len(reader.parcels)},
        )


def _address_file(reader: Any) -> str:
    """Where a reader's address is written: people.csv, or kpinb.toml for an HR partner."""
    from kpinb.batch.publish.delivery_settings import PARTNER_PREFIX, SETTINGS_FILE

    return SETTINGS_FILE if reader.person_id.startswith(PARTNER_PREFIX) else "people.csv"


def _print_table(plan: Any) -> None:
    from kpinb.batch.publish.delivery import table

    rows = [("recipient", "reports", "size"), *table(plan.outgoing)]
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    for who, what, size in rows:
        print(f"{who:<{widths[0]}}  {what:<{widths[1]}}  {size}")


def _summary(plan: Any, result: Any) -> int:
    print(
        f"{len(result.sent)} message(s) sent, {len(plan.up_to_date)} reader(s) already "
        f"had everything, {len(result.refused)} refused, {len(result.unsent)} not sent"
    )
    for out, why in result.refused:
        log.warning(
            "refused by the server: %s <%s> (%s); correct the address in %s and run again",
            out.recipient.name,
            out.recipient.address,
            why,
            _address_file(out.recipient),
            extra={"reader": out.recipient.name},
        )
    if result.unsent:
        names = ", ".join(o.recipient.name for o in result.unsent[:5])
        more = f" and {len(result.unsent) - 5} more" if len(result.unsent) > 5 else ""
        log.error(
            "the connection to the mail server ended (%s); %d message(s) not sent (%s%s). "
            "Run the same command again to send them: what was accepted is not sent twice",
            result.lost,
            len(result.unsent),
            names,
            more,
            extra={"unsent": len(result.unsent)},
        )
    return 0 if result.ok else 1

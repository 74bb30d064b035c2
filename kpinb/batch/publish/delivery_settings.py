"""The workspace's own delivery settings: named HR partners and the mail server.

An optional ``kpinb.toml`` at the top of the workspace may hold two sections::

    [delivery]                       # the mail server (command-line flags win)
    sender = "hr-reports@example.com"
    smtp_host = "smtp.example.com"
    smtp_port = 587
    security = "starttls"            # starttls, tls or none
    smtp_user = "hr-reports"         # the password: only from the environment

    [[recipients.hr_partners]]       # one table per HR partner
    name = "Dana Reyes"
    email = "dana.reyes@example.com"
    departments = ["Sales"]          # leave out: every department

HR partners read department reports and the calibration pack (of their departments);
they are not people of ``people.csv`` and read nothing of a person's own pages. A
``password`` key is refused: a password never sits in a file. Every problem is named
with the file, the key, what is wrong and the fix, all of them at once.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kpinb.errors import Problem, WorkspaceError

SETTINGS_FILE = "kpinb.toml"
SECURITY = ("starttls", "tls", "none")
# [delivery] key -> the type its value must have
SMTP_KEYS: dict[str, type] = {
    "sender": str,
    "smtp_host": str,
    "smtp_port": int,
    "security": str,
    "smtp_user": str,
    "password_env": str,
}
SECRET_KEYS = ("password", "smtp_password", "pass", "secret")
PARTNER_PREFIX = "hr:"  # a partner's reader id: hr:<address>


@dataclass(frozen=True)
class HrPartner:
    """A named HR partner: who, where to write, and the departments they look after
    (``None``: every department)."""

    name: str
    email: str
    departments: tuple[str, ...] | None = None

    @property
    def reader_id(self) -> str:
        """The id the delivery log and the bundles know them by: ``hr:<address>``."""
        return f"{PARTNER_PREFIX}{self.email.lower()}"

    def covers(self, department: str) -> bool:
        """True when this partner reads ``department``'s material."""
        return self.departments is None or department in self.departments


@dataclass(frozen=True)
class DeliverySettings:
    """What ``kpinb.toml`` says about delivery: the HR partners, and the mail server's
    settings by ``[delivery]`` key (only the keys the file gives)."""

    partners: tuple[HrPartner, ...] = ()
    smtp: dict[str, Any] = field(default_factory=dict)


def recipients_settings(
    root: Path | None, departments: Iterable[str] | None = None
) -> DeliverySettings:
    """The ``[delivery]`` and ``[recipients]`` sections of ``root/kpinb.toml`` (none when
    the file is absent), checked; ``departments`` are the workspace's, to check the
    partners' against. Raises :class:`WorkspaceError` listing every problem."""
    if root is None or not (Path(root) / SETTINGS_FILE).is_file():
        return DeliverySettings()
    path = Path(root) / SETTINGS_FILE
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise WorkspaceError(
            [Problem(SETTINGS_FILE, f"is not valid TOML ({exc})", "correct the file's syntax")]
        ) from None
    problems: list[Problem] = []
    smtp = _smtp(data.get("delivery", {}), problems)
    partners = _partners(data.get("recipients", {}), departments, problems)
    if problems:
        raise WorkspaceError(problems)
    return DeliverySettings(tuple(partners), smtp)


def _problem(key: str, problem: str, fix: str) -> Problem:
    return Problem(f"{SETTINGS_FILE}, key {key}", problem, fix)


def _smtp(section: Any, problems: list[Problem]) -> dict[str, Any]:
    if not isinstance(section, dict):
        problems.append(_problem("delivery", "is not a table", "write it as [delivery]"))
        return {}
    smtp: dict[str, Any] = {}
    for key, value in section.items():
        where = f"delivery.{key}"
        if key.lower() in SECRET_KEYS:
            problems.append(
                _problem(
                    where,
                    "a password is never read from a file",
                    "remove the key and set the environment variable KPINB_SMTP_PASSWORD "
                    "(or the one named by password_env) where kpinb deliver runs",
                )
            )
        elif key not in SMTP_KEYS:
            known = ", ".join(SMTP_KEYS)
            problems.append(_problem(where, "is not a delivery setting", f"use one of {known}"))
        elif not isinstance(value, SMTP_KEYS[key]) or isinstance(value, bool):
            kind = "a whole number" if SMTP_KEYS[key] is int else "a quoted text"
            problems.append(_problem(where, f"{value!r} is not {kind}", f"write it as {kind}"))
        elif key == "security" and value not in SECURITY:
            problems.append(
                _problem(where, f"{value!r} is not known", f"use one of {', '.join(SECURITY)}")
            )
        elif key == "smtp_port" and isinstance(value, int) and not 0 < value < 65536:
            problems.append(_problem(where, f"{value} is not a port", "use 1 to 65535"))
        else:
            smtp[key] = value
    return smtp


def _partners(
    section: Any, departments: Iterable[str] | None, problems: list[Problem]
) -> list[HrPartner]:
    from kpinb.workspace.checks import valid_address

    if not isinstance(section, dict):
        problems.append(_problem("recipients", "is not a table", "write it as [recipients]"))
        return []
    for key in section:
        if key != "hr_partners":
            problems.append(
                _problem(f"recipients.{key}", "is not known", "name HR partners in hr_partners")
            )
    entries = section.get("hr_partners", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        fix = "write one [[recipients.hr_partners]] table per partner"
        problems.append(_problem("recipients.hr_partners", "is not a list of tables", fix))
        return []
    known = None if departments is None else set(departments)
    partners, seen = [], set()
    for n, entry in enumerate(entries, 1):
        where = f"recipients.hr_partners (partner {n})"
        name, address, depts = entry.get("name"), entry.get("email"), entry.get("departments")
        extra = sorted(set(entry) - {"name", "email", "departments"})
        ok = True
        if extra:
            problems.append(
                _problem(
                    where, f"has unknown key(s) {', '.join(extra)}", "use name, email, departments"
                )
            )
            ok = False
        if not isinstance(name, str) or not name.strip():
            problems.append(_problem(f"{where} name", "is missing", "give the partner's name"))
            ok = False
        if not isinstance(address, str) or not valid_address(address.strip()):
            problems.append(
                _problem(
                    f"{where} email",
                    f"{address!r} is not one email address",
                    "write one plain address, name@example.com",
                )
            )
            ok = False
        if depts is not None and (
            not isinstance(depts, list) or not all(isinstance(d, str) for d in depts) or not depts
        ):
            problems.append(
                _problem(
                    f"{where} departments",
                    "is not a list of department names",
                    'write departments = ["Sales"], or leave the key out for every department',
                )
            )
            ok = False
        elif depts is not None and known is not None and (unknown := sorted(set(depts) - known)):
            problems.append(
                _problem(
                    f"{where} departments",
                    f"names department(s) not in teams.csv: {', '.join(unknown)}",
                    f"use the department column's names: {', '.join(sorted(known))}",
                )
            )
            ok = False
        if not ok:
            continue
        partner = HrPartner(
            name.strip(), address.strip(), None if depts is None else tuple(dict.fromkeys(depts))
        )
        if partner.reader_id in seen:
            problems.append(
                _problem(f"{where} email", f"{address} is named twice", "name each partner once")
            )
            continue
        seen.add(partner.reader_id)
        partners.append(partner)
    return partners

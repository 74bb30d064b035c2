"""A throwaway PostgreSQL server for the tests: initdb and pg_ctl in a temporary folder,
listening on a free 127.0.0.1 port (and a socket in that folder), stopped and removed at
the end. initdb refuses to run as root, so as root the server runs as the ``postgres``
user Debian's package creates. The superuser ``kpinb`` logs in with :data:`PASSWORD`
over TCP (scram-sha-256), so the tests go through real password authentication.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PASSWORD = "pg-Secret-7Qz!x"  # only this throwaway cluster's; tests check it never shows
USER = "kpinb"


def bin_dir() -> Path | None:
    """The folder of initdb and pg_ctl: on the PATH, or Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    return versions[-1].parent if versions else None


@dataclass
class Cluster:
    """A running server: ``url(database)`` gives a SQLAlchemy URL without the password."""

    folder: Path
    bin: Path
    port: int

    def url(self, database: str = "postgres", password: str | None = None) -> str:
        secret = f":{password}" if password is not None else ""
        return f"postgresql+psycopg://{USER}{secret}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create database ``name``; its URL with the password (for writing test data)."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=USER,
            password=PASSWORD,
            dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name, PASSWORD)

    def stop(self) -> None:
        _run(self.bin / "pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def start() -> Cluster:
    """Create and start a cluster; raises RuntimeError (with the server's log) if it fails."""
    binaries = bin_dir()
    if binaries is None:
        raise FileNotFoundError("initdb")
    folder = Path(tempfile.mkdtemp(prefix="kpinb-pg-"))
    os.chmod(folder, 0o755)
    (folder / "pw").write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        shutil.chown(folder / "pw", "postgres", "postgres")
    port = _free_port()
    try:
        _run(
            binaries / "initdb",
            "-D",
            str(folder / "data"),
            "-U",
            USER,
            "-A",
            "scram-sha-256",
            "--auth-local=trust",
            f"--pwfile={folder / 'pw'}",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={folder} "
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        )
        _run(
            binaries / "pg_ctl",
            "-D",
            str(folder / "data"),
            "-o",
            options,
            "-l",
            str(folder / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )
    except subprocess.CalledProcessError as exc:
        log = (folder / "log").read_text() if (folder / "log").exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr}\n{log}") from None
    return Cluster(folder, binaries, port)


def _run(*command: object) -> None:
    args = [str(c) for c in command]
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    subprocess.run(args, check=True, capture_output=True, text=True, cwd="/")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

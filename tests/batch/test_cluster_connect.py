"""``kpinb run --scheduler ADDRESS`` before any cluster is involved: an address that is no
Dask address is a usage error at once, and a peer that accepts the connection but never
answers stops the run at the connect limit, not when the peer hangs up."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kpinb.cli.main import main

PERIOD = "2026-Q3"


@pytest.fixture
def silent_peer() -> Iterator[str]:
    """A TCP server that accepts every connection and never sends a byte."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:  # the server was closed
                return
            accepted.append(conn)  # held open, never answered

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    server.close()
    for conn in accepted:
        conn.close()
    thread.join(timeout=5)


def test_a_peer_that_accepts_and_never_answers_stops_the_run_at_the_connect_limit(
    silent_peer: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    workspace_dir: Path,
) -> None:
    from kpinb.batch.executors import dask as dask_cluster

    monkeypatch.setattr(dask_cluster, "CONNECT_TIMEOUT_S", 2)
    out = tmp_path / "reports"
    argv = ["run", str(workspace_dir), "--period", PERIOD, "--out", str(out)]
    assert main([*argv, "--scheduler", silent_peer]) == 2
    err = capsys.readouterr().err
    assert f"cannot reach the Dask scheduler at {silent_peer} (no Dask answer within 2 s:" in err
    assert "nothing was written" in err and not out.exists()


@pytest.mark.parametrize(
    ("address", "said"),
    [
        ("", "--scheduler is empty;"),
        ("   ", "--scheduler is empty;"),
        (
            "http://127.0.0.1:8787",
            "--scheduler 'http://127.0.0.1:8787': Dask does not connect over http:// (a web "
            "address is the dashboard's; the scheduler itself listens on tcp://, port 8786)",
        ),
        (
            "gopher://host:8786",
            "--scheduler 'gopher://host:8786': Dask does not connect over gopher://;",
        ),
        ("tcp://", "--scheduler 'tcp://' is not a scheduler address (no host);"),
        ("tcp://host", "--scheduler 'tcp://host' is not a scheduler address (missing port"),
    ],
)
def test_an_address_dask_cannot_use_is_a_usage_error_naming_it_and_the_fix(
    address: str,
    said: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    workspace_dir: Path,
) -> None:
    from kpinb.batch.executors import dask as dask_cluster

    def no_connecting(*args: object) -> None:
        raise AssertionError("a usage error connects to nothing")

    monkeypatch.setattr(dask_cluster, "connect_client", no_connecting)
    out = tmp_path / "reports"
    argv = ["run", str(workspace_dir), "--period", PERIOD, "--out", str(out)]
    assert main([*argv, "--scheduler", address]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"kpinb: error: {said}")
    assert "give the address `dask scheduler` prints, such as tcp://host:8786" in err
    assert not out.exists()


def test_the_schemes_dask_knows_are_named_when_one_is_not() -> None:
    from distributed.comm import registry

    from kpinb.batch.executors.dask import check_scheduler_address
    from kpinb.errors import UsageError

    with pytest.raises(UsageError) as caught:
        check_scheduler_address("udp://host:8786")
    for scheme in ("tcp", "tls", *registry.backends):
        assert f"{scheme}://" in str(caught.value)
    assert check_scheduler_address(" tcp://host:8786 ") == "tcp://host:8786"
    assert check_scheduler_address("host:8786") == "host:8786"  # tcp, as Dask reads it
    assert check_scheduler_address("tls://host:8786") == "tls://host:8786"

"""A light core: each optional feature asks for its extra with one sentence naming the pip
command when its package is missing (simulated by a ``None`` in ``sys.modules``)."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from kpinb.batch.publish.uploads import check_out
from kpinb.cli import main
from kpinb.extras import EXTRAS, URL_EXTRAS, MissingExtraError, require

ROOT = Path(__file__).resolve().parents[2]


def _one_sentence(text: str, extra: str) -> None:
    assert text.endswith(f"pip install 'kpinb[{extra}]'")
    assert text.count(". ") == 0 and "\n" not in text


def test_every_extra_kpinb_names_is_declared_and_all_holds_them() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert set(EXTRAS) | {extra for _, extra in URL_EXTRAS.values()} <= set(declared)
    assert declared["all"] == [f"kpinb[{','.join(EXTRAS)}]"]
    core = " ".join(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    for heavy in ("jupyterlab", "ipywidgets", "distributed", "s3fs", "gcsfs", "sqlalchemy"):
        assert heavy not in core, heavy


def test_the_explorer_without_the_lab_extra_names_the_pip_command(
    monkeypatch: pytest.MonkeyPatch, workspace_dir: Path
) -> None:
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    import kpinb

    with pytest.raises(MissingExtraError) as caught:
        kpinb.explore(workspace_dir, "2026-Q1")
    assert str(caught.value) == (
        "the explorer in JupyterLab needs ipywidgets, which is not installed: "
        "pip install 'kpinb[lab]'"
    )
    _one_sentence(str(caught.value), "lab")


def test_a_run_on_a_cluster_without_the_dask_extra_says_so_and_writes_nothing(
    monkeypatch: pytest.MonkeyPatch,
    workspace_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    monkeypatch.delitem(sys.modules, "kpinb.batch.executors.dask", raising=False)
    out = tmp_path / "reports"
    argv = ["run", str(workspace_dir), "--period", "2026-Q1", "--out", str(out)]
    assert main([*argv, "--scheduler", "tcp://127.0.0.1:8786"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        "kpinb: kpinb run --scheduler (the batch on a Dask cluster) needs distributed, which "
        "is not installed: pip install 'kpinb[dask]'"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("url", "module", "extra"),
    [("s3://bucket/reports", "s3fs", "s3"), ("gs://bucket/reports", "gcsfs", "gcs")],
)
def test_a_cloud_url_without_its_extra_names_the_pip_command(
    monkeypatch: pytest.MonkeyPatch, url: str, module: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingExtraError, match=rf"needs {module}, which is not installed"):
        check_out(url)
    try:
        check_out(url)
    except MissingExtraError as exc:
        _one_sentence(str(exc), extra)


def test_a_local_or_memory_url_needs_no_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("s3fs", "gcsfs"):
        monkeypatch.setitem(sys.modules, module, None)
    check_out("memory://reports")
    check_out("file:///tmp/reports")


def test_a_broken_package_is_not_mistaken_for_a_missing_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "halfway.py").write_text("import no_such_module_kpinb\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="no_such_module_kpinb") as caught:
        require("halfway", "sql")
    assert not isinstance(caught.value, MissingExtraError)
    with pytest.raises(ValueError, match="unknown extra 'nope'"):
        require("json", "nope")

"""A regular install (not editable) runs reports: the notebooks and templates ship in the wheel.

The wheel is built from this checkout, installed into a fresh venv (``--no-deps``;
this venv's site-packages, and its share/jupyter for nbconvert's base templates, are
made visible behind it for the dependencies, so the test needs no network) and
``kpinb run`` is started from a folder outside the repository.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _sh(*argv: object, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{argv} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def _build_wheel(dist: Path) -> tuple[Path, str]:
    # the build backend (hatchling) is a dev dependency: no download needed
    isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-build-isolation"]
    log = _sh(
        sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", *isolation, "-w", dist, ROOT
    )  # fmt: skip
    (wheel,) = dist.glob("kpinb-*.whl")
    return wheel, log


@pytest.mark.slow
def test_the_wheel_installs_and_runs_a_report_outside_the_checkout(
    tmp_path: Path, workspace_dir: Path
) -> None:
    wheel, log = _build_wheel(tmp_path / "dist")
    assert "deprecated" not in log.lower() and "absent from the" not in log  # packaging warnings
    names = set(zipfile.ZipFile(wheel).namelist())
    for nb in ("employee_report", "team_report", "department_report"):
        assert f"kpinb/_notebooks/{nb}.ipynb" in names
    assert "kpinb/templates/nbconvert/kpinb/index.html.j2" in names
    assert "kpinb/demo/data.yaml" in names
    assert not any(n.startswith(("notebooks/", "tests/")) for n in names)

    venv = tmp_path / "venv"
    _sh(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    _sh(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel)
    site = _sh(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    # the dependencies: this venv's packages, behind the fresh venv's own (kpinb first)
    Path(site.strip(), "zz_dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # and the data files those packages installed (nbconvert's base templates)
    env["JUPYTER_PATH"] = str(Path(sys.prefix, "share", "jupyter"))
    where = _sh(
        python, "-c",
        "import kpinb.batch.planning.plan as p; print(p.__file__); print(p.NOTEBOOKS_DIR)",
        cwd=elsewhere, env=env,
    ).split()  # fmt: skip
    assert all(Path(w).is_relative_to(venv) for w in where), where
    assert where[1].endswith("_notebooks")

    workspace = elsewhere / "ws"
    shutil.copytree(workspace_dir, workspace)
    out = _sh(
        venv / "bin" / "kpinb", "run", "ws", "--period", "2026-Q3", "--only", "E002",
        "--workers", "1", "--out", "reports", cwd=elsewhere, env=env,
    )  # fmt: skip
    assert "1 written" in out
    report = elsewhere / "reports" / "2026-Q3" / "employees"
    html = (report / "E002.html").read_text(encoding="utf-8")
    assert "<svg" in html and "employee view" in html
    assert (report / "E002.json").is_file()

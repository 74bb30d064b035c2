"""The docs site: `make docs` builds mkdocs.yml strictly (every warning an error), offline,
and a broken link or anchor fails the build."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "mkdocs.yml"


def _build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )


@pytest.mark.slow
def test_the_site_builds_strictly_with_the_api_reference(tmp_path: Path) -> None:
    done = _build(CONFIG, tmp_path / "site")
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    page = (tmp_path / "site" / "api" / "analytics" / "index.html").read_text(encoding="utf-8")
    assert 'id="kpinb.analytics.analyse"' in page  # generated from the docstrings
    for name in ("kpinb", "workspace", "report", "journal"):
        assert (tmp_path / "site" / "api" / name / "index.html").is_file(), name
    home = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "fonts.googleapis.com" not in home  # nothing fetched from the web


def test_every_page_under_docs_is_in_the_nav() -> None:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    listed = set(re.findall(r"[\w/-]+\.md", yaml.safe_dump(config["nav"])))
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert pages - {p for p in pages if p.startswith("example-workspace/")} == listed


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("[gone](missing.md)", "missing.md"),
        ("[nowhere](#no-such-heading)", "no-such-heading"),
    ],
)
def test_a_broken_link_or_anchor_fails_the_build(tmp_path: Path, text: str, said: str) -> None:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text(f"# Home\n\nSee {text}.\n", encoding="utf-8")
    config.update(docs_dir=str(docs), nav=["index.md"], plugins=["search"])
    config.pop("exclude_docs")
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    done = _build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert done.returncode != 0
    assert said in done.stderr and "WARNING" in done.stderr

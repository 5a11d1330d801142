"""The README's "Install" section, run as written: each shell block in a fresh virtualenv
(activated the way ``source bin/activate`` does), from a copy of the checkout; then the
installed package (not the checkout) imports with its extra."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
_SKIP = shutil.ignore_patterns(
    ".git", ".venv", ".nox", "dist", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)


def install_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("\n## Install\n") :]
    section = section[: section.index("\n## ", 1)]
    return re.findall(r"```sh\n(.*?)```", section, re.DOTALL)


def test_the_install_section_has_the_checkout_and_the_wheel_commands() -> None:
    blocks = install_blocks()
    assert len(blocks) == 2
    assert "pip install '.[redis]'" in blocks[0]
    assert "python -m build" in blocks[1]


@pytest.mark.parametrize("block", install_blocks(), ids=["from-checkout", "from-wheel"])
def test_each_install_block_works_as_written(block: str, tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT, checkout, ignore=_SKIP)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True, timeout=120)
    env = {
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "VIRTUAL_ENV": str(venv),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "PYTHONNOUSERSITE": "1",
    }
    done = subprocess.run(
        ["bash", "-e", "-c", block],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=500,
        check=False,
    )
    assert done.returncode == 0, f"{block}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    shown = subprocess.run(
        [venv / "bin" / "python", "-c", "import cache_bridge, redis; print(cache_bridge.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert str(venv) in shown.stdout  # installed, not imported from the checkout

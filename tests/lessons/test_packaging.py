"""The lessons ship with raftviz: a wheel built from this tree carries them, and raftviz
installed from it (not from the source tree) lists and plays them. Offline: the wheel is
built without isolation and installed without dependencies into a fresh venv that borrows
this environment's libraries; nothing is downloaded."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from raftviz import lessons

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("pyproject.toml", "README.md", "raftviz", "engine", "lessons")


def run(*argv: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def build_wheel(tmp_path: Path) -> Path:
    """A wheel of a copy of the tree (building in place would leave build/ behind)."""
    pytest.importorskip("setuptools")
    pytest.importorskip("wheel")
    src = tmp_path / "src"
    src.mkdir()
    for name in SHIPPED:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, src / name)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
        "--no-index", "-q", "-w", tmp_path / "dist", src, cwd=tmp_path)
    return next((tmp_path / "dist").glob("raftviz-*.whl"))


def fresh_venv(tmp_path: Path) -> Path:
    """A venv whose only raftviz is the one installed in it; its dependencies come from
    this environment's site-packages (a plain path, so no editable finder comes along)."""
    env = tmp_path / "env"
    run(sys.executable, "-m", "venv", "--without-pip", env, cwd=tmp_path)
    python = env / "bin" / "python"
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
                  cwd=tmp_path).stdout.strip()
    (Path(purelib) / "borrowed.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return env


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="the venv layout below is POSIX's")
def test_an_installed_wheel_finds_its_lessons(tmp_path):
    wheel = build_wheel(tmp_path)
    env = fresh_venv(tmp_path)
    run(sys.executable, "-m", "pip", "--python", env / "bin" / "python", "install", "-q",
        "--no-deps", "--no-index", wheel, cwd=tmp_path)
    where = run(env / "bin" / "python", "-c", "import raftviz.lessons as l; "
                "print(l.__file__); print(l.LESSONS_DIR)", cwd=tmp_path).stdout.split()
    assert Path(where[0]).is_relative_to(env)
    assert Path(where[1]) == env / "share" / "raftviz" / "lessons"
    listing = run(env / "bin" / "raftviz", "lesson", "list", cwd=tmp_path).stdout
    assert len(listing.splitlines()) == len(list(lessons.LESSONS_DIR.glob("*.lesson")))
    played = run(env / "bin" / "raftviz", "lesson", "run", "quota", "--headless",
                 cwd=tmp_path).stdout
    assert "expectations hold" in played.splitlines()[-1]


def test_the_source_tree_comes_first_then_the_data_directories(monkeypatch, tmp_path):
    dirs = lessons.lesson_dirs()
    assert dirs[0] == ROOT / "lessons" == lessons.LESSONS_DIR
    data = Path(sysconfig.get_path("data")) / "share" / "raftviz" / "lessons"
    assert data in dirs[1:]
    installed = tmp_path / "share" / "raftviz" / "lessons"
    installed.mkdir(parents=True)
    monkeypatch.setattr(lessons, "lesson_dirs", lambda: [tmp_path / "gone", installed])
    assert lessons.default_lessons_dir() == tmp_path / "gone"     # nothing there yet
    (installed / "FORMAT.md").write_text("# Writing a raftviz lesson\n")
    assert lessons.default_lessons_dir() == installed

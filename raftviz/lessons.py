"""`raftviz lesson list | run | check`: finding lessons and the command line around them.

Lessons are `*.lesson` files in the project's lessons/ directory, or in a teacher's own
(`--lessons DIR`). The project's own are found beside the package in a source checkout
(or an editable install), and where a wheel put them otherwise: pyproject.toml installs
them as data files, in `share/raftviz/lessons` under the environment's (or the user's)
data directory. A lesson is named by its file name without the number that orders the
list (`03-log-replication.lesson` is `log-replication`); its number, its full file name
or a path work too. Every failure is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import sysconfig
from pathlib import Path

from .lesson_check import format_problems, read_and_check
from .lesson_format import Lesson, lesson_name
from .lesson_headless import play
from .lesson_player import LessonError, unsupported

SUFFIX = ".lesson"
INSTALLED = Path("share", "raftviz", "lessons")   # under a data directory (pyproject.toml)
MARKER = "FORMAT.md"                             # the teacher's guide ships with them


def lesson_dirs() -> list[Path]:
    """Where raftviz's own lessons may be, in the order they are looked for."""
    source = Path(__file__).resolve().parent.parent / "lessons"
    schemes = (sysconfig.get_default_scheme(), sysconfig.get_preferred_scheme("user"))
    data = [Path(sysconfig.get_path("data", scheme)) / INSTALLED for scheme in schemes]
    return [source, *dict.fromkeys(data)]


def default_lessons_dir() -> Path:
    """The first place that holds raftviz's lessons (the source tree's if none does)."""
    dirs = lesson_dirs()
    return next((d for d in dirs if (d / MARKER).is_file()), dirs[0])


LESSONS_DIR = default_lessons_dir()


class NotFound(Exception):
    """No such lesson or directory; the text says what to do instead."""


def lesson_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise NotFound(f"no lesson directory {directory}")
    return sorted(directory.glob(f"*{SUFFIX}"))


def find_lesson(name: str, directory: Path) -> Path:
    path = Path(name)
    if path.is_file():
        return path
    if "/" in name or name.endswith(SUFFIX):
        raise NotFound(f"no lesson file {name}")
    for candidate in lesson_files(directory):
        number = candidate.stem.split("-", 1)[0]
        if name in (candidate.stem, candidate.name, lesson_name(candidate)) or \
                (name.isdigit() and number.isdigit() and int(name) == int(number)):
            return candidate
    raise NotFound(f"no lesson named {name!r} in {directory} "
                   f"(raftviz lesson list shows them)")


def load(path: Path) -> Lesson:
    """A lesson ready to play, or LessonError naming its first problem."""
    lesson, problems = read_and_check(path)
    if problems:
        more = f" (and {len(problems) - 1} more: raftviz lesson check {path})" \
            if len(problems) > 1 else ""
        raise LessonError(format_problems(path, problems)[0] + more)
    return lesson


# --- the subcommands --------------------------------------------------------------------


def _error(message: str) -> int:
    print(f"raftviz: error: {message}", file=sys.stderr)
    return 2


def cmd_list(args: argparse.Namespace) -> int:
    try:
        files = lesson_files(args.lessons)
    except NotFound as exc:
        return _error(str(exc))
    rows = []
    for path in files:
        lesson, problems = read_and_check(path)
        about = f"(broken: raftviz lesson check {path})" if problems else \
            f"{lesson.title} ({lesson.minutes} min)"
        if not problems and unsupported(lesson):
            about += " (cannot run here: needs a storage quota)"
        rows.append((lesson_name(path), about))
    width = max((len(name) for name, _ in rows), default=0)
    for name, about in rows:
        print(f"{name.ljust(width)}  {about}")
    if not rows:
        print(f"no lessons in {args.lessons}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    answers = [a.strip() for a in args.answers.split(",")] if args.answers else []
    try:
        lesson = load(find_lesson(args.name, args.lessons))
        if args.headless:
            return 0 if play(lesson, answers).ok else 1
        from .ui.screens.lesson import run_lesson   # Textual loads only for the TUI
        print(run_lesson(lesson, answers))
        return 0
    except (NotFound, LessonError, ValueError) as exc:
        return _error(str(exc))


def cmd_check(args: argparse.Namespace) -> int:
    try:
        paths = [find_lesson(f, args.lessons) for f in args.files] if args.files else \
            lesson_files(args.lessons)
    except NotFound as exc:
        return _error(str(exc))
    bad = 0
    for path in paths:
        _, problems = read_and_check(path)
        for line in format_problems(path, problems):
            print(line)
        bad += bool(problems)
    if not bad:
        print(f"{len(paths)} lesson{'s' if len(paths) != 1 else ''} checked: no problems")
    return 1 if bad else 0


def register(subparsers) -> None:
    lesson = subparsers.add_parser("lesson", help="guided lessons: list, run or check them")
    actions = lesson.add_subparsers(dest="lesson_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="one line per lesson: name, title, minutes")
    listing.set_defaults(run=cmd_list)
    run = actions.add_parser("run", help="play a lesson in the TUI (or --headless)")
    run.add_argument("name", metavar="NAME", help="a lesson's name, number or file")
    run.add_argument("--headless", action="store_true",
                     help="play every step and print what happens; exit 0 if all holds")
    run.add_argument("--answers", metavar="A,B,...",
                     help="the student's guesses for the predict questions, in order")
    run.set_defaults(run=cmd_run)
    check = actions.add_parser("check", help="report every problem as FILE:LINE: message")
    check.add_argument("files", nargs="*", metavar="FILE",
                       help="lesson files (default: every lesson)")
    check.set_defaults(run=cmd_check)
    for sub in (listing, run, check):
        sub.add_argument("--lessons", type=Path, default=LESSONS_DIR, metavar="DIR",
                         help="the directory of lessons (default: raftviz's own)")

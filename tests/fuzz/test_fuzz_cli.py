"""Fuzz the command line: `raftviz.cli.main` with random argv made of the parser's own
subcommands and options, values of every kind, prefixes and `--opt=value` forms. Parsing
must end in exit 0 (parsed: the subcommand would run), 1, or 2 with one `raftviz: error:`
line, and never a traceback. Only parsing is fuzzed: whatever would run (a cluster, the
UI, a benchmark) is replaced by a stub once the arguments are parsed.
"""

from __future__ import annotations

import argparse
import contextlib
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from raftviz import cli

from .fuzzing import FUZZ

VALUES = ["0", "1", "-1", "3", "9", "10", "x", "", "1.5", "-0.5", "nan", "inf", "1e999",
          "99999999999999999999", "0x10", "stale-read", "watch-skip", "kv", "raft", "-",
          "--", "=", "http://127.0.0.1:2379", "a,b", "/nonexistent/dir", "\u00e9\u00df", " "]


def vocabulary(parser: argparse.ArgumentParser) -> tuple[list[str], list[str]]:
    """(subcommand names, option strings) of the whole parser tree, without help."""
    names, options = [], []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                names.append(name)
                sub_names, sub_options = vocabulary(sub)
                names += sub_names
                options += sub_options
        else:
            options += [o for o in action.option_strings if o not in ("-h", "--help")]
    return sorted(set(names)), sorted(set(options))


def argv_from(data: bytes, names: list[str], options: list[str]) -> list[str]:
    argv = []
    for n in range(0, len(data) - 1, 2):
        kind, pick = data[n] % 6, data[n + 1]
        if kind == 0:
            argv.append(names[pick % len(names)])
        elif kind in (1, 2):
            argv.append(options[pick % len(options)])
        elif kind == 3:
            argv.append(VALUES[pick % len(VALUES)])
        elif kind == 4:
            argv.append(f"{options[pick % len(options)]}={VALUES[pick % len(VALUES)]}")
        else:
            option = options[pick % len(options)]
            argv.append(option[:max(3, pick % len(option))])
    return argv


class Stubbed:
    """The real parser, built once, whose parsed arguments run a stub."""

    def __init__(self) -> None:
        self.parser = cli.build_parser()
        self.ran = 0
        real_parse = self.parser.parse_args

        def parse_args(argv=None):
            args = real_parse(argv)
            args.run = self.run
            return args
        self.parser.parse_args = parse_args

    def run(self, args: argparse.Namespace) -> int:
        self.ran += 1
        return 0


@pytest.fixture(scope="module")
def stubbed():
    stub = Stubbed()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli, "build_parser", lambda: stub.parser)
        yield stub


@pytest.mark.slow
@FUZZ
@given(st.binary(max_size=20))
def test_fuzz_cli_arguments(stubbed, data):
    names, options = VOCABULARY
    argv = argv_from(data, names, options)
    out, err = io.StringIO(), io.StringIO()
    ran = stubbed.ran
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    assert code in (0, 1, 2), (argv, code)
    assert "Traceback" not in out.getvalue() + err.getvalue()
    if code == 2:
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith("raftviz: error: "), (argv, lines)
    elif stubbed.ran == ran:
        assert "usage:" in out.getvalue(), argv      # only help gets here without running


VOCABULARY = vocabulary(cli.build_parser())


def test_the_vocabulary_covers_the_parser():
    names, options = VOCABULARY
    assert {"check", "node", "up", "bench"} <= set(names)
    assert {"--seeds", "--workload", "--planted-bug"} <= set(options)

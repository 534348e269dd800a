"""Shared pytest options: `--rewrite` regenerates the expected output of transcript tests."""


def pytest_addoption(parser):
    parser.addoption("--rewrite", action="store_true", default=False,
                     help="rewrite transcript files with actual output instead of comparing")

"""`raftviz demo lock` tells Jepsen's lock story and checks each claim of it."""

from raftviz.cli import main


def test_demo_lock_shows_two_holders_then_fencing(capsys):
    assert main(["demo", "lock"]) == 0
    out = capsys.readouterr().out
    assert "Two holders" in out and "Fencing with the revision" in out
    assert "key data is written-by-A" in out            # unfenced: B's data overwritten
    assert "txn create(lock) = 2 then put data written-by-A`: FAILURE" in out   # fenced
    assert "15 of 15 expectations hold" in out
    assert "✗" not in out


def test_unknown_demo_is_a_usage_error(capsys):
    assert main(["demo", "raft"]) == 2
    assert "invalid choice" in capsys.readouterr().err

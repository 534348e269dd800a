"""A member's collector policy (engine/runtime/garbage.py), in a fresh interpreter: it is
a whole-process setting, kept out of the test process."""

import subprocess
import sys

PROBE = """
import gc
from engine.runtime import garbage
garbage.keep_history_out_of_full_collections()
garbage.keep_history_out_of_full_collections()
history = [[i] for i in range(50_000)]      # long-lived containers, like a member's log
gc.collect()
frozen = gc.get_freeze_count()
class Node:
    pass
a, b = Node(), Node()
a.other, b.other = b, a                       # a young cycle, then garbage
del a, b
print(gc.callbacks.count(garbage._freeze_survivors), frozen >= 50_000, gc.collect() >= 2)
"""


def test_survivors_of_a_full_collection_are_left_out_of_the_next_and_cycles_still_go():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    assert out == ["1", "True", "True"]

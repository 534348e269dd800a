"""The lesson as the TUI drives it (no screen needed): steps, guesses, the student's own
moves, waiting for a `your turn:` condition, going back and restoring the cluster."""

from __future__ import annotations

from pathlib import Path

from engine import observe as o
from raftviz.lesson_format import parse_lesson
from raftviz.lesson_session import LessonSession, Phase, panel
from raftviz.lessons import LESSONS_DIR, load

LESSON = """# Small
minutes: 3
cluster: 3 nodes, seed 4

Hello.

## Elect
Watch the cards.
predict: Who leads?
- 1
- 2
answer: 1
do: run until there is a leader within 40 ticks
expect: leader is 1

## Write
Send a write.
do: put k v
expect: key k is v

## Your turn
Crash node 2.
your turn: node 2 is down
do: crash 2
expect: leader is 1
"""


def small() -> LessonSession:
    lesson, problems = parse_lesson(LESSON, Path("small.lesson"))
    assert problems == []
    return LessonSession(lesson)


def settle(session: LessonSession) -> None:
    for _ in range(1000):
        if not session.pump(frames=5) and session.phase is not Phase.RUNNING:
            return


def test_intro_then_a_guess_is_asked_for():
    s = small()
    assert panel(s).heading == "Introduction" and panel(s).body == "Hello."
    s.next()
    assert s.phase is Phase.READY and panel(s).choices == ("1", "2")
    s.next()
    assert s.phase is Phase.READY and "Make a guess first" in panel(s).status
    s.choose(1)
    s.next()
    assert s.phase is Phase.RUNNING
    settle(s)
    p = panel(s)
    assert s.phase is Phase.DONE and p.answer == 1 and p.guess == 1
    assert [r.kind for r in p.results][-1] == "pass"
    assert s.right_guesses() == (1, 1) and s.answers_text() == "1"


def test_a_second_press_skips_the_guess():
    s = small()
    s.next(), s.next(), s.next()
    settle(s)
    assert s.phase is Phase.DONE and s.right_guesses() == (0, 0)


def test_run_until_unfolds_over_several_frames():
    s = small()
    s.next(), s.choose(2), s.next()
    frames = 0
    while s.phase is Phase.RUNNING:
        s.pump(frames=1)
        frames += 1
    assert frames > 10          # the election took about a dozen ticks, one per frame


def test_your_turn_waits_for_the_student():
    s = small()
    for _ in range(3):
        s.next(), s.choose(1), s.next()
        settle(s)
    assert s.index == 2 and s.phase is Phase.WAITING and panel(s).can_show
    s.pump()
    assert s.phase is Phase.WAITING
    s.player.backend.execute(o.Tick(2))           # the student doing something else
    s.pump()
    assert s.phase is Phase.WAITING
    s.player.backend.execute(o.Crash(2))          # the student doing it
    s.pump()
    settle(s)
    assert s.phase is Phase.DONE and s.step_ok(2)
    s.next()
    assert s.phase is Phase.FINISHED and "predictions right: 1 of 1" in panel(s).body


def test_show_me_does_it_for_the_student():
    s = small()
    for _ in range(3):
        s.next(), s.choose(1), s.next()
        settle(s)
    s.show_me()
    settle(s)
    view = s.player.view()
    assert s.phase is Phase.DONE and not view.node(2).up


def test_wandering_off_is_noticed_and_restored():
    s = small()
    s.next(), s.choose(1), s.next()
    settle(s)
    end = s.player.view().event
    s.player.backend.execute(o.Crash(1))          # the student crashes the leader
    s.next()
    assert "You changed the cluster" in panel(s).status and panel(s).warn
    s.restore()
    assert s.player.view().event == end and s.player.view().node(1).up
    s.next()
    settle(s)
    assert s.step_ok(1)


def test_running_on_the_students_cluster_after_a_warning():
    s = small()
    s.next(), s.choose(1), s.next()
    settle(s)
    s.next()
    s.player.backend.execute(o.Tick(1))
    s.next()
    assert s.phase is Phase.READY and "not where this step begins" in s.notice
    s.next()
    settle(s)
    assert s.phase is Phase.DONE


def test_restore_after_the_student_forked_history():
    s = small()
    s.next(), s.choose(1), s.next()
    settle(s)
    mark = s.records[0].end
    backend = s.player.backend
    backend.execute(o.GoTo(3))                    # back in time, then a different future
    backend.execute(o.Crash(3))
    assert s.player.moved_from(mark)
    s.next()
    s.restore()
    assert not s.player.moved_from(mark) and s.player.view().leader().id == 1


def test_back_replays_the_previous_step():
    s = small()
    s.next(), s.choose(1), s.next()
    settle(s)
    s.next(), s.next()
    settle(s)
    assert s.index == 1 and s.phase is Phase.DONE
    s.back()                                      # done: replay this step from its start
    assert s.index == 1 and s.phase is Phase.READY
    assert s.player.view().event == s.records[0].end.event
    s.back()                                      # ready: the step before
    assert s.index == 0 and s.player.view().event == 0


def test_a_whole_shipped_lesson_through_the_session():
    lesson = load(LESSONS_DIR / "04-follower-crash.lesson")
    s = LessonSession(lesson, answers=["2"])
    while s.phase is not Phase.FINISHED:
        if s.phase is Phase.WAITING:
            s.show_me()
        else:
            s.next()
        settle(s)
    assert all(s.step_ok(i) for i in range(len(lesson.steps)))
    assert s.right_guesses() == (1, 1)

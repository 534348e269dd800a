"""TrafficLog: members' traffic reports turned into the timeline's messages, each taken
once, with those no report carried counted."""

from engine.observe import MessageStatus
from raftviz.live_traffic import HEARTBEATS_KEPT, TrafficLog
from raftviz.live_views import entries_summary

RAFT_IDS = {0xa1: 1, 0xb2: 2, 0xc3: 3}


def sent(seq, frm=0xa1, to=0xb2, kind="MsgHeartbeat", at=5_000, **more):
    return {"seq": seq, "at": at, "type": kind, "from": frm, "to": to, "term": 2,
            "log_term": 0, "index": 0, "commit": 0, "reject": False, "entries": 0,
            "dropped": "", **more}


def take(log, number, count, *seqs, kind="MsgApp"):
    """The ids of the messages this report added."""
    before = {m.id for m in log.messages()}
    log.take(number, {"count": count, "recent": [sent(s, kind=kind) for s in seqs]},
             RAFT_IDS.get)
    return sorted(m.id for m in log.messages() if m.id not in before)


def test_each_message_is_taken_once_and_those_no_report_carried_are_counted():
    log = TrafficLog(origin_ms=1_000)
    assert take(log, 1, 40, 38, 39, 40) == [-1_999_962, -1_999_961, -1_999_960]
    assert take(log, 1, 41, 39, 40, 41) == [-1_999_959]
    assert log.missed == 0
    assert take(log, 1, 60, 58, 59, 60) == [-1_999_942, -1_999_941, -1_999_940]
    assert log.missed == 16                     # 42 to 57
    assert take(log, 2, 5, 4, 5) == [-2_999_996, -2_999_995]
    assert log.missed == 16


def test_a_restarted_member_counts_from_its_first_report_again():
    log = TrafficLog(origin_ms=0)
    take(log, 1, 900, 899, 900)
    assert take(log, 1, 3, 1, 2, 3) == [-1_999_999, -1_999_998, -1_999_997]
    assert log.missed == 0


def test_a_message_reads_with_the_members_numbers_its_entries_and_requests():
    log = TrafficLog(origin_ms=1_000)
    append = sent(7, kind="MsgApp", to=0xc3, index=9, log_term=2, commit=9, entries=3,
                  first=[2, 10], last=[2, 12], at=1_250)
    cut = sent(8, frm=0xc3, to=0xa1, kind="MsgVote", dropped="link 195->161 is cut")
    report = {"count": 8, "recent": [append, cut]}
    traced = {(2, 11): "r-in", (2, 13): "r-after", (1, 11): "r-old-term"}
    log.take(1, report, RAFT_IDS.get, traced)
    app, vote = log.messages()
    assert (app.frm, app.to, app.type, app.entries, app.entry_count) == (
        1, 3, "MsgApp", "3 entries 10..12", 3)
    assert (app.status, app.sent_at, app.request_ids) == (MessageStatus.SENT, 250, ("r-in",))
    assert app.text == "1->3 MsgApp Term:2 Log:2/9 Commit:9 Entries: 3 entries 10..12"
    assert (vote.status, vote.note, vote.request_ids) == (
        MessageStatus.DROPPED, "link 3→1 is cut", ())


def test_heartbeats_cannot_push_the_other_messages_out():
    log = TrafficLog(origin_ms=0)
    take(log, 1, 2, 1, 2)
    take(log, 1, 2 + HEARTBEATS_KEPT * 2, *range(3, 3 + HEARTBEATS_KEPT * 2),
         kind="MsgHeartbeat")
    kept = log.messages()
    assert [m.id for m in kept[:2]] == [-1_999_999, -1_999_998]
    assert len(kept) == 2 + HEARTBEATS_KEPT and all(m.heartbeat for m in kept[2:])
    assert [m.sent_at for m in kept] == sorted(m.sent_at for m in kept)


def test_entries_are_summed_up_by_their_indexes_unless_they_have_none_yet():
    assert entries_summary(0, 0, 0) == ""
    assert (entries_summary(1, 5, 5), entries_summary(3, 5, 7)) == ("1 entry @5",
                                                                    "3 entries 5..7")
    assert (entries_summary(1, 0, 0), entries_summary(2, 0, 0)) == ("1 entry", "2 entries")

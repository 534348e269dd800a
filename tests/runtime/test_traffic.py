"""A member's recent traffic: what its gate let out or dropped, numbered, and how the
Observe stream paces reports whose only news is that traffic."""

from engine.raft import Entry, Message, MessageType
from engine.runtime.control import TRAFFIC_PACE, worth_sending
from engine.runtime.faultgate import FaultGate
from engine.runtime.traffic import Traffic
from engine.runtime.transport import PeerTransport


def heartbeat(to, term=2):
    return Message(MessageType.HEARTBEAT, to=to, frm=1, term=term, commit=7)


def test_the_report_keeps_the_last_messages_and_counts_them_all():
    clock = iter(range(1000, 2000)).__next__
    traffic = Traffic(kept=3, clock=lambda: clock() / 1000)
    for to in (2, 3, 2, 3, 2):
        traffic.note(heartbeat(to))
    report = traffic.report()
    assert report["count"] == 5
    assert [s["seq"] for s in report["recent"]] == [3, 4, 5]
    assert [s["at"] for s in report["recent"]] == [1002, 1003, 1004]
    assert report["recent"][-1] == {
        "seq": 5, "at": 1004, "type": "MsgHeartbeat", "from": 1, "to": 2, "term": 2,
        "log_term": 0, "index": 0, "commit": 7, "reject": False, "entries": 0,
        "dropped": ""}


def test_an_append_is_reported_by_its_first_and_last_entry_without_their_data():
    traffic = Traffic()
    entries = tuple(Entry(term=2, index=i, data=b"x" * 1000) for i in range(5, 105))
    traffic.note(Message(MessageType.APP, to=3, frm=1, term=2, log_term=2, index=4,
                         entries=entries, commit=4))
    sent = traffic.report()["recent"][0]
    assert (sent["entries"], sent["first"], sent["last"]) == (100, [2, 5], [2, 104])
    assert "xxx" not in str(sent)


def test_the_transport_notes_what_its_gate_sends_or_drops_and_not_what_it_holds():
    gate = FaultGate(1)
    transport = PeerTransport(1, ("127.0.0.1", 0), lambda m: None, gate=gate)
    gate.set_cut({2})
    transport.send([heartbeat(2), heartbeat(3)])
    gate.set_hold(True)
    transport.send([heartbeat(3)])
    recent = transport.traffic.report()["recent"]
    assert [(s["to"], s["dropped"]) for s in recent] == [(2, "link 1->2 is cut"), (3, "")]
    assert len(gate.held) == 1 and transport.traffic.count == 2


def test_a_report_whose_only_news_is_traffic_waits_its_pace():
    last = {"commit": 7, "traffic": {"count": 3}}
    beat = {"commit": 7, "traffic": {"count": 4}}
    moved = {"commit": 8, "traffic": {"count": 4}}
    assert worth_sending(beat, None, 0.0)
    assert not worth_sending(last, last, 10.0)
    assert not worth_sending(beat, last, TRAFFIC_PACE / 2)
    assert worth_sending(beat, last, TRAFFIC_PACE)
    assert worth_sending(moved, last, 0.0)

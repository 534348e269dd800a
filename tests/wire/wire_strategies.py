"""Hypothesis strategies for the Raft vocabulary, shared by the wire tests."""

from __future__ import annotations

from hypothesis import strategies as st

from engine.raft.types import (
    ConfState, Entry, EntryType, HardState, Message, MessageType, Snapshot, SnapshotMetadata,
)

u64 = st.integers(min_value=0, max_value=2**64 - 1)
# Mostly small numbers, as in real clusters, with the extremes mixed in.
small = st.one_of(st.integers(min_value=0, max_value=1000), u64)
ids = st.frozensets(st.integers(min_value=1, max_value=2**64 - 1), max_size=7)
blobs = st.binary(max_size=64)

entries = st.builds(Entry, term=small, index=small, type=st.sampled_from(EntryType), data=blobs)
hard_states = st.builds(HardState, term=small, vote=small, commit=small)
conf_states = st.builds(ConfState, voters=ids, learners=ids)
snapshot_metadatas = st.builds(SnapshotMetadata, index=small, term=small,
                               conf_state=conf_states)
snapshots = st.builds(Snapshot, metadata=snapshot_metadatas, data=blobs)
messages = st.builds(
    Message,
    type=st.sampled_from(MessageType), to=small, frm=small, term=small, log_term=small,
    index=small, entries=st.lists(entries, max_size=5).map(tuple), commit=small,
    snapshot=st.none() | snapshots, reject=st.booleans(), reject_hint=small, context=blobs,
)

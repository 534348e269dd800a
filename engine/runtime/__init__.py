"""engine.runtime: the only layer that does I/O (files, sockets, clocks, threads).

Durable Raft storage lives in `disk.DiskStorage` (the Storage protocol over a data dir),
`wal.WAL` (write-ahead log segments) and `snap.Snapshotter` (snapshot files), all doing
their I/O through the `fileops.FileOps` seam (`crashfs.CrashingFileOps` injects crashes in
tests). The trio host modules sit beside them. Import submodules directly: this package
imports nothing, so importing it never pulls in trio.
"""

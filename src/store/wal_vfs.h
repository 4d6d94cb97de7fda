#pragma once
// A SQLite VFS that writes a transaction's WAL frames with one system call instead of two per
// page. SQLite appends each frame as two writes (a 24-byte header, then the page); a commit of a
// hundred pages was two hundred pwrite calls, the largest single cost of a durable commit on a
// virtual machine. This VFS keeps the appends to a -wal file in memory and hands them to the
// file in one write when SQLite syncs, reads, truncates, sizes or closes it.
//
// Only for connections with synchronous=FULL: there every commit syncs the WAL before it
// publishes the new frames to other connections, so no reader can look for a frame that is still
// in the buffer. require_synchronous_full() checks it; the store calls it on every writer.
//
// Rollbacks. A transaction larger than the page cache spills pages to the WAL before it
// commits, and those frames sit in the buffer. If the transaction rolls back they must never be
// written: the WAL's end falls back to the last commit, the next commit of any connection writes
// its frames at those same offsets, and a late flush of the rolled-back frames would overwrite
// it ("file is not a database", committed rows gone). No call to the WAL file marks a rollback —
// SQLite only re-reads page 1, from the WAL when it is there and from the database file when the
// WAL was just checkpointed, so that read cannot be relied on to flush. What every commit and
// rollback does end with is releasing the WAL write lock: xShmLock(UNLOCK|EXCLUSIVE) of lock
// slot 0 on the connection's main database file. The VFS therefore wraps main database files
// too (pass-through, nothing buffered), links each to its connection's -wal file, and discards
// the buffer just before that lock is released. A process that dies mid-transaction loses only
// its memory, which is all it had of the rolled-back frames.
#include "store/sqlite.h"

namespace prov::sql {

// Registers the VFS (once) and returns its name for sqlite3_open_v2.
const char* coalescing_wal_vfs();

// Throws StoreError unless `db` runs with synchronous=FULL (or EXTRA), naming the database.
void require_synchronous_full(Database& db);

}  // namespace prov::sql

#pragma once
// A SQLite VFS that writes a transaction's WAL frames with one system call instead of two per
// page. SQLite appends each frame as two writes (a 24-byte header, then the page); a commit of a
// hundred pages was two hundred pwrite calls, the largest single cost of a durable commit on a
// virtual machine. This VFS keeps the appends to a -wal file in memory and hands them to the
// file in one write once a commit frame is complete (or when SQLite syncs, reads, truncates,
// sizes or closes the file).
//
// Commits are written before SQLite publishes them in the WAL index, so another connection that
// reads the new frames finds them in the file whether or not a sync follows: with
// synchronous=FULL the commit then syncs; with NORMAL it does not, and the writer makes its
// commits durable when it needs to with sync_wal() — after it has released the write lock, so
// other writers commit while it waits for the disk. require_synchronous() refuses OFF.
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

// Throws StoreError unless `db` runs with synchronous=NORMAL, FULL or EXTRA, naming the database.
void require_synchronous(Database& db);

// Syncs the connection's write-ahead log: every transaction committed through this connection
// (and every earlier one of any connection: the log is one file, written in order) survives a
// power loss once it returns. Call outside a transaction. Throws StoreError when the sync fails.
void sync_wal(Database& db);

}  // namespace prov::sql

#pragma once
// A SQLite VFS that writes a transaction's WAL frames with one system call instead of two per
// page. SQLite appends each frame as two writes (a 24-byte header, then the page); a commit of a
// hundred pages was two hundred pwrite calls, the largest single cost of a durable commit on a
// virtual machine. This VFS keeps the appends to a -wal file in memory and hands them to the
// file in one write when SQLite syncs, reads, truncates, sizes or closes it.
//
// Only for connections with synchronous=FULL: there every commit syncs the WAL before it
// publishes the new frames to other connections, so no reader can look for a frame that is still
// in the buffer. Main database files and journals go straight to the default VFS.
namespace prov::sql {

// Registers the VFS (once) and returns its name for sqlite3_open_v2.
const char* coalescing_wal_vfs();

}  // namespace prov::sql

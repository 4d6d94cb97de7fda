#include "store/wal_vfs.h"

#include <sqlite3.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>

#include "prov/store.h"
#include "store/sqlite.h"

namespace prov::sql {
namespace {

constexpr const char* kName = "prov-wal-coalescing";
// A commit larger than this is written in pieces of this size; far above a typical commit.
constexpr sqlite3_int64 kCapacity = 4 << 20;

sqlite3_vfs g_vfs;
sqlite3_vfs* g_base = nullptr;

struct MainFile;

struct WalFile {
  sqlite3_file base;     // pMethods: kMethods
  sqlite3_file* real;    // the default VFS's file, in the same allocation after this struct
  char* buf;             // appended bytes not yet written; nullptr: writes go straight through
  sqlite3_int64 start;   // file offset of buf[0]
  sqlite3_int64 length;  // bytes in buf
  bool holds_commit;     // buf holds a commit frame's header; its page is the next write
  MainFile* main;        // the same connection's database file, whose locks end a transaction
};

// The connection's main database file, wrapped only to see the WAL write lock released.
struct MainFile {
  sqlite3_file base;  // pMethods: kMainMethods
  sqlite3_file* real;
  const char* name;  // SQLite's name buffer for this connection: the key in open_mains()
  WalFile* wal;      // the connection's -wal file once SQLite opened it
};

WalFile* wal(sqlite3_file* f) { return reinterpret_cast<WalFile*>(f); }
MainFile* main_file(sqlite3_file* f) { return reinterpret_cast<MainFile*>(f); }

// Main database files open through this VFS, by the address of the name SQLite opened them with.
// SQLite keeps a connection's database, journal and WAL names in one buffer, and
// sqlite3_filename_database() of the WAL's name returns that same address: this is how a WAL
// file finds the lock calls of its own connection, not of another one on the same database.
std::mutex g_mains_mutex;
std::unordered_map<const char*, MainFile*>& open_mains() {
  static auto* mains = new std::unordered_map<const char*, MainFile*>();
  return *mains;
}

// WAL frame layout (https://sqlite.org/fileformat2.html#walformat): a 24-byte header whose bytes
// 4..7 hold, for a commit frame, the database size in pages, and 0 otherwise.
constexpr int kFrameHeader = 24;
bool is_commit_frame_header(const void* data, int amount, sqlite3_int64 offset) {
  if (amount != kFrameHeader || offset < 32) return false;
  const auto* b = static_cast<const unsigned char*>(data);
  return (b[4] | b[5] | b[6] | b[7]) != 0;
}

// The default VFS writes at most 128 KiB - 1 per call (it masks the length to 17 bits), so the
// buffer goes out in pieces of 64 KiB: 16 frames of 4 KiB pages per system call instead of 32.
constexpr sqlite3_int64 kPiece = 64 << 10;

int flush(WalFile* f) {
  int rc = SQLITE_OK;
  for (sqlite3_int64 done = 0; done < f->length && rc == SQLITE_OK; done += kPiece) {
    const sqlite3_int64 n = f->length - done < kPiece ? f->length - done : kPiece;
    rc = f->real->pMethods->xWrite(f->real, f->buf + done, static_cast<int>(n), f->start + done);
  }
  f->length = 0;  // on failure SQLite rolls back and rewrites; the bytes are not kept
  f->holds_commit = false;
  return rc;
}

// The connection gave up the WAL write lock. Frames still buffered now belong to a transaction
// that rolled back (a commit's frames were written when its commit frame was complete). They
// must not reach the file: from this moment another connection may commit frames at the same
// offsets, and a later flush would write the rolled-back frames over them.
int end_of_write_transaction(WalFile* f) {
  f->length = 0;
  f->holds_commit = false;
  return SQLITE_OK;
}

int x_close(sqlite3_file* file) {
  WalFile* f = wal(file);
  const int rc = flush(f);  // empty by now: every transaction ended with a sync or a discard
  {
    std::lock_guard lock(g_mains_mutex);
    if (f->main != nullptr) f->main->wal = nullptr;
    f->main = nullptr;
  }
  const int rc2 = f->real->pMethods->xClose(f->real);
  std::free(f->buf);
  f->buf = nullptr;
  return rc != SQLITE_OK ? rc : rc2;
}

int x_read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  WalFile* f = wal(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xRead(f->real, out, amount, offset);
}

int x_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  WalFile* f = wal(file);
  if (f->buf == nullptr) return f->real->pMethods->xWrite(f->real, data, amount, offset);
  const bool completes_commit = f->holds_commit;
  const bool appends = f->length > 0 && offset == f->start + f->length;
  if (!appends || f->length + amount > kCapacity) {
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
    if (amount > kPiece) return f->real->pMethods->xWrite(f->real, data, amount, offset);
    f->start = offset;
  }
  std::memcpy(f->buf + f->length, data, static_cast<std::size_t>(amount));
  f->length += amount;
  // SQLite writes a frame as its header, then its page. Once a commit frame is complete the
  // transaction's frames go to the file, before SQLite publishes them in the WAL index: with
  // synchronous=NORMAL no sync follows to flush them, and another connection reading the new
  // frames must find them in the file (a sync with FULL then finds the buffer empty).
  if (completes_commit) return flush(f);
  if (is_commit_frame_header(data, amount, offset)) f->holds_commit = true;
  return SQLITE_OK;
}

int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
  WalFile* f = wal(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xTruncate(f->real, size);
}

int x_sync(sqlite3_file* file, int flags) {
  WalFile* f = wal(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xSync(f->real, flags);
}

int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
  WalFile* f = wal(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFileSize(f->real, size);
}

int x_lock(sqlite3_file* file, int level) {
  return wal(file)->real->pMethods->xLock(wal(file)->real, level);
}
int x_unlock(sqlite3_file* file, int level) {
  return wal(file)->real->pMethods->xUnlock(wal(file)->real, level);
}
int x_check_reserved(sqlite3_file* file, int* out) {
  return wal(file)->real->pMethods->xCheckReservedLock(wal(file)->real, out);
}
int x_file_control(sqlite3_file* file, int op, void* arg) {
  WalFile* f = wal(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFileControl(f->real, op, arg);
}
int x_sector_size(sqlite3_file* file) {
  return wal(file)->real->pMethods->xSectorSize(wal(file)->real);
}
int x_device_characteristics(sqlite3_file* file) {
  return wal(file)->real->pMethods->xDeviceCharacteristics(wal(file)->real);
}

// A -wal file has no shared memory and is never memory-mapped; these exist only because the
// method table's version must match what SQLite expects of the real file.
int x_shm_map(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  return wal(file)->real->pMethods->xShmMap(wal(file)->real, region, size, extend, out);
}
int x_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  return wal(file)->real->pMethods->xShmLock(wal(file)->real, offset, n, flags);
}
void x_shm_barrier(sqlite3_file* file) { wal(file)->real->pMethods->xShmBarrier(wal(file)->real); }
int x_shm_unmap(sqlite3_file* file, int delete_flag) {
  return wal(file)->real->pMethods->xShmUnmap(wal(file)->real, delete_flag);
}
int x_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  WalFile* f = wal(file);
  *out = nullptr;
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFetch(f->real, offset, amount, out);
}
int x_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  return wal(file)->real->pMethods->xUnfetch(wal(file)->real, offset, page);
}

const sqlite3_io_methods kMethods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved,
    x_file_control,
    x_sector_size,
    x_device_characteristics,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    x_fetch,
    x_unfetch,
};

// --- the main database file: every call goes to the real file; releasing the WAL write lock
// first ends the WAL file's write transaction.

sqlite3_file* real_of(sqlite3_file* file) { return main_file(file)->real; }

int m_close(sqlite3_file* file) {
  MainFile* m = main_file(file);
  {
    std::lock_guard lock(g_mains_mutex);
    open_mains().erase(m->name);
    if (m->wal != nullptr) m->wal->main = nullptr;
    m->wal = nullptr;
  }
  return m->real->pMethods->xClose(m->real);
}
int m_read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  return real_of(file)->pMethods->xRead(real_of(file), out, amount, offset);
}
int m_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  return real_of(file)->pMethods->xWrite(real_of(file), data, amount, offset);
}
int m_truncate(sqlite3_file* file, sqlite3_int64 size) {
  return real_of(file)->pMethods->xTruncate(real_of(file), size);
}
int m_sync(sqlite3_file* file, int flags) {
  return real_of(file)->pMethods->xSync(real_of(file), flags);
}
int m_file_size(sqlite3_file* file, sqlite3_int64* size) {
  return real_of(file)->pMethods->xFileSize(real_of(file), size);
}
int m_lock(sqlite3_file* file, int level) {
  return real_of(file)->pMethods->xLock(real_of(file), level);
}
int m_unlock(sqlite3_file* file, int level) {
  return real_of(file)->pMethods->xUnlock(real_of(file), level);
}
int m_check_reserved(sqlite3_file* file, int* out) {
  return real_of(file)->pMethods->xCheckReservedLock(real_of(file), out);
}
int m_file_control(sqlite3_file* file, int op, void* arg) {
  return real_of(file)->pMethods->xFileControl(real_of(file), op, arg);
}
int m_sector_size(sqlite3_file* file) {
  return real_of(file)->pMethods->xSectorSize(real_of(file));
}
int m_device_characteristics(sqlite3_file* file) {
  return real_of(file)->pMethods->xDeviceCharacteristics(real_of(file));
}
int m_shm_map(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  return real_of(file)->pMethods->xShmMap(real_of(file), region, size, extend, out);
}

// Slot 0 of the WAL index's locks is the WAL write lock (WAL_WRITE_LOCK in SQLite's wal.c); it is
// held from the first frame a transaction writes until its commit or rollback has finished.
constexpr int kWalWriteLock = 0;

int m_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  MainFile* m = main_file(file);
  const bool releases_write_lock = (flags & SQLITE_SHM_UNLOCK) != 0 &&
                                   (flags & SQLITE_SHM_EXCLUSIVE) != 0 &&
                                   offset <= kWalWriteLock && kWalWriteLock < offset + n;
  if (releases_write_lock && m->wal != nullptr) {
    // Before the real unlock: once it is released another writer may start at once.
    if (int rc = end_of_write_transaction(m->wal); rc != SQLITE_OK) return rc;
  }
  return m->real->pMethods->xShmLock(m->real, offset, n, flags);
}
void m_shm_barrier(sqlite3_file* file) { real_of(file)->pMethods->xShmBarrier(real_of(file)); }
int m_shm_unmap(sqlite3_file* file, int delete_flag) {
  return real_of(file)->pMethods->xShmUnmap(real_of(file), delete_flag);
}
int m_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  return real_of(file)->pMethods->xFetch(real_of(file), offset, amount, out);
}
int m_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  return real_of(file)->pMethods->xUnfetch(real_of(file), offset, page);
}

const sqlite3_io_methods kMainMethods = {
    3,
    m_close,
    m_read,
    m_write,
    m_truncate,
    m_sync,
    m_file_size,
    m_lock,
    m_unlock,
    m_check_reserved,
    m_file_control,
    m_sector_size,
    m_device_characteristics,
    m_shm_map,
    m_shm_lock,
    m_shm_barrier,
    m_shm_unmap,
    m_fetch,
    m_unfetch,
};

// Room for our header before the real file, aligned for whatever the real file holds.
constexpr int align16(std::size_t n) { return static_cast<int>((n + 15) / 16 * 16); }
constexpr int kHeader = align16(sizeof(WalFile) > sizeof(MainFile) ? sizeof(WalFile)
                                                                    : sizeof(MainFile));

int open_main(sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  MainFile* m = main_file(file);
  m->base.pMethods = nullptr;  // until the real file is open: SQLite will not close it
  m->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kHeader);
  m->name = name;
  m->wal = nullptr;
  const int rc = g_base->xOpen(g_base, name, m->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    if (m->real->pMethods != nullptr) m->real->pMethods->xClose(m->real);
    return rc;
  }
  if (m->real->pMethods->iVersion < 3) {
    m->real->pMethods->xClose(m->real);
    return SQLITE_CANTOPEN;
  }
  if (name != nullptr) {
    std::lock_guard lock(g_mains_mutex);
    open_mains()[name] = m;
  }
  m->base.pMethods = &kMainMethods;
  return SQLITE_OK;
}

int x_open(sqlite3_vfs* /*vfs*/, sqlite3_filename name, sqlite3_file* file, int flags,
           int* out_flags) {
  if ((flags & SQLITE_OPEN_MAIN_DB) != 0) return open_main(name, file, flags, out_flags);
  if ((flags & SQLITE_OPEN_WAL) == 0) {
    // Journals and temporary files are the default VFS's own files, in the space we were given.
    return g_base->xOpen(g_base, name, file, flags, out_flags);
  }
  WalFile* f = wal(file);
  f->base.pMethods = nullptr;  // until the real file is open: SQLite will not close it
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kHeader);
  f->length = 0;
  f->start = 0;
  f->holds_commit = false;
  f->main = nullptr;
  f->buf = static_cast<char*>(std::malloc(static_cast<std::size_t>(kCapacity)));
  if (f->buf == nullptr) return SQLITE_NOMEM;
  const int rc = g_base->xOpen(g_base, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    std::free(f->buf);
    f->buf = nullptr;
    // The default VFS may have set the real file's methods on failure; close it as SQLite would.
    if (f->real->pMethods != nullptr) f->real->pMethods->xClose(f->real);
    return rc;
  }
  if (f->real->pMethods->iVersion < 3) {
    f->real->pMethods->xClose(f->real);
    std::free(f->buf);
    f->buf = nullptr;
    return SQLITE_CANTOPEN;
  }
  {
    // Without its connection's lock calls the VFS could not tell a rollback, so it does not
    // buffer at all.
    std::lock_guard lock(g_mains_mutex);
    const auto it = name != nullptr ? open_mains().find(sqlite3_filename_database(name))
                                    : open_mains().end();
    if (it != open_mains().end()) {
      f->main = it->second;
      it->second->wal = f;
    } else {
      std::free(f->buf);
      f->buf = nullptr;
    }
  }
  f->base.pMethods = &kMethods;
  return SQLITE_OK;
}

}  // namespace

void require_synchronous(Database& db) {
  auto q = db.query("PRAGMA synchronous");
  const std::int64_t level = q.step() ? q.int64(0) : -1;
  if (level < 1) {  // 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA
    throw StoreError("state database " + db.path().string() +
                     ": a writer through the coalescing WAL VFS needs PRAGMA synchronous=NORMAL "
                     "or FULL (it is " + std::to_string(level) +
                     "): with OFF not even a checkpoint syncs the WAL it copies");
  }
}

void sync_wal(Database& db) {
  sqlite3_file* file = nullptr;
  const int rc =
      sqlite3_file_control(db.handle(), "main", SQLITE_FCNTL_JOURNAL_POINTER, &file);
  // No WAL open yet: nothing was ever committed through this connection's log.
  if (rc != SQLITE_OK || file == nullptr || file->pMethods == nullptr) return;
  if (const int sync_rc = file->pMethods->xSync(file, SQLITE_SYNC_NORMAL); sync_rc != SQLITE_OK) {
    throw StoreError("state database " + db.path().string() +
                     ": syncing the write-ahead log failed: " + sqlite3_errstr(sync_rc));
  }
}

const char* coalescing_wal_vfs() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_base = sqlite3_vfs_find(nullptr);
    g_vfs = *g_base;
    g_vfs.zName = kName;
    g_vfs.pNext = nullptr;
    g_vfs.szOsFile = kHeader + g_base->szOsFile;
    g_vfs.xOpen = x_open;
    sqlite3_vfs_register(&g_vfs, /*makeDflt=*/0);
  });
  return kName;
}

}  // namespace prov::sql

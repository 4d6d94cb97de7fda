#include "store/wal_vfs.h"

#include <sqlite3.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>

namespace prov::sql {
namespace {

constexpr const char* kName = "prov-wal-coalescing";
// A commit larger than this is written in pieces of this size; far above a typical commit.
constexpr sqlite3_int64 kCapacity = 4 << 20;

sqlite3_vfs g_vfs;
sqlite3_vfs* g_base = nullptr;

struct WalFile {
  sqlite3_file base;     // pMethods: kMethods
  sqlite3_file* real;    // the default VFS's file, in the same allocation after this struct
  char* buf;             // appended bytes not yet written
  sqlite3_int64 start;   // file offset of buf[0]
  sqlite3_int64 length;  // bytes in buf
};

WalFile* wal(sqlite3_file* f) { return reinterpret_cast<WalFile*>(f); }

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
  return rc;
}

int x_close(sqlite3_file* file) {
  WalFile* f = wal(file);
  const int rc = flush(f);
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
  const bool appends = f->length > 0 && offset == f->start + f->length;
  if (!appends || f->length + amount > kCapacity) {
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
    if (amount > kPiece) return f->real->pMethods->xWrite(f->real, data, amount, offset);
    f->start = offset;
  }
  std::memcpy(f->buf + f->length, data, static_cast<std::size_t>(amount));
  f->length += amount;
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

// Room for our header before the real file, aligned for whatever the real file holds.
constexpr int kHeader = static_cast<int>((sizeof(WalFile) + 15) / 16 * 16);

int x_open(sqlite3_vfs* /*vfs*/, sqlite3_filename name, sqlite3_file* file, int flags,
           int* out_flags) {
  if ((flags & SQLITE_OPEN_WAL) == 0) {
    // Everything but the WAL is the default VFS's own file, in the space we were given.
    return g_base->xOpen(g_base, name, file, flags, out_flags);
  }
  WalFile* f = wal(file);
  f->base.pMethods = nullptr;  // until the real file is open: SQLite will not close it
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kHeader);
  f->length = 0;
  f->start = 0;
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
  f->base.pMethods = &kMethods;
  return SQLITE_OK;
}

}  // namespace

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

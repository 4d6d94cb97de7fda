// Retention: what the state database lets go of, in bounded transactions.
#include "store/sqlite_store.h"

namespace prov {

CompactReport SqliteStore::compact(const RetentionConfig& /*retention*/, TimePoint /*now*/) {
  return {};
}

}  // namespace prov

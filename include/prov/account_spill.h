#pragma once
// Accounts read from a directory, kept in a private temporary file rather than in memory.
// Reconcile compares every account a directory holds with the state; held as Account objects, a
// directory of a million entries took gigabytes. Here SQLite's page cache bounds what stays in
// memory, and the file is gone when the spill is.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "prov/model.h"

namespace prov {

class AccountSpill {
 public:
  AccountSpill();  // a fresh, empty temporary database
  ~AccountSpill();
  AccountSpill(const AccountSpill&) = delete;
  AccountSpill& operator=(const AccountSpill&) = delete;

  void put(const Account& account);  // keyed by worker_id; a second put replaces the first
  // The account of this worker, which the spill then forgets.
  std::optional<Account> take(const std::string& worker_id);
  // Every account not taken, by worker id.
  void for_each(const std::function<void(const Account&)>& visit);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace prov

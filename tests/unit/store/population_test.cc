// Reading the whole population a page at a time (for_each_worker, for_each_account) and the
// reconcile spill: every row exactly once, in order, across page boundaries, with the store
// usable from inside the visit.
#include "prov/account_spill.h"
#include "store/sqlite_store.h"
#include "store_fixture.h"

namespace prov::testing {
namespace {

// Enough rows for several pages and a partial last one.
constexpr int kRows = kPageRows * 3 + 7;

std::string id_of(int i) { return cat("w", 100000 + i); }

Account account_of(const std::string& target, const std::string& worker_id) {
  Account a;
  a.target = target;
  a.worker_id = worker_id;
  a.username = cat(target, "-", worker_id);
  a.groups = {"staff", "g-" + worker_id};
  a.attributes = {{"sn", "Núñez " + worker_id}};
  return a;
}

TEST_F(StoreTest, ForEachWorkerVisitsEveryWorkerOnceInOrderAcrossPages) {
  // Written out of order: the reader's order is the worker id's.
  store_->transaction([&] {
    for (int i = kRows - 1; i >= 0; --i) {
      Worker w;
      w.worker_id = id_of(i);
      w.record = {{"workerId", w.worker_id}, {"n", i}};
      store_->put_worker(w);
    }
  });
  std::vector<std::string> seen;
  store_->for_each_worker([&](const Worker& w) {
    EXPECT_EQ(w.record["workerId"], w.worker_id);
    // The store stays usable inside the visit (a page is read before it is handed out).
    EXPECT_TRUE(store_->worker(w.worker_id).has_value());
    seen.push_back(w.worker_id);
  });
  ASSERT_EQ(seen.size(), static_cast<size_t>(kRows));
  for (int i = 0; i < kRows; ++i) EXPECT_EQ(seen[i], id_of(i));
}

TEST_F(StoreTest, ForEachAccountPagesThroughOneTargetOrAll) {
  store_->transaction([&] {
    for (int i = 0; i < kRows; ++i) {
      store_->put_planned(account_of("main", id_of(i)));
      if (i % 2 == 0) store_->put_planned(account_of("app", id_of(i)));
    }
  });
  std::vector<std::pair<std::string, std::string>> all;
  store_->for_each_account("", [&](const AccountRow& r) {
    all.emplace_back(r.planned.target, r.planned.worker_id);
    EXPECT_EQ(r.planned.groups, account_of(r.planned.target, r.planned.worker_id).groups);
  });
  const size_t apps = (kRows + 1) / 2;
  ASSERT_EQ(all.size(), static_cast<size_t>(kRows) + apps);
  // Target by target ("app" sorts first), by worker id within one.
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "a row was visited twice";
  EXPECT_EQ(all.front(), std::make_pair(std::string("app"), id_of(0)));
  EXPECT_EQ(all.back(), std::make_pair(std::string("main"), id_of(kRows - 1)));

  int main_rows = 0;
  store_->for_each_account("main", [&](const AccountRow& r) {
    EXPECT_EQ(r.planned.target, "main");
    ++main_rows;
  });
  EXPECT_EQ(main_rows, kRows);
  int none = 0;
  store_->for_each_account("nowhere", [&](const AccountRow&) { ++none; });
  EXPECT_EQ(none, 0);
}

TEST_F(StoreTest, UnfinishedOperationsAreAskedPerTarget) {
  Operation op = make_op("w1", OpKind::Disable);
  op.target = "main";
  const auto id = store_->enqueue(op, OpStatus::Pending, "evt-1", at_ms(1'000));
  op.target = "app";
  store_->enqueue(op, OpStatus::Held, "evt-1", at_ms(1'000));
  EXPECT_TRUE(store_->has_unfinished_operations("main", "w1"));
  EXPECT_TRUE(store_->has_unfinished_operations("app", "w1"));
  EXPECT_FALSE(store_->has_unfinished_operations("main", "w2"));
  store_->set_op_status(id, OpStatus::Done, "");
  EXPECT_FALSE(store_->has_unfinished_operations("main", "w1"));
  EXPECT_TRUE(store_->has_unfinished_operations("app", "w1"));
}

TEST(AccountSpill, TakesWhatWasPutOnceAndListsTheRestInOrder) {
  AccountSpill spill;
  for (int i = kRows - 1; i >= 0; --i) spill.put(account_of("main", id_of(i)));
  Account replaced = account_of("main", id_of(5));
  replaced.enabled = false;
  spill.put(replaced);  // a second put replaces the first

  auto five = spill.take(id_of(5));
  ASSERT_TRUE(five.has_value());
  EXPECT_FALSE(five->enabled);
  EXPECT_EQ(five->groups, replaced.groups);
  EXPECT_EQ(five->attributes, replaced.attributes);
  EXPECT_FALSE(spill.take(id_of(5)).has_value()) << "taken twice";
  EXPECT_FALSE(spill.take("nobody").has_value());
  for (int i = 0; i < kRows; i += 2) ASSERT_TRUE(spill.take(id_of(i)).has_value()) << i;

  std::vector<std::string> rest;
  spill.for_each([&](const Account& a) { rest.push_back(a.worker_id); });
  std::vector<std::string> want;
  for (int i = 1; i < kRows; i += 2)
    if (i != 5) want.push_back(id_of(i));
  EXPECT_EQ(rest, want);
}

}  // namespace
}  // namespace prov::testing

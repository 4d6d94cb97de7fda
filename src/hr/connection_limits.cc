#include "hr/connection_limits.h"

#include <algorithm>

namespace prov {

ConnectionLimits::Slot& ConnectionLimits::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::move(other.owner_);
    source_ = std::move(other.source_);
  }
  return *this;
}

void ConnectionLimits::Slot::release() {
  if (owner_) owner_->release(source_);
  owner_.reset();
}

std::shared_ptr<ConnectionLimits> ConnectionLimits::create(int max_total, int max_per_source) {
  return std::shared_ptr<ConnectionLimits>(
      new ConnectionLimits(std::max(1, max_total), std::max(1, max_per_source)));
}

ConnectionLimits::Slot ConnectionLimits::admit(const std::string& source) {
  std::lock_guard lock(mutex_);
  if (total_ >= max_total_) return {};
  int& from_source = per_source_[source];
  if (from_source >= max_per_source_) return {};
  ++from_source;
  ++total_;
  return Slot(shared_from_this(), source);
}

void ConnectionLimits::release(const std::string& source) {
  std::lock_guard lock(mutex_);
  --total_;
  auto it = per_source_.find(source);
  if (it != per_source_.end() && --it->second <= 0) per_source_.erase(it);
}

std::size_t ConnectionLimits::open() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(total_);
}

}  // namespace prov

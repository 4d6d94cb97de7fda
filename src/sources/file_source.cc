#include "sources/file_source.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "prov/ascii.h"
#include "prov/log.h"
#include "prov/metrics.h"
#include "sources/snapshot_ingest.h"
#include "sources/snapshot_reader.h"

namespace prov {
namespace fs = std::filesystem;
namespace {

std::optional<SnapshotFormat> format_of(const fs::path& file) {
  const std::string ext = ascii_lower(file.extension().string());
  if (ext == ".json") return SnapshotFormat::Json;
  if (ext == ".csv") return SnapshotFormat::Csv;
  return std::nullopt;
}

Result<std::string> read_whole(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Error{file.string() + ": cannot be opened", true};
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return Error{file.string() + ": read failed", true};
  return out.str();
}

void count_poll(const std::string& source, const char* result) {
  Metrics::global().inc("provisiond_snapshot_polls_total",
                        {{"source", source}, {"result", result}});
}

}  // namespace

FileSource::FileSource(SnapshotSourceConfig config, IngestSink& sink, const Clock& clock)
    : config_(std::move(config)),
      label_(source_label("file", config_.name)),
      sink_(sink),
      clock_(clock) {}

Result<FileSource::Pass> FileSource::poll(Store& store) {
  const fs::path& folder = config_.path;
  struct Candidate {
    fs::file_time_type mtime;
    fs::path path;
  };
  std::vector<Candidate> ready;
  // Modification times are the file system's, so the settle check uses its clock, not clock_.
  const auto settled_before = fs::file_time_type::clock::now() - kSettle;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    if (name.empty() || name.front() == '.' || !format_of(p)) continue;
    std::error_code entry_ec;
    if (!it->is_regular_file(entry_ec)) continue;
    const auto mtime = fs::last_write_time(p, entry_ec);
    if (entry_ec || mtime > settled_before) continue;  // still being written (or just vanished)
    ready.push_back({mtime, p});
  }
  if (ec) {
    count_poll(label_, "error");
    log::error("snapshot folder cannot be listed",
               {{"source", label_}, {"path", folder.string()}, {"reason", ec.message()}});
    return Error{folder.string() + ": " + ec.message(), true};
  }
  std::sort(ready.begin(), ready.end(), [](const Candidate& a, const Candidate& b) {
    return a.mtime != b.mtime ? a.mtime < b.mtime : a.path < b.path;
  });

  Pass pass;
  for (const auto& c : ready) {
    switch (take(c.path, store)) {
      case FileOutcome::Processed:
        pass.processed.push_back(c.path);
        break;
      case FileOutcome::Rejected:
        pass.rejected.push_back(c.path);
        break;
      case FileOutcome::Retry:
        pass.retry.push_back(c.path);
        // Later files describe later states; reading them before this one would reorder HR.
        return pass;
    }
  }
  return pass;
}

FileSource::FileOutcome FileSource::take(const fs::path& file, Store& store) {
  const log::Fields where{{"source", label_}, {"file", file.filename().string()}};
  auto body = read_whole(file);
  if (!body) {
    count_poll(label_, "error");
    log::error(
        "snapshot file cannot be read",
        {{"source", label_}, {"file", file.filename().string()}, {"reason", body.error().message}});
    return FileOutcome::Retry;
  }
  auto records =
      read_snapshot(*body, *format_of(file), config_.records_pointer, file.filename().string());
  if (!records) {
    count_poll(label_, "rejected");
    log::error("snapshot file rejected", {{"source", label_},
                                          {"file", file.filename().string()},
                                          {"reason", records.error().message}});
    move_to(file, "rejected", records.error().message);
    return FileOutcome::Rejected;
  }
  SnapshotContext ctx;
  ctx.source = label_;
  ctx.snapshot_time = clock_.now();
  ctx.received_at = ctx.snapshot_time;
  ctx.missing_means_terminated = config_.missing_means_terminated;
  ctx.timezone = config_.timezone;
  const SnapshotReport report = ingest_snapshot(*records, store, sink_, ctx);
  log::Fields summary = where;
  summary.insert(summary.end(), {{"records", std::to_string(report.records)},
                                 {"events", std::to_string(report.diff.events.size())},
                                 {"stored", std::to_string(report.stored)},
                                 {"duplicates", std::to_string(report.duplicates)},
                                 {"skipped", std::to_string(report.diff.skipped.size())},
                                 {"missing", std::to_string(report.diff.missing)}});
  if (!report.complete()) {
    count_poll(label_, "error");
    log::warn("snapshot file only partly stored; it is read again next pass", summary);
    return FileOutcome::Retry;
  }
  count_poll(label_, "ok");
  log::info("snapshot file read", summary);
  move_to(file, "processed", "");
  return FileOutcome::Processed;
}

void FileSource::move_to(const fs::path& file, const std::string& folder,
                         const std::string& error) {
  const fs::path dir = config_.path / folder;
  std::error_code ec;
  fs::create_directories(dir, ec);
  fs::path target = dir / file.filename();
  if (fs::exists(target, ec)) {
    // Same name dropped twice: keep both, the newer with the time it was taken.
    target = dir / (file.stem().string() + "." + std::to_string(to_unix_ms(clock_.now())) +
                    file.extension().string());
  }
  fs::rename(file, target, ec);
  if (ec) {
    // Left in place the file would be read again every pass; say so loudly.
    log::error("snapshot file cannot be moved", {{"source", label_},
                                                 {"file", file.filename().string()},
                                                 {"to", target.string()},
                                                 {"reason", ec.message()}});
    return;
  }
  if (!error.empty()) {
    std::ofstream out(target.string() + ".error", std::ios::binary | std::ios::trunc);
    out << error << '\n';
  }
}

}  // namespace prov

#pragma once
// Parsing of full HR snapshots: the list of worker records an HTTP endpoint returns or a file in a
// drop folder holds. Only syntax is checked here; what a record must contain is the diff's
// business (a bad record is skipped and reported there, it does not reject the snapshot).
#include <string>
#include <string_view>
#include <vector>

#include "prov/model.h"
#include "prov/result.h"

namespace prov {

enum class SnapshotFormat { Json, Csv };

// JSON: the document is the list of records, or an object holding it at `records_pointer`
// (RFC 6901, e.g. "/Report_Entry" for Workday RaaS). Elements are returned as they are, objects
// or not. Errors name `origin` and the line/column of a syntax error.
Result<std::vector<Json>> read_json_snapshot(std::string_view body,
                                             const std::string& records_pointer,
                                             const std::string& origin);

// CSV (RFC 4180): the first row names the fields; each further row is one record whose cells are
// strings, an empty cell meaning the field is absent. Quoted cells may hold commas, doubled quotes
// and line breaks. The text must be UTF-8 (a leading byte-order mark is ignored). Errors name
// `origin`, the line and the field.
Result<std::vector<Json>> read_csv_snapshot(std::string_view body, const std::string& origin);

Result<std::vector<Json>> read_snapshot(std::string_view body, SnapshotFormat format,
                                        const std::string& records_pointer,
                                        const std::string& origin);

}  // namespace prov

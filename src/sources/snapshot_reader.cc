#include "sources/snapshot_reader.h"

#include <set>

namespace prov {
namespace {

Error fail(const std::string& origin, const std::string& message) {
  return Error{origin + ": " + message, false};
}

// 1-based line and column of byte `offset` in `text`.
std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::size_t offset) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

// Offset of the first byte that breaks UTF-8 (overlongs, surrogates and > U+10FFFF included), or
// npos when the text is valid.
std::size_t invalid_utf8_at(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return i;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return i;
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += n + 1;
  }
  return std::string_view::npos;
}

}  // namespace

Result<std::vector<Json>> read_json_snapshot(std::string_view body,
                                             const std::string& records_pointer,
                                             const std::string& origin) {
  Json doc;
  try {
    doc = Json::parse(body.begin(), body.end());
  } catch (const Json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    const auto [line, column] = line_column(body, e.byte == 0 ? 0 : e.byte - 1);
    return fail(origin, "line " + std::to_string(line) + ", column " + std::to_string(column) +
                            ": not valid JSON (" + e.what() + ")");
  }
  const Json* list = &doc;
  if (!records_pointer.empty()) {
    try {
      const Json::json_pointer pointer(records_pointer);
      if (!doc.contains(pointer)) {
        return fail(origin,
                    "records_pointer " + records_pointer + " finds nothing in the document");
      }
      list = &doc.at(pointer);
    } catch (const Json::exception& e) {
      return fail(origin, "records_pointer " + records_pointer + " is not a usable JSON pointer (" +
                              e.what() + ")");
    }
  } else if (doc.is_object()) {
    return fail(origin,
                "the document is a JSON object, not a list; set records_pointer to the list of "
                "worker records inside it");
  }
  if (!list->is_array()) {
    return fail(origin,
                "the records " +
                    (records_pointer.empty() ? std::string("document") : "at " + records_pointer) +
                    " must be a JSON array, found " + list->type_name());
  }
  return std::vector<Json>(list->begin(), list->end());
}

Result<std::vector<Json>> read_csv_snapshot(std::string_view body, const std::string& origin) {
  if (body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);
  if (auto bad = invalid_utf8_at(body); bad != std::string_view::npos) {
    const auto [line, column] = line_column(body, bad);
    return fail(origin, "line " + std::to_string(line) + ", column " + std::to_string(column) +
                            ": not valid UTF-8");
  }

  std::vector<std::string> header;
  std::vector<Json> records;
  std::size_t i = 0;
  std::size_t line = 1;
  const auto where = [&](std::size_t at_line, std::size_t field) {
    std::string text = "line " + std::to_string(at_line) + ", field " + std::to_string(field + 1);
    if (!header.empty() && field < header.size()) text += " (\"" + header[field] + "\")";
    return text;
  };

  while (i < body.size()) {
    const std::size_t row_line = line;
    std::vector<std::string> cells;
    bool row_done = false;
    while (!row_done) {
      std::string cell;
      if (i < body.size() && body[i] == '"') {
        const std::size_t open_line = line;
        ++i;
        bool closed = false;
        while (i < body.size()) {
          const char c = body[i];
          if (c == '"') {
            if (i + 1 < body.size() && body[i + 1] == '"') {
              cell += '"';
              i += 2;
              continue;
            }
            ++i;
            closed = true;
            break;
          }
          if (c == '\n') ++line;
          cell += c;
          ++i;
        }
        if (!closed) {
          return fail(origin, where(open_line, cells.size()) +
                                  ": quoted value is never closed (a quote inside a value "
                                  "must be doubled)");
        }
        if (i < body.size() && body[i] != ',' && body[i] != '\n' && body[i] != '\r') {
          return fail(origin, where(line, cells.size()) +
                                  ": unexpected text after a closing quote (a quote inside a "
                                  "value must be doubled)");
        }
      } else {
        while (i < body.size() && body[i] != ',' && body[i] != '\n' && body[i] != '\r') {
          if (body[i] == '"') {
            return fail(origin, where(line, cells.size()) +
                                    ": quote inside an unquoted value (quote the whole value "
                                    "and double the quote)");
          }
          cell += body[i++];
        }
      }
      cells.push_back(std::move(cell));
      if (i >= body.size()) {
        row_done = true;
      } else if (body[i] == ',') {
        ++i;
      } else {  // line end: \n, \r\n or a lone \r
        if (body[i] == '\r' && i + 1 < body.size() && body[i + 1] == '\n') ++i;
        ++i;
        ++line;
        row_done = true;
      }
    }
    // A blank line (most often the last one) carries no record.
    if (cells.size() == 1 && cells[0].empty()) continue;

    if (header.empty()) {
      std::set<std::string> seen;
      for (std::size_t f = 0; f < cells.size(); ++f) {
        if (cells[f].empty()) {
          return fail(origin, "line " + std::to_string(row_line) + ", field " +
                                  std::to_string(f + 1) + ": header names no field");
        }
        if (!seen.insert(cells[f]).second) {
          return fail(origin, "line " + std::to_string(row_line) + ", field " +
                                  std::to_string(f + 1) + ": header names \"" + cells[f] +
                                  "\" twice");
        }
      }
      header = std::move(cells);
      continue;
    }
    if (cells.size() != header.size()) {
      return fail(origin, "line " + std::to_string(row_line) + ": " + std::to_string(cells.size()) +
                              " fields, but the header names " + std::to_string(header.size()));
    }
    Json record = Json::object();
    for (std::size_t f = 0; f < cells.size(); ++f) {
      if (!cells[f].empty()) record[header[f]] = std::move(cells[f]);
    }
    records.push_back(std::move(record));
  }
  if (header.empty()) return fail(origin, "empty file: a header row naming the fields is required");
  return records;
}

Result<std::vector<Json>> read_snapshot(std::string_view body, SnapshotFormat format,
                                        const std::string& records_pointer,
                                        const std::string& origin) {
  return format == SnapshotFormat::Csv ? read_csv_snapshot(body, origin)
                                       : read_json_snapshot(body, records_pointer, origin);
}

}  // namespace prov

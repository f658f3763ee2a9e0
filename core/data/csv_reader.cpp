#include "core/data/csv_reader.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "core/util/file.h"

namespace nf {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

void split(std::string_view line, char delimiter, std::vector<std::string_view>& fields) {
  fields.clear();
  size_t start = 0;
  for (;;) {
    const size_t end = line.find(delimiter, start);
    fields.push_back(trim(line.substr(start, end == std::string_view::npos ? end : end - start)));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
}

bool parse_float(std::string_view field, float& out) {
  if (field.empty()) return false;
  const std::string copy(field);  // strtof needs a terminated string
  char* end = nullptr;
  errno = 0;
  const float v = std::strtof(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !std::isfinite(v)) return false;
  out = v;
  return true;
}

// Integers, and integral floats such as "3.0" as tools like pandas write them.
bool parse_label(std::string_view field, int64_t& out) {
  float v = 0.0f;
  if (!parse_float(field, v) || v < 0.0f || v > 1e7f || v != std::floor(v)) return false;
  out = static_cast<int64_t>(v);
  return true;
}

}  // namespace

Result<Dataset> parse_csv_dataset(std::string_view text, const std::string& name,
                                  const CsvOptions& options) {
  Dataset data;
  data.name = name;
  std::vector<std::string_view> fields;
  int64_t columns = -1;
  int64_t label_col = -1;
  int64_t line_number = 0;
  int64_t max_label = -1;
  bool first = true;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = trim(text.substr(pos, end - pos));
    pos = end + 1;
    ++line_number;
    if (line.empty()) continue;
    split(line, options.delimiter, fields);
    const std::string where = name + ":" + std::to_string(line_number) + ": ";

    if (first) {
      first = false;
      columns = static_cast<int64_t>(fields.size());
      if (columns < 2) {
        return invalid_argument(where + "found 1 column; need features and a label (delimiter '" +
                                std::string(1, options.delimiter) + "')");
      }
      bool is_header = options.header == CsvHeader::kPresent;
      if (options.header == CsvHeader::kAuto) {
        float ignored;
        is_header = std::any_of(fields.begin(), fields.end(),
                                [&](std::string_view f) { return !parse_float(f, ignored); });
      }
      if (!options.label_name.empty()) {
        if (!is_header)
          return invalid_argument(name + ": label column '" + options.label_name +
                                  "' named but the file has no header");
        auto it = std::find(fields.begin(), fields.end(), options.label_name);
        if (it == fields.end()) {
          return invalid_argument(name + ": no column named '" + options.label_name +
                                  "' in the header");
        }
        label_col = it - fields.begin();
      } else {
        label_col = options.label_column < 0 ? columns - 1 : options.label_column;
        if (label_col >= columns) {
          return invalid_argument(name + ": label column " + std::to_string(label_col) +
                                  " does not exist (" + std::to_string(columns) + " columns)");
        }
      }
      data.dim = static_cast<int32_t>(columns - 1);
      if (is_header) continue;
    }

    if (static_cast<int64_t>(fields.size()) != columns) {
      return invalid_argument(where + "has " + std::to_string(fields.size()) +
                              " columns, expected " + std::to_string(columns));
    }
    for (int64_t c = 0; c < columns; ++c) {
      const std::string_view f = fields[static_cast<size_t>(c)];
      if (c == label_col) {
        int64_t label = 0;
        if (!parse_label(f, label)) {
          return invalid_argument(where + "column " + std::to_string(c + 1) + " '" +
                                  std::string(f) + "' is not a class label (an integer >= 0)");
        }
        if (options.num_classes > 0 && label >= options.num_classes) {
          return invalid_argument(where + "column " + std::to_string(c + 1) + " label " +
                                  std::to_string(label) + " is outside [0, " +
                                  std::to_string(options.num_classes) + ")");
        }
        max_label = std::max(max_label, label);
        data.labels.push_back(static_cast<int32_t>(label));
      } else {
        float v = 0.0f;
        if (!parse_float(f, v)) {
          return invalid_argument(where + "column " + std::to_string(c + 1) + " '" +
                                  std::string(f) + "' is not a number");
        }
        data.features.push_back(v);
      }
    }
  }
  data.size = static_cast<int64_t>(data.labels.size());
  if (data.size == 0) return invalid_argument(name + ": no data rows");
  data.num_classes =
      options.num_classes > 0 ? options.num_classes : static_cast<int32_t>(max_label + 1);
  return data;
}

Result<Dataset> read_csv_dataset(const std::string& path, const CsvOptions& options) {
  NF_ASSIGN_OR_RETURN(const std::string text, read_text_file(path));
  return parse_csv_dataset(text, path, options);
}

}  // namespace nf

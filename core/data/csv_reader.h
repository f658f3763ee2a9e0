// A reader for users' own tabular data: CSV with numeric features and an
// integer class label.
//
// Every field but the label is a feature, parsed as a float (strtof syntax,
// surrounding spaces allowed); features are used as they are, not rescaled.
// Labels are integers in [0, num_classes) ("3" or "3.0"). Empty lines are skipped; quoting
// is not supported (fields are numbers). Errors name the file, the 1-based
// line and column and the offending text:
//   "iris.csv:12: column 3 'abc' is not a number".
#pragma once

#include <cstdint>
#include <string>

#include "core/data/dataset.h"
#include "core/util/status.h"

namespace nf {

enum class CsvHeader {
  kAuto,  // a header if any field of the first line is not a number
  kPresent,
  kAbsent,
};

struct CsvOptions {
  char delimiter = ',';
  CsvHeader header = CsvHeader::kAuto;
  // The label column: by name (needs a header) when label_name is not
  // empty, else by 0-based index, where -1 means the last column.
  std::string label_name;
  int32_t label_column = -1;
  // 0: the largest label + 1.
  int32_t num_classes = 0;
};

Result<Dataset> read_csv_dataset(const std::string& path, const CsvOptions& options = {});
// The same on text already in memory; `name` is used in messages.
Result<Dataset> parse_csv_dataset(std::string_view text, const std::string& name,
                                  const CsvOptions& options = {});

}  // namespace nf

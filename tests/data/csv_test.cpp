#include <doctest/doctest.h>

#include "core/data/csv_reader.h"

namespace nf {
namespace {

TEST_CASE("csv: header detected, label last by default") {
  auto data = parse_csv_dataset("a,b,label\n1,2.5,0\n-3, 4e-1 ,2.0\r\n\n", "t.csv");
  REQUIRE_MESSAGE(data.is_ok(), data.status().to_string());
  CHECK(data->size == 2);
  CHECK(data->dim == 2);
  CHECK(data->num_classes == 3);
  CHECK(data->features == std::vector<float>{1.0f, 2.5f, -3.0f, 0.4f});
  CHECK(data->labels == std::vector<int32_t>{0, 2});
}

TEST_CASE("csv: no header, label column chosen by index or by name") {
  CsvOptions first;
  first.label_column = 0;
  auto data = parse_csv_dataset("1,0.5,0.25\n0,1,2\n", "t.csv", first);
  REQUIRE(data.is_ok());
  CHECK(data->labels == std::vector<int32_t>{1, 0});
  CHECK(data->features == std::vector<float>{0.5f, 0.25f, 1.0f, 2.0f});

  CsvOptions named;
  named.label_name = "y";
  named.delimiter = ';';
  auto by_name = parse_csv_dataset("x1;y;x2\n0.5;1;7\n", "t.csv", named);
  REQUIRE(by_name.is_ok());
  CHECK(by_name->labels == std::vector<int32_t>{1});
  CHECK(by_name->features == std::vector<float>{0.5f, 7.0f});
}

TEST_CASE("csv: errors give file, line, column and the text") {
  auto message = [](const char* text, CsvOptions options = {}) {
    return parse_csv_dataset(text, "d.csv", options).status().message();
  };
  CHECK(message("a,b,y\n1,2,0\n1,x,1\n") == "d.csv:3: column 2 'x' is not a number");
  CHECK(message("1,2,0\n1,2\n") == "d.csv:2: has 2 columns, expected 3");
  CHECK(message("1,2,0\n1,2,-1\n") ==
        "d.csv:2: column 3 '-1' is not a class label (an integer >= 0)");
  CHECK(message("1,2,0\n1,2,nan\n") ==
        "d.csv:2: column 3 'nan' is not a class label (an integer >= 0)");
  CHECK(message("1,2,0\n1,2,0.5\n") ==
        "d.csv:2: column 3 '0.5' is not a class label (an integer >= 0)");
  CHECK(message("a,b,y\n") == "d.csv: no data rows");
  CsvOptions classes;
  classes.num_classes = 2;
  CHECK(message("1,2,5\n", classes) == "d.csv:1: column 3 label 5 is outside [0, 2)");
  CsvOptions named;
  named.label_name = "z";
  CHECK(message("a,b,y\n1,2,0\n", named) == "d.csv: no column named 'z' in the header");
  CHECK(read_csv_dataset("/nonexistent/x.csv").status().code() == StatusCode::kNotFound);
}

}  // namespace
}  // namespace nf

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "core/util/file.h"

namespace nf {
namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/nf_file_test_XXXXXX";
  return ::mkdtemp(tmpl);
}

TEST_CASE("write_file_atomic replaces contents and sets the mode") {
  const std::string dir = temp_dir();
  const std::string path = dir + "/a.bin";
  REQUIRE(write_file_atomic(path, std::string_view("first")).is_ok());
  REQUIRE(write_file_atomic(path, std::string_view("second"), 0600).is_ok());
  CHECK(read_text_file(path).value() == "second");
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  ::unlink(path.c_str());
  ::rmdir(dir.c_str());
}

TEST_CASE("file errors name the path") {
  const auto r = read_file("/nonexistent/nf/x.bin");
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == StatusCode::kNotFound);
  CHECK(r.status().message().find("/nonexistent/nf/x.bin") != std::string::npos);
  const Status w = write_file_atomic("/nonexistent/nf/y.bin", std::string_view("x"));
  CHECK(w.code() == StatusCode::kIoError);
  CHECK(w.message().find("/nonexistent/nf/y.bin") != std::string::npos);
}

}  // namespace
}  // namespace nf

#include "core/util/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nf {

namespace {

Status os_error(const std::string& what, const std::string& path) {
  return io_error(what + " '" + path + "': " + std::strerror(errno));
}

std::string parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status write_all(int fd, const uint8_t* data, size_t size, const std::string& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error("cannot write", path);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::ok();
}

}  // namespace

Status write_file_atomic(const std::string& path, std::span<const uint8_t> data, unsigned mode) {
  std::string tmp = path + ".tmp.XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return os_error("cannot create a temporary file beside", path);
  auto fail = [&](Status s) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  };
  if (::fchmod(fd, mode) != 0) return fail(os_error("cannot set permissions on", tmp));
  if (Status s = write_all(fd, data.data(), data.size(), tmp); !s.is_ok()) return fail(s);
  if (::fsync(fd) != 0) return fail(os_error("cannot fsync", tmp));
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return os_error("cannot close", tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = os_error("cannot rename a temporary file over", path);
    ::unlink(tmp.c_str());
    return s;
  }
  const std::string dir = parent_dir(path);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);  // best effort: some file systems refuse fsync on directories
    ::close(dfd);
  }
  return Status::ok();
}

Status write_file_atomic(const std::string& path, std::string_view text, unsigned mode) {
  return write_file_atomic(
      path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
      mode);
}

Result<std::vector<uint8_t>> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) {
    if (errno == ENOENT) return not_found("no such file '" + path + "'");
    return os_error("cannot open", path);
  }
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = os_error("cannot read", path);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  ::close(fd);
  return out;
}

Result<std::string> read_text_file(const std::string& path) {
  NF_ASSIGN_OR_RETURN(auto bytes, read_file(path));
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace nf

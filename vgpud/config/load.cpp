#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vgpu/common/corpus_recorder.h"
#include "vgpu/common/errno_text.h"
#include "vgpud/config/config.h"

namespace vgpud::config {

using vgpu::errno_text;

namespace {

// A real vgpu.yaml is a few KiB; anything near this is a wrong path (a log, a disk image).
constexpr off_t kMaxFileSize = 1 << 20;

ConfigError file_error(const std::string& path, std::string message) {
  ConfigError error;
  error.file = path;
  error.message = std::move(message);
  return error;
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

// POSIX calls rather than ifstream: they tell a directory or a permission problem apart and
// give errno for the message.
vgpu::Result<DaemonConfig, ConfigError> load_config_file(const std::string& path) {
  Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) return vgpu::Err{file_error(path, errno_text("cannot open"))};
  struct stat info {};
  if (::fstat(file.fd, &info) != 0) return vgpu::Err{file_error(path, errno_text("cannot stat"))};
  if (!S_ISREG(info.st_mode)) return vgpu::Err{file_error(path, "not a regular file")};
  if (info.st_size > kMaxFileSize) {
    return vgpu::Err{file_error(path, "file is larger than 1MiB; is this the right file?")};
  }
  std::string text(static_cast<size_t>(info.st_size), '\0');
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::read(file.fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return vgpu::Err{file_error(path, errno_text("cannot read"))};
    if (n == 0) break;  // the file shrank while being read; parse what is there
    done += static_cast<size_t>(n);
  }
  text.resize(done);
  vgpu::corpus::record("config", std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  return parse_config(text, path);
}

}  // namespace vgpud::config

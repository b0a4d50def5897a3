// The fuzzers' seed corpora are recorded from real traffic: each place that parses untrusted
// bytes hands them, exactly as its fuzz target takes them, to record(). In a recorder build
// (-DVGPU_CORPUS_RECORDER=ON, test/fuzz/record-corpus.sh) and with VGPU_CORPUS_DIR set, each
// distinct input is written to $VGPU_CORPUS_DIR/<target>/<content hash>; in every other build
// record() is empty and compiles away.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

#ifdef VGPU_CORPUS_RECORDER
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#endif

namespace vgpu::corpus {

#ifdef VGPU_CORPUS_RECORDER
inline void record(const char* target, std::span<const uint8_t> bytes) {
  const char* dir = std::getenv("VGPU_CORPUS_DIR");
  if (dir == nullptr || *dir == '\0') return;
  uint64_t hash = 14695981039346656037ull;  // FNV-1a: same bytes, same name, one file
  for (uint8_t b : bytes) hash = (hash ^ b) * 1099511628211ull;
  const std::string folder = std::string(dir) + "/" + target;
  mkdir(dir, 0755);
  mkdir(folder.c_str(), 0755);
  char name[32];
  std::snprintf(name, sizeof name, "/%016llx", static_cast<unsigned long long>(hash));
  const std::string path = folder + name;
  const std::string temporary = path + ".tmp" + std::to_string(getpid());
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  bool ok = true;
  for (size_t done = 0; ok && done < bytes.size();) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  close(fd);
  if (!ok || rename(temporary.c_str(), path.c_str()) != 0) unlink(temporary.c_str());
}
#else
inline void record(const char*, std::span<const uint8_t>) {}
#endif

}  // namespace vgpu::corpus

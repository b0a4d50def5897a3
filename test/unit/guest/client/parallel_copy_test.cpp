#include <catch2/catch.hpp>

#include <unistd.h>
#include <sys/wait.h>

#include <cstdint>
#include <vector>

#include "guest/client/parallel_copy.h"

using vgpu::guest::ParallelCopier;

namespace {

std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((i * 2654435761u + seed) >> 13);
  return v;
}

}  // namespace

TEST_CASE("parallel copies equal memcpy at every size and offset", "[copy]") {
  ParallelCopier copier(4);
  // Below the split threshold, exactly at it, uneven sizes, and a large one, several times
  // over so the helpers go through many jobs.
  for (size_t size : {size_t{0}, size_t{1}, size_t{4095}, size_t{1} << 20, (size_t{1} << 20) + 7,
                      size_t{3} * 1000 * 1000 + 13, size_t{16} << 20}) {
    for (size_t offset : {size_t{0}, size_t{3}}) {
      const auto src = pattern(size + offset, static_cast<uint32_t>(size));
      std::vector<uint8_t> dst(size + offset, 0xEE);
      copier.copy(dst.data() + offset, src.data() + offset, size);
      REQUIRE(std::equal(dst.begin() + offset, dst.end(), src.begin() + offset));
      for (size_t i = 0; i < offset; ++i) REQUIRE(dst[i] == 0xEE);  // nothing before dst
    }
  }
}

TEST_CASE("one copy thread, and a forked child, copy on the caller alone", "[copy]") {
  const auto src = pattern(size_t{8} << 20, 1);
  ParallelCopier single(1);
  std::vector<uint8_t> dst(src.size());
  single.copy(dst.data(), src.data(), src.size());
  REQUIRE(dst == src);

  ParallelCopier copier(3);
  copier.copy(dst.data(), src.data(), src.size());  // starts the helpers in this process
  const pid_t child = fork();
  if (child == 0) {
    std::vector<uint8_t> mine(src.size());
    copier.copy(mine.data(), src.data(), src.size());  // the helpers are not here
    _exit(mine == src ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
}

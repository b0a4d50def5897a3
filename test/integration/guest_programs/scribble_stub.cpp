// A hostile guest program for the VM tests: it opens a channel like any CUDA program, then
// maps the vgpu-stub itself (as root), overwrites the whole VM region with pseudo-random bytes
// and rings every doorbell vector in a loop. vgpud must take the VM's channels down with
// errors and go on serving everyone else; this program must then get an error back from the
// shim, not a hang and not a success.
//
// Usage: scribble_stub [SECONDS]   (default 5)
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

#include "test/integration/guest_programs/guest_check.h"

namespace {

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return s;
}

// The sysfs directory of the first ivshmem device (1af4:1110), or "" if there is none.
std::string find_stub() {
  const char* root = "/sys/bus/pci/devices";
  DIR* dir = opendir(root);
  if (dir == nullptr) return "";
  std::string found;
  while (dirent* e = readdir(dir)) {
    const std::string d = std::string(root) + "/" + e->d_name;
    if (read_line(d + "/vendor") == "0x1af4" && read_line(d + "/device") == "0x1110") {
      found = d;
      break;
    }
  }
  closedir(dir);
  return found;
}

void* map_resource(const std::string& path, size_t* size) {
  const int fd = open(path.c_str(), O_RDWR | O_SYNC);
  if (fd < 0) return nullptr;
  struct stat st {};
  fstat(fd, &st);
  *size = static_cast<size_t>(st.st_size);
  void* p = mmap(nullptr, *size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  return p == MAP_FAILED ? nullptr : p;
}

}  // namespace

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 5;

  // A channel opened the normal way, with memory on the device.
  void* dev = nullptr;
  CHECK(cudaMalloc(&dev, 1 << 20));
  static unsigned char buf[1 << 16];
  CHECK(cudaMemcpy(dev, buf, sizeof buf, cudaMemcpyHostToDevice));
  std::printf("scribble: channel open, now scribbling for %d s\n", seconds);
  std::fflush(stdout);

  const std::string stub = find_stub();
  EXPECT(!stub.empty());
  size_t bar0_size = 0, region_size = 0;
  auto* bar0 = static_cast<volatile uint32_t*>(map_resource(stub + "/resource0", &bar0_size));
  auto* region = static_cast<uint64_t*>(map_resource(stub + "/resource2", &region_size));
  EXPECT(bar0 != nullptr && region != nullptr);

  uint64_t x = 0x9e3779b97f4a7c15ull;
  auto next = [&x] {  // xorshift64
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  uint64_t rings = 0, passes = 0;
  // The header page and slot table, and the first 64 KiB of each 2 MiB (every channel's
  // header and the start of its rings), over and over; a doorbell on every vector in between.
  const size_t words = region_size / sizeof(uint64_t);
  while (std::chrono::steady_clock::now() < end) {
    for (size_t chunk = 0; chunk < words; chunk += (2u << 20) / sizeof(uint64_t)) {
      for (size_t i = 0; i < (64u << 10) / sizeof(uint64_t) && chunk + i < words; ++i)
        region[chunk + i] = next();
      for (uint32_t vector = 0; vector < 33; ++vector, ++rings) bar0[3] = vector;  // peer 0
    }
    ++passes;
  }
  std::printf("scribble: %llu passes over the region, %llu doorbells\n",
              static_cast<unsigned long long>(passes), static_cast<unsigned long long>(rings));

  // The channel is gone: the shim must say so instead of hanging or pretending.
  const cudaError_t err = cudaMemcpy(buf, dev, sizeof buf, cudaMemcpyDeviceToHost);
  std::printf("scribble: cudaMemcpy after scribbling -> %s\n", cudaGetErrorName(err));
  return err == cudaSuccess ? 1 : 0;
}

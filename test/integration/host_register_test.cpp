// cuMemHostRegister'd memory moved into the shared heap (guest/cuda/host_register.h), through
// vgpu's libcuda.so.1 and a real vgpud with the fake driver.
#include <sys/mman.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "guest/transport/local_transport.h"
#include "test/integration/vgpud_process.h"

using namespace vgpu::test;

namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

}  // namespace

TEST_CASE("registered anonymous memory is page-locked and mapped; the rest is staged", "[guest][driver][register]") {
  VgpudProcess vgpud;
  auto r = run_program(guest_program("host_register"), {}, {{"VGPU_SOCKET", vgpud.socket("alpha")}});
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("host_register ok") != std::string::npos);
  // The kernel wrote the program's memory through the mapped pointer.
  REQUIRE(read_file(vgpud.launch_log()).find("launch fake_fill_u32 grid=1,1,1 block=64,1,1") != std::string::npos);
  // Each staged registration asked for a device pointer says once why there is none.
  CHECK(count(r.output, "it shares a page with memory registered earlier") == 1);
  CHECK(count(r.output, "a page of it is not private anonymous memory") == 2);
  CHECK(count(r.output, "a page of it is read-only") == 1);
  CHECK(count(r.output, "the shared heap has no room for it") == 1);
  REQUIRE(vgpud.stop() == 0);
}

TEST_CASE("copies through registered anonymous memory are DMA from the heap", "[guest][driver][register]") {
  VgpudProcess vgpud;
  auto aliased = run_program(guest_program("host_register"), {"copy", "aliased"}, {{"VGPU_SOCKET", vgpud.socket("alpha")}});
  std::string log = vgpud.read_log();
  INFO(aliased.output << "\n--- vgpud log ---\n" << log);
  REQUIRE(aliased.exit_code == 0);
  CHECK(count(log, "call=MEMCPY_HTOD_SHARED received") == 1);
  CHECK(count(log, "call=MEMCPY_DTOH_SHARED received") == 1);

  auto staged = run_program(guest_program("host_register"), {"copy", "staged"}, {{"VGPU_SOCKET", vgpud.socket("alpha")}});
  log = vgpud.read_log();
  INFO(staged.output << "\n--- vgpud log ---\n" << log);
  REQUIRE(staged.exit_code == 0);
  CHECK(count(log, "call=MEMCPY_HTOD_SHARED received") == 1);  // the file mapping's copies were not
  CHECK(count(log, "call=MEMCPY_DTOH_SHARED received") == 1);
  REQUIRE(vgpud.stop() == 0);
}

TEST_CASE("the local transport keeps the region's memfd to map it again", "[guest][register]") {
  VgpudProcess vgpud;
  auto transport = vgpu::guest::connect_local(vgpud.socket("alpha"));
  REQUIRE(transport.ok());
  const vgpu::guest::BackingFile file = (*transport)->backing_file();
  REQUIRE(file.fd >= 0);
  CHECK(file.offset == 0);
  const std::span<uint8_t> region = (*transport)->region();
  void* again = mmap(nullptr, region.size(), PROT_READ | PROT_WRITE, MAP_SHARED, file.fd, 0);
  REQUIRE(again != MAP_FAILED);
  CHECK(std::memcmp(again, region.data(), 64) == 0);  // the channel header vgpud wrote
  static_cast<uint8_t*>(again)[region.size() - 1] = 0x5a;
  CHECK(region[region.size() - 1] == 0x5a);
  munmap(again, region.size());
}

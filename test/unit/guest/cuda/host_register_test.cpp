#include "guest/cuda/host_register.h"

#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

using namespace vgpu::cuda;
using vgpu::guest::HostHeap;

namespace {

const uint64_t kPage = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));

// The /proc/self/maps line holding p, "" when none.
std::string maps_line(const void* p) {
  const auto address = reinterpret_cast<uintptr_t>(p);
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    unsigned long start = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &start, &end) == 2 && address >= start && address < end) return line;
  }
  return "";
}
std::string perms(const void* p) { return maps_line(p).substr(maps_line(p).find(' ') + 1, 4); }

// A shared heap as the transports give it: a MAP_SHARED mapping of a memfd, the heap starting
// one page into the file.
struct MemfdHeap {
  const uint64_t kSize = 16 * kPage;
  int fd = memfd_create("host-register-test", MFD_CLOEXEC);
  uint8_t* region = nullptr;
  MemfdHeap() {
    REQUIRE(fd >= 0);
    REQUIRE(ftruncate(fd, static_cast<off_t>(kPage + kSize)) == 0);
    void* p = mmap(nullptr, kPage + kSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    REQUIRE(p != MAP_FAILED);
    region = static_cast<uint8_t*>(p);
  }
  ~MemfdHeap() {
    munmap(region, kPage + kSize);
    close(fd);
  }
  HostHeap heap() { return HostHeap(region + kPage, kSize, {fd, kPage}); }
};

uint8_t* anonymous(uint64_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(p != MAP_FAILED);
  return static_cast<uint8_t*>(p);
}

}  // namespace

TEST_CASE("page_span rounds a range out to whole pages", "[cuda][register]") {
  const PageSpan s = page_span(3 * kPage + 5, 10);
  CHECK(s.begin == 3 * kPage);
  CHECK(s.end == 4 * kPage);
  CHECK(page_span(3 * kPage, kPage).end == 4 * kPage);
  CHECK(page_span(3 * kPage, kPage + 1).end == 5 * kPage);
  CHECK(page_span(3 * kPage - 1, 2).end == 4 * kPage);
  CHECK(page_span(3 * kPage - 1, 2).overlaps(page_span(2 * kPage, 1)));
  CHECK_FALSE(page_span(3 * kPage, 1).overlaps(page_span(2 * kPage, 1)));
}

TEST_CASE("check_pages admits only private anonymous memory of one protection", "[cuda][register]") {
  const std::string maps =
      "00400000-00401000 r-xp 00000000 08:01 1234   /usr/bin/prog\n"
      "00401000-00402000 rw-p 00001000 08:01 1234   /usr/bin/prog\n"
      "01000000-01021000 rw-p 00000000 00:00 0                                  [heap]\n"
      "7f0000000000-7f0000004000 rw-p 00000000 00:00 0 \n"
      "7f0000004000-7f0000005000 r--p 00000000 00:00 0\n"
      "7f0000005000-7f0000006000 rw-s 00000000 00:01 77   /memfd:vgpu (deleted)\n"
      "7f0000008000-7f0000009000 rw-p 00000000 00:00 0   [anon:named]\n"
      "7f0000009000-7f000000a000 rwxp 00000000 00:00 0\n"
      "7f0000010000-7f0000011000 rw-p 00000000 00:00 0\n"
      "7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]\n";
  int prot = 0;
  auto check = [&](uint64_t begin, uint64_t end, bool read_only = false) {
    return check_pages(maps, PageSpan{begin, end}, read_only, &prot);
  };
  CHECK(check(0x7f0000000000, 0x7f0000004000) == nullptr);
  CHECK(prot == (PROT_READ | PROT_WRITE));
  CHECK(check(0x01001000, 0x01003000) == nullptr);  // malloc's heap
  CHECK(check(0x7f0000008000, 0x7f0000009000) == nullptr);
  CHECK(check(0x7f0000004000, 0x7f0000005000, true) == nullptr);
  CHECK(prot == PROT_READ);

  auto refused = [&](uint64_t begin, uint64_t end, const char* words, bool read_only = false) {
    const char* why = check(begin, end, read_only);
    INFO((why != nullptr ? why : "(admitted)"));
    return why != nullptr && std::strstr(why, words) != nullptr;
  };
  CHECK(refused(0x00401000, 0x00402000, "not private anonymous"));  // the program's file
  CHECK(refused(0x7f0000005000, 0x7f0000006000, "not private anonymous"));  // shared memory
  CHECK(refused(0x7f0000004000, 0x7f0000005000, "read-only"));
  CHECK(refused(0x7f0000003000, 0x7f0000005000, "differ in protection", true));
  CHECK(refused(0x7f0000004000, 0x7f0000006000, "not private anonymous", true));
  CHECK(refused(0x7f0000006000, 0x7f0000007000, "not mapped"));  // a hole
  CHECK(refused(0x7f0000010000, 0x7f0000012000, "not mapped"));  // runs into one
  CHECK(refused(0x7f0000009000, 0x7f000000a000, "executable"));
  CHECK(refused(0x7ffc00001000, 0x7ffc00002000, "stack"));
  CHECK(refused(0x7fff00000000, 0x7fff00001000, "not mapped"));  // past every line
  CHECK(check_pages("garbage\n", PageSpan{0x1000, 0x2000}, false, &prot) != nullptr);
}

TEST_CASE("registered pages move into the heap and back with their latest bytes", "[cuda][register]") {
  MemfdHeap memfd;
  HostHeap heap = memfd.heap();
  uint8_t* buf = anonymous(4 * kPage);
  for (uint64_t i = 0; i < 4 * kPage; ++i) buf[i] = static_cast<uint8_t>(i * 7);

  PageAlias alias;
  REQUIRE(alias_pages(heap, reinterpret_cast<uintptr_t>(buf + 10), kPage, false, &alias) == nullptr);
  REQUIRE(alias.active());
  CHECK(alias.pages.begin == reinterpret_cast<uintptr_t>(buf));
  CHECK(alias.pages.end == reinterpret_cast<uintptr_t>(buf + 2 * kPage));
  CHECK(alias.prot == (PROT_READ | PROT_WRITE));
  CHECK(reinterpret_cast<uintptr_t>(alias.block) % kPage == 0);
  uint64_t offset = 0;
  CHECK(heap.range().offset_of(alias.block, 2 * kPage, &offset));
  for (uint64_t i = 0; i < 4 * kPage; ++i) REQUIRE(buf[i] == static_cast<uint8_t>(i * 7));
  CHECK(perms(buf) == "rw-s");
  CHECK(perms(buf + 2 * kPage) == "rw-p");
  buf[100] = 0xee;  // one memory, two addresses
  CHECK(alias.block[100] == 0xee);
  alias.block[kPage + 1] = 0xdd;
  CHECK(buf[kPage + 1] == 0xdd);

  // The same pages again: already shared memory now.
  PageAlias again;
  CHECK(alias_pages(heap, reinterpret_cast<uintptr_t>(buf), 1, false, &again) != nullptr);
  CHECK_FALSE(again.active());

  buf[kPage + 2] = 0xcc;
  REQUIRE(unalias_pages(heap, alias));
  CHECK(perms(buf) == "rw-p");
  CHECK(buf[100] == 0xee);
  CHECK(buf[kPage + 1] == 0xdd);
  CHECK(buf[kPage + 2] == 0xcc);
  buf[100] = 1;
  CHECK(alias.block[100] == 0xee);  // private again
  // The block went back: the whole heap (but vgpu's reserve) is free.
  void* all = heap.allocate_in_heap(memfd.kSize - heap.reserve_size(), kPage);
  CHECK(all != nullptr);
  CHECK(heap.release(all));
  munmap(buf, 4 * kPage);
}

TEST_CASE("read-only pages move read-only, and only when the registration says so", "[cuda][register]") {
  MemfdHeap memfd;
  HostHeap heap = memfd.heap();
  uint8_t* buf = anonymous(kPage);
  buf[3] = 42;
  REQUIRE(mprotect(buf, kPage, PROT_READ) == 0);
  PageAlias alias;
  CHECK(alias_pages(heap, reinterpret_cast<uintptr_t>(buf), kPage, false, &alias) != nullptr);
  REQUIRE(alias_pages(heap, reinterpret_cast<uintptr_t>(buf), kPage, true, &alias) == nullptr);
  CHECK(perms(buf) == "r--s");
  CHECK(buf[3] == 42);
  REQUIRE(unalias_pages(heap, alias));
  CHECK(perms(buf) == "r--p");
  CHECK(buf[3] == 42);
  munmap(buf, kPage);
}

TEST_CASE("pages stay where they are without a heap file or room in the heap", "[cuda][register]") {
  MemfdHeap memfd;
  uint8_t* buf = anonymous(32 * kPage);
  buf[0] = 9;
  PageAlias alias;
  HostHeap no_file(memfd.region + kPage, memfd.kSize);
  CHECK(alias_pages(no_file, reinterpret_cast<uintptr_t>(buf), kPage, false, &alias) != nullptr);
  HostHeap heap = memfd.heap();
  const char* why = alias_pages(heap, reinterpret_cast<uintptr_t>(buf), 32 * kPage, false, &alias);
  REQUIRE(why != nullptr);
  CHECK(std::strstr(why, "no room") != nullptr);
  CHECK_FALSE(alias.active());
  CHECK(perms(buf) == "rw-p");
  CHECK(buf[0] == 9);
  munmap(buf, 32 * kPage);
}

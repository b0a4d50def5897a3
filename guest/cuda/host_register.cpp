// Moving registered program pages into the shared heap and back (host_register.h says why and
// what the limits are). Kept apart from host_memory.cpp, which keeps the driver's bookkeeping of
// page-locked ranges: this file is the address-space surgery and nothing else.
#include "guest/cuda/host_register.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <new>
#include <optional>
#include <string>

namespace vgpu::cuda {
namespace {

#if defined(__SANITIZE_ADDRESS__)
#define VGPU_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VGPU_ADDRESS_SANITIZER 1
#endif
#endif

// Copies the program's whole pages, which hold more than the registered range: neighbouring
// objects and, under AddressSanitizer, the poisoned bytes around them. Reading those is
// right here (the bytes must move with their page), so under ASan the copy is a loop the
// sanitizer does not check (memcpy's interceptor would report it); elsewhere it is memcpy.
#if defined(VGPU_ADDRESS_SANITIZER)
__attribute__((no_sanitize("address"))) void copy_whole_pages(uint8_t* to, const uint8_t* from, size_t length) {
  const volatile uint8_t* in = from;  // volatile: not turned back into a memcpy call
  for (size_t i = 0; i < length; ++i) to[i] = in[i];
}
#else
void copy_whole_pages(uint8_t* to, const uint8_t* from, size_t length) { std::memcpy(to, from, length); }
#endif

uint64_t page_size() {
  static const uint64_t size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return size;
}

// One line of /proc/<pid>/maps: "start-end perms offset major:minor inode   path".
struct MapsLine {
  uintptr_t start = 0;
  uintptr_t end = 0;
  std::string_view perms;
  std::string_view device;
  std::string_view inode;
  std::string_view path;
};

// The next space-separated field of `rest`, consumed.
std::string_view next_field(std::string_view& rest) {
  const size_t begin = rest.find_first_not_of(' ');
  if (begin == std::string_view::npos) {
    rest = {};
    return {};
  }
  rest.remove_prefix(begin);
  const size_t end = std::min(rest.find(' '), rest.size());
  std::string_view field = rest.substr(0, end);
  rest.remove_prefix(end);
  return field;
}

bool parse_hex(std::string_view text, uintptr_t* out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out, 16);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

std::optional<MapsLine> parse_line(std::string_view line) {
  MapsLine m;
  const std::string_view range = next_field(line);
  const size_t dash = range.find('-');
  if (dash == std::string_view::npos || !parse_hex(range.substr(0, dash), &m.start) ||
      !parse_hex(range.substr(dash + 1), &m.end) || m.end <= m.start)
    return std::nullopt;
  m.perms = next_field(line);
  next_field(line);  // offset
  m.device = next_field(line);
  m.inode = next_field(line);
  if (m.perms.size() != 4 || m.inode.empty()) return std::nullopt;
  const size_t path = line.find_first_not_of(' ');
  m.path = path == std::string_view::npos ? std::string_view{} : line.substr(path);
  return m;
}

// Private and backed by no file: anonymous mmaps, thread stacks, malloc's [heap], and
// anonymous memory a program named (prctl PR_SET_VMA_ANON_NAME).
bool private_anonymous(const MapsLine& m) {
  if (m.perms[3] != 'p' || m.inode != "0" || m.device != "00:00") return false;
  return m.path.empty() || m.path == "[heap]" || m.path.substr(0, 6) == "[anon:";
}

// The whole of /proc/self/maps, read once.
bool read_maps(std::string* out) {
  const int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buffer[16384];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return n == 0;
    }
    out->append(buffer, static_cast<size_t>(n));
  }
}

}  // namespace

PageSpan page_span(uintptr_t start, uint64_t size) {
  const uint64_t page = page_size();
  const uintptr_t begin = start / page * page;
  const uintptr_t last = start + (size == 0 ? 0 : size - 1);
  return {begin, last / page * page + page};  // end 0: the span reaches the top of the address space
}

const char* check_pages(std::string_view maps, PageSpan pages, bool read_only, int* prot) {
  uintptr_t covered = pages.begin;  // every page below this one passed
  int seen = -1;
  while (!maps.empty() && covered < pages.end) {
    const size_t eol = std::min(maps.find('\n'), maps.size());
    const std::string_view text = maps.substr(0, eol);
    maps.remove_prefix(std::min(eol + 1, maps.size()));
    const std::optional<MapsLine> line = parse_line(text);
    if (!line) return "/proc/self/maps is not what it should be";
    if (line->end <= covered) continue;
    if (line->start >= pages.end) break;
    if (line->start > covered) return "a page of it is not mapped";
    if (line->path == "[stack]") return "a page of it is on the main thread's stack";
    if (!private_anonymous(*line)) return "a page of it is not private anonymous memory (a file or shared mapping)";
    if (line->perms[0] != 'r') return "a page of it cannot be read";
    if (line->perms[2] == 'x') return "a page of it is executable";
    const int line_prot = line->perms[1] == 'w' ? PROT_READ | PROT_WRITE : PROT_READ;
    if (line_prot == PROT_READ && !read_only)
      return "a page of it is read-only (only CU_MEMHOSTREGISTER_READ_ONLY moves such pages)";
    if (seen >= 0 && seen != line_prot) return "its pages differ in protection";
    seen = line_prot;
    covered = line->end;
  }
  if (covered < pages.end || seen < 0) return "a page of it is not mapped";
  *prot = seen;
  return nullptr;
}

const char* alias_pages(guest::HostHeap& heap, uintptr_t start, uint64_t size, bool read_only, PageAlias* alias) {
  const PageSpan pages = page_span(start, size);
  if (pages.end <= pages.begin) return "it reaches the top of the address space";
  const uint64_t length = pages.end - pages.begin;
  const guest::BackingFile file = heap.file();
  const guest::HeapRange range = heap.range();
  if (file.fd < 0 || range.base == nullptr) return "the transport maps the shared heap from no file";

  std::string maps;
  try {
    if (!read_maps(&maps)) return "/proc/self/maps cannot be read";
  } catch (const std::bad_alloc&) {
    return "out of memory reading /proc/self/maps";
  }
  int prot = 0;
  if (const char* why = check_pages(maps, pages, read_only, &prot)) return why;

  auto* block = static_cast<uint8_t*>(heap.allocate_in_heap(length, page_size()));
  if (block == nullptr) return "the shared heap has no room for it";
  const uint64_t offset = file.offset + static_cast<uint64_t>(block - range.base);
  if (offset % page_size() != 0) {
    heap.release(block);
    return "the shared heap does not start on a page of its file";
  }
  // The block's pages are mapped at a free address first, then that mapping is moved over the
  // program's pages by one mremap: the program's addresses are never unmapped in between, and a
  // failure leaves them as they were.
  void* staging = mmap(nullptr, length, prot, MAP_SHARED, file.fd, static_cast<off_t>(offset));
  if (staging == MAP_FAILED) {
    heap.release(block);
    return "the heap block could not be mapped";
  }
  // Writes other threads make to these pages from here until mremap returns are lost.
  copy_whole_pages(block, reinterpret_cast<const uint8_t*>(pages.begin), length);
  if (mremap(staging, length, length, MREMAP_MAYMOVE | MREMAP_FIXED, reinterpret_cast<void*>(pages.begin)) ==
      MAP_FAILED) {
    munmap(staging, length);
    heap.release(block);
    return "the heap block could not be moved over its pages";
  }
  *alias = PageAlias{pages, block, prot};
  return nullptr;
}

bool unalias_pages(guest::HostHeap& heap, const PageAlias& alias) {
  if (!alias.active()) return true;
  const uint64_t length = alias.pages.end - alias.pages.begin;
  void* fresh = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (fresh == MAP_FAILED) return false;
  // The block is still mapped inside the heap's own mapping; as when moving in, writes to the
  // pages between this copy and the mremap are lost.
  std::memcpy(fresh, alias.block, length);
  if ((alias.prot != (PROT_READ | PROT_WRITE) && mprotect(fresh, length, alias.prot) != 0) ||
      mremap(fresh, length, length, MREMAP_MAYMOVE | MREMAP_FIXED, reinterpret_cast<void*>(alias.pages.begin)) ==
          MAP_FAILED) {
    munmap(fresh, length);
    return false;
  }
  heap.release(alias.block);
  return true;
}

}  // namespace vgpu::cuda

// cuMemHostRegister made real: the GPU can only reach guest memory that vgpud registered with
// it, and the one such memory is the channel's shared heap (a MAP_SHARED mapping of a file: a
// memfd over the UNIX socket, the ivshmem BAR's resource2 in a VM). So registering moves the
// program's pages into the heap: their bytes are copied into a fresh page-aligned heap block,
// then the heap file's pages of that block are mapped over the program's addresses. The program
// keeps its pointers; behind them is now page-locked, mapped memory, and copies from and to it
// are DMA (heap offset of the block + the pointer's distance from its first page).
// Unregistering does the reverse: private anonymous memory with the block's latest contents is
// moved back over the pages, then the block goes back to the heap.
//
// Limits, why the caller falls back to staging instead of moving:
// - Only private anonymous memory moves (malloc's heap, anonymous mmaps, thread stacks), all of
//   one protection, read-write, or read-only with CU_MEMHOSTREGISTER_READ_ONLY. A file mapping
//   or shared memory would lose its meaning (others see that file), and the main stack or
//   executable pages are not worth the risk.
// - Whole pages move: the bytes around an unaligned range move with it. A page is moved once;
//   a second registration sharing it is staged.
// - The copy and the switch are not one step: what another thread writes to those pages
//   between the copy and the remap is lost (both ways). Programs register memory they own, and
//   the window is one memcpy.
// - While moved, the pages are shared memory: a child made by fork() shares them instead of
//   getting a copy.
#pragma once
#include <cstdint>
#include <string_view>

#include "guest/client/host_heap.h"

namespace vgpu::cuda {

// The whole pages holding [start, start + size).
struct PageSpan {
  uintptr_t begin = 0;
  uintptr_t end = 0;
  bool overlaps(const PageSpan& other) const { return begin < other.end && other.begin < end; }
};
PageSpan page_span(uintptr_t start, uint64_t size);

// Program pages moved into the heap.
struct PageAlias {
  PageSpan pages;
  uint8_t* block = nullptr;  // the heap block behind them; null when nothing moved
  int prot = 0;              // the pages' protection, kept when they move back
  bool active() const { return block != nullptr; }
};

// Whether /proc/self/maps (its text) shows every page of `pages` in private anonymous memory
// of one protection: read-write, or read-only when `read_only` admits it. nullptr when so, with
// the protection in *prot; else why not, in words that finish "not mapped: ...".
const char* check_pages(std::string_view maps, PageSpan pages, bool read_only, int* prot);

// Moves the pages holding [start, start + size) into a new block of `heap`. nullptr on success
// (*alias filled in); else why not, and nothing changed.
const char* alias_pages(guest::HostHeap& heap, uintptr_t start, uint64_t size, bool read_only, PageAlias* alias);

// Puts private memory with the block's contents back at the alias's pages, then releases the
// block. False when the system refused the memory: the pages then stay in the heap (still
// correct memory, the block not reused).
bool unalias_pages(guest::HostHeap& heap, const PageAlias& alias);

}  // namespace vgpu::cuda

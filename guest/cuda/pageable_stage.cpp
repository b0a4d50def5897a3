// Pageable host memory in a graph, through a staging block and host functions (pageable_stage.h).
#include "guest/cuda/pageable_stage.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_set>

#include "guest/client/host_heap.h"
#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/capture.h"
#include "guest/cuda/host_functions.h"

namespace vgpu::cuda {
namespace {

namespace proto = vgpu::proto;

// The staging pieces' functions and blocks alive, for is_staging_*.
std::mutex g_mutex;
std::unordered_set<uint64_t> g_functions;  // guarded by g_mutex
std::unordered_set<uint64_t> g_blocks;     // heap offsets; guarded by g_mutex

// A block of the shared heap, given back when the last piece using it is forgotten.
struct StagingBlock {
  StagingBlock(uint8_t* b, uint64_t offset) : bytes(b), heap_offset(offset) {}
  StagingBlock(const StagingBlock&) = delete;
  StagingBlock& operator=(const StagingBlock&) = delete;
  uint8_t* const bytes;
  const uint64_t heap_offset;
  ~StagingBlock() {
    {
      std::lock_guard lock(g_mutex);
      g_blocks.erase(heap_offset);
    }
    if (guest::HostHeap* heap = guest::process_host_heap()) heap->release(bytes);
  }
};

// What one piece's host function moves: `height` rows of `width` bytes, `pitch` apart at `host`,
// packed in the block.
struct Piece {
  uint8_t* host;
  size_t pitch;
  size_t width;
  size_t height;
  std::shared_ptr<StagingBlock> block;
  uint64_t function = 0;  // its id, once registered
};

void CUDA_CB fill_staging(void* p) {
  const auto* s = static_cast<const Piece*>(p);
  for (size_t y = 0; y < s->height; ++y) std::memcpy(s->block->bytes + y * s->width, s->host + y * s->pitch, s->width);
}

void CUDA_CB empty_staging(void* p) {
  const auto* s = static_cast<const Piece*>(p);
  for (size_t y = 0; y < s->height; ++y) std::memcpy(s->host + y * s->pitch, s->block->bytes + y * s->width, s->width);
}

void forget_piece(void* p) {
  std::unique_ptr<Piece> piece(static_cast<Piece*>(p));
  std::lock_guard lock(g_mutex);
  g_functions.erase(piece->function);
}

}  // namespace

CUresult make_stages(guest::Channel& ch, const HostRows& rows, bool to_device, std::vector<StagePiece>* out) noexcept {
  try {
    if (CUresult r = start_host_functions(ch); r != CUDA_SUCCESS) return r;
    guest::HostHeap* heap = guest::process_host_heap();
    if (heap == nullptr) return CUDA_ERROR_NOT_INITIALIZED;
    // Whole rows per piece, as many as fit the block (at least one); one row alone is cut into
    // pieces of the block's size. A block takes at most half the heap's reserve (host_heap.h).
    const size_t limit = std::min(kStagingBlock, std::max<size_t>(size_t{64} << 10, heap->reserve_size() / 2));
    const bool one_row = rows.height == 1;
    const size_t piece_width = one_row ? std::min(rows.width, limit) : rows.width;
    const size_t rows_per_piece = one_row ? 1 : std::max<size_t>(1, limit / rows.width);
    const size_t block_bytes = piece_width * std::min(rows.height, rows_per_piece);
    void* bytes = heap->allocate_internal(block_bytes, 64);
    uint64_t heap_offset = 0;
    if (bytes == nullptr) return CUDA_ERROR_OUT_OF_MEMORY;
    if (!heap->range().offset_of(bytes, block_bytes, &heap_offset)) {
      heap->release(bytes);
      return CUDA_ERROR_OUT_OF_MEMORY;
    }
    auto block = std::make_shared<StagingBlock>(static_cast<uint8_t*>(bytes), heap_offset);
    {
      std::lock_guard lock(g_mutex);
      g_blocks.insert(heap_offset);
    }
    auto host = static_cast<uint8_t*>(rows.host);
    auto add = [&](size_t host_offset, size_t device_offset, size_t width, size_t height) {
      auto piece = std::make_unique<Piece>(Piece{host + host_offset, rows.pitch, width, height, block});
      std::lock_guard lock(g_mutex);  // registered before anyone can ask about it
      const uint64_t id =
          add_host_function(to_device ? fill_staging : empty_staging, piece.get(), /*kept=*/true, forget_piece);
      piece.release()->function = id;
      g_functions.insert(id);
      out->push_back(StagePiece{id, heap_offset, device_offset, width, height});
    };
    if (one_row) {
      for (size_t x = 0; x < rows.width; x += piece_width) add(x, x, std::min(piece_width, rows.width - x), 1);
    } else {
      for (size_t y = 0; y < rows.height; y += rows_per_piece)
        add(y * rows.pitch, y * rows.device_pitch, rows.width, std::min(rows_per_piece, rows.height - y));
    }
    return CUDA_SUCCESS;
  } catch (...) {
    for (const StagePiece& p : *out) drop_host_function(p.function);
    out->clear();
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
}

bool is_staging_function(uint64_t id) noexcept {
  std::lock_guard lock(g_mutex);
  return g_functions.count(id) != 0;
}

bool is_staging_block(uint64_t heap_offset) noexcept {
  std::lock_guard lock(g_mutex);
  return g_blocks.count(heap_offset) != 0;
}

CUresult captured_pageable_copy(guest::Channel& ch, uint64_t capture, uint64_t stream, CUdeviceptr device, void* host,
                                size_t size, bool to_device) noexcept {
  std::vector<StagePiece> pieces;
  if (CUresult r = make_stages(ch, HostRows{host, size, size, 1, size}, to_device, &pieces); r != CUDA_SUCCESS)
    return r;
  const proto::CallId copy_id = to_device ? proto::CallId::MemcpyHtoDShared : proto::CallId::MemcpyDtoHShared;
  int32_t status = 0;
  size_t posted = 0;
  for (; posted < pieces.size() && status == 0; ++posted) {
    const StagePiece& p = pieces[posted];
    const proto::LaunchHostFuncRequest run{stream, p.function};
    const proto::MemcpySharedRequest copy{device + p.device_offset, p.heap_offset, p.width, stream};
    if (to_device) {
      status = guest::post<proto::CallId::LaunchHostFunc>(ch, run);
      if (status == 0) status = ch.post(copy_id, {{&copy, sizeof copy}});
    } else {
      status = ch.post(copy_id, {{&copy, sizeof copy}});
      if (status == 0) status = guest::post<proto::CallId::LaunchHostFunc>(ch, run);
    }
  }
  // The pieces posted belong to the capture (a failed post breaks the channel, which ends it);
  // the others are forgotten.
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (i < posted && status == 0)
      capture_keeps_host_function(capture, pieces[i].function);
    else
      drop_host_function(pieces[i].function);
  }
  return to_cu_result(status);
}

}  // namespace vgpu::cuda

#include "guest/cuda/array_copies.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <span>
#include <vector>

#include "guest/client/host_heap.h"
#include "guest/client/log.h"
#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/capture.h"
#include "guest/cuda/host_memory.h"
#include "guest/cuda/streams.h"
#include "vgpu/protocol/limits.h"

namespace vgpu::cuda {
namespace {

using proto::CallId;

// MEMCPY_ARRAY's kinds of end.
enum WireKind : uint32_t { kWireDevice = 0, kWireArray = 1, kWireHeap = 2, kWirePacked = 3 };
// A synchronous copy also waits for its stream.
constexpr uint16_t kSyncFlags = proto::kFlagNeedsReply | proto::kFlagSynchronize;
// Pieces of pageable memory through the heap: at most this, and at most half the heap's reserve.
constexpr size_t kStagingBlock = size_t{4} << 20;

struct Box {
  size_t x, y, z, width, height, depth;
};

// An end as the message names it.
struct WireEnd {
  uint32_t kind = kWireDevice;
  uint64_t where = 0;
  size_t x = 0, y = 0, z = 0, pitch = 0, rows = 0;
};

// The offset of a pitched buffer's byte (x, y, z) from its first byte, and the bytes from there
// to the end of the box's last row; false when a number overflows.
bool span_of(const CopyEnd& e, const CopyExtent& c, size_t* first, size_t* length) {
  size_t row = 0, last_row = 0, more = 0;
  if (__builtin_mul_overflow(e.z, e.rows, &row) || __builtin_add_overflow(row, e.y, &row) ||
      __builtin_mul_overflow(row, e.pitch, first) || __builtin_add_overflow(*first, e.x, first) ||
      __builtin_mul_overflow(c.depth - 1, e.rows, &last_row) || __builtin_add_overflow(last_row, c.height - 1, &last_row) ||
      __builtin_mul_overflow(last_row, e.pitch, &more) || __builtin_add_overflow(more, c.width, length))
    return false;
  return true;
}

bool box_inside(const CopyEnd& e, const CopyExtent& c) {
  const ArrayExtent a = extent_of(*e.array);
  const size_t element = e.array->element;
  return e.x % element == 0 && c.width % element == 0 && e.x <= a.row_bytes && c.width <= a.row_bytes - e.x &&
         e.y <= a.rows && c.height <= a.rows - e.y && e.z <= a.slices && c.depth <= a.slices - e.z;
}

WireEnd array_end(const CopyEnd& e, size_t dx, size_t dy, size_t dz) {
  return WireEnd{kWireArray, e.array->wire, e.x + dx, e.y + dy, e.z + dz, 0, 0};
}

proto::MemcpyArrayRequest request_of(const WireEnd& s, const WireEnd& d, const Box& b, uint64_t stream) {
  proto::MemcpyArrayRequest r{};
  r.src_kind = s.kind;
  r.dst_kind = d.kind;
  r.src = s.where, r.src_x = s.x, r.src_y = s.y, r.src_z = s.z, r.src_pitch = s.pitch, r.src_rows = s.rows;
  r.dst = d.where, r.dst_x = d.x, r.dst_y = d.y, r.dst_z = d.z, r.dst_pitch = d.pitch, r.dst_rows = d.rows;
  r.width = b.width;
  r.height = b.height;
  r.depth = b.depth;
  r.stream = stream;
  return r;
}

// One message. Packed bytes in its reply (`back`) make it answered; otherwise it is posted unless
// `wait`, then answered once its stream is done. Packed bytes in it (`data`) travel either way.
CUresult send(guest::Channel& ch, const proto::MemcpyArrayRequest& r, bool wait, std::span<const uint8_t> data = {},
              std::span<uint8_t> back = {}) {
  if (!back.empty()) {
    const guest::CallResult result = guest::call<CallId::MemcpyArray>(ch, r, {}, nullptr, back);
    if (result.status != 0) return to_cu_result(result.status);
    return result.payload_size == back.size() ? CUDA_SUCCESS : CUDA_ERROR_UNKNOWN;
  }
  if (!wait) return to_cu_result(guest::post<CallId::MemcpyArray>(ch, r, data));
  return to_cu_result(guest::call<CallId::MemcpyArray>(ch, r, data, nullptr, {}, kSyncFlags).status);
}

// Rows between the program's pitched memory and a packed buffer.
void pack(uint8_t* out, const uint8_t* from, size_t pitch, size_t rows, const Box& b) {
  for (size_t z = 0; z < b.depth; ++z)
    for (size_t y = 0; y < b.height; ++y)
      std::memcpy(out + (z * b.height + y) * b.width, from + (z * rows + y) * pitch, b.width);
}
void unpack(uint8_t* to, const uint8_t* in, size_t pitch, size_t rows, const Box& b) {
  for (size_t z = 0; z < b.depth; ++z)
    for (size_t y = 0; y < b.height; ++y)
      std::memcpy(to + (z * rows + y) * pitch, in + (z * b.height + y) * b.width, b.width);
}

// The copy's pieces of at most `limit` packed bytes: whole slices, else rows of a slice, else
// parts of a row (limit is a multiple of every element's size).
template <typename Fn>
CUresult for_each_piece(const CopyExtent& c, size_t limit, Fn&& fn) {
  for (size_t z = 0; z < c.depth;) {
    const size_t slice = c.width * c.height;
    if (slice <= limit) {
      const size_t n = std::min(c.depth - z, limit / slice);
      if (CUresult r = fn(Box{0, 0, z, c.width, c.height, n}); r != CUDA_SUCCESS) return r;
      z += n;
      continue;
    }
    for (size_t y = 0; y < c.height;) {
      if (c.width <= limit) {
        const size_t n = std::min(c.height - y, limit / c.width);
        if (CUresult r = fn(Box{0, y, z, c.width, n, 1}); r != CUDA_SUCCESS) return r;
        y += n;
        continue;
      }
      for (size_t x = 0; x < c.width; x += limit)
        if (CUresult r = fn(Box{x, y, z, std::min(limit, c.width - x), 1, 1}); r != CUDA_SUCCESS) return r;
      ++y;
    }
    ++z;
  }
  return CUDA_SUCCESS;
}

// A copy between an array and pageable host memory (`host`, whose box starts at `first`), piece
// by piece through `block` (heap bytes at `block_offset`) or, without one, inside the messages.
CUresult pageable_copy(guest::Channel& ch, const CopyEnd& array, const CopyEnd& host, uint8_t* first,
                       const CopyExtent& c, bool to_array, uint64_t stream, uint8_t* block, uint64_t block_offset,
                       size_t limit) {
  std::vector<uint8_t> packed(block == nullptr ? std::min(limit, c.width * c.height * c.depth) : 0);
  return for_each_piece(c, limit, [&](const Box& b) {
    uint8_t* program = first + (b.z * host.rows + b.y) * host.pitch + b.x;
    const size_t bytes = b.width * b.height * b.depth;
    uint8_t* buffer = block != nullptr ? block : packed.data();
    const WireEnd staged = block != nullptr ? WireEnd{kWireHeap, block_offset, 0, 0, 0, b.width, b.height}
                                            : WireEnd{kWirePacked, 0, 0, 0, 0, 0, 0};
    const WireEnd a = array_end(array, b.x, b.y, b.z);
    if (to_array) {
      pack(buffer, program, host.pitch, host.rows, b);
      const proto::MemcpyArrayRequest r = request_of(staged, a, b, stream);
      return block != nullptr ? send(ch, r, true) : send(ch, r, true, std::span<const uint8_t>(buffer, bytes));
    }
    const proto::MemcpyArrayRequest r = request_of(a, staged, b, stream);
    CUresult result = block != nullptr ? send(ch, r, true) : send(ch, r, true, {}, std::span<uint8_t>(buffer, bytes));
    if (result == CUDA_SUCCESS) unpack(program, buffer, host.pitch, host.rows, b);
    return result;
  });
}

CUresult through_pageable(guest::Channel& ch, const CopyEnd& array, const CopyEnd& host, uint8_t* first,
                          const CopyExtent& c, bool to_array, bool wait, uint64_t stream) {
  // Captured, a graph would replay it when this memory is no longer staged: not offered yet.
  if (uint64_t capture = 0; !wait && capture_of_stream(stream, &capture) == CUDA_SUCCESS && capture != 0) {
    static std::atomic<bool> said{false};
    if (!said.exchange(true))
      guest::log(guest::LogLevel::Warn, "a copy between a CUDA array and pageable memory in a stream capture is not "
                                        "supported by vgpu");
    return CUDA_ERROR_NOT_SUPPORTED;
  }
  const size_t total = c.width * c.height * c.depth;
  if (total <= limits::kMaxInlineCopy) {
    // One message; to the array it may be posted, its bytes travelling in it.
    const Box all{0, 0, 0, c.width, c.height, c.depth};
    std::vector<uint8_t> packed(total);
    const WireEnd inline_end{kWirePacked, 0, 0, 0, 0, 0, 0};
    if (to_array) {
      pack(packed.data(), first, host.pitch, host.rows, all);
      return send(ch, request_of(inline_end, array_end(array, 0, 0, 0), all, stream), wait, packed);
    }
    CUresult r = send(ch, request_of(array_end(array, 0, 0, 0), inline_end, all, stream), true, {}, packed);
    if (r == CUDA_SUCCESS) unpack(first, packed.data(), host.pitch, host.rows, all);
    return r;
  }
  guest::HostHeap* heap = guest::process_host_heap();
  const size_t limit =
      heap == nullptr ? 0 : std::min(kStagingBlock, std::max<size_t>(size_t{64} << 10, heap->reserve_size() / 2));
  void* block = limit == 0 ? nullptr : heap->allocate_internal(std::min(limit, total), 64);
  uint64_t block_offset = 0;
  if (block != nullptr && !heap->range().offset_of(block, std::min(limit, total), &block_offset)) {
    heap->release(block);
    block = nullptr;
  }
  if (block == nullptr)  // no room in the heap: the bytes travel inside the messages
    return pageable_copy(ch, array, host, first, c, to_array, stream, nullptr, 0, limits::kMaxInlineCopy);
  const CUresult r =
      pageable_copy(ch, array, host, first, c, to_array, stream, static_cast<uint8_t*>(block), block_offset, limit);
  heap->release(block);
  return r;
}

}  // namespace

CUresult copy_with_array(const CopyEnd& src, const CopyEnd& dst, const CopyExtent& c, CUstream stream, bool wait) {
  for (const CopyEnd* e : {&src, &dst}) {
    if (e->kind != CopyEnd::Kind::Array) continue;
    if (e->array == nullptr) return CUDA_ERROR_INVALID_VALUE;
    if (c.width != 0 && c.height != 0 && c.depth != 0 && !box_inside(*e, c)) return CUDA_ERROR_INVALID_VALUE;
  }
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  uint64_t wire = 0;
  if (!wire_stream(stream, &wire)) return CUDA_ERROR_INVALID_HANDLE;
  if (c.width == 0 || c.height == 0 || c.depth == 0) return CUDA_SUCCESS;
  const Box all{0, 0, 0, c.width, c.height, c.depth};
  const bool to_array = dst.kind == CopyEnd::Kind::Array;
  const CopyEnd& other = to_array ? src : dst;
  const CopyEnd& array = to_array ? dst : src;
  WireEnd ends[2];  // src, dst
  for (int i = 0; i < 2; ++i) {
    const CopyEnd& e = i == 0 ? src : dst;
    if (e.kind == CopyEnd::Kind::Array) ends[i] = array_end(e, 0, 0, 0);
    if (e.kind == CopyEnd::Kind::Device) ends[i] = WireEnd{kWireDevice, e.device, e.x, e.y, e.z, e.pitch, e.rows};
  }
  if (src.kind == CopyEnd::Kind::Host || dst.kind == CopyEnd::Kind::Host) {
    if (src.kind == dst.kind || array.kind != CopyEnd::Kind::Array) return CUDA_ERROR_INVALID_VALUE;
    size_t first = 0, length = 0;
    if (other.host == nullptr || !span_of(other, c, &first, &length)) return CUDA_ERROR_INVALID_VALUE;
    auto* bytes = static_cast<uint8_t*>(const_cast<void*>(other.host)) + first;
    // Page-locked memory: the message names its bytes in the heap, from the box's first one.
    uint64_t offset = 0;
    if (!heap_offset_of(bytes, length, &offset))
      return through_pageable(*ch, array, other, bytes, c, to_array, wait, wire);
    ends[to_array ? 0 : 1] = WireEnd{kWireHeap, offset, 0, 0, 0, other.pitch, other.rows};
  }
  return send(*ch, request_of(ends[0], ends[1], all, wire), wait);
}

}  // namespace vgpu::cuda

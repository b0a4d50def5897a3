// MEMCPY_ARRAY: a 3D copy with an array at one end at least (docs/design.md §23), run as one
// cuMemcpy3DAsync. Each end is checked before the driver sees it: an array must be the
// channel's, on the current device, and the box must lie inside it; a buffer's whole span (its
// first byte to the end of its last row) must lie inside one allocation of the channel's on the
// current device, or inside the shared heap. Data in the message or the reply is packed rows.
#include <fmt/format.h>

#include "vgpud/executor/channel_executor.h"

namespace vgpud {

namespace {

enum EndKind : uint32_t { kDevice = 0, kArray = 1, kHeap = 2, kInline = 3 };

// One end of the copy, as CUDA_MEMCPY3D describes it.
struct End {
  CUmemorytype type = CU_MEMORYTYPE_DEVICE;
  const void* host = nullptr;
  CUdeviceptr device = 0;
  CUarray array = nullptr;
  size_t x = 0, y = 0, z = 0, pitch = 0, rows = 0;
};

void set_source(CUDA_MEMCPY3D& c, const End& e) {
  c.srcMemoryType = e.type;
  c.srcHost = e.host;
  c.srcDevice = e.device;
  c.srcArray = e.array;
  c.srcXInBytes = e.x;
  c.srcY = e.y;
  c.srcZ = e.z;
  c.srcPitch = e.pitch;
  c.srcHeight = e.rows;
}

void set_destination(CUDA_MEMCPY3D& c, const End& e) {
  c.dstMemoryType = e.type;
  c.dstHost = const_cast<void*>(e.host);
  c.dstDevice = e.device;
  c.dstArray = e.array;
  c.dstXInBytes = e.x;
  c.dstY = e.y;
  c.dstZ = e.z;
  c.dstPitch = e.pitch;
  c.dstHeight = e.rows;
}

// What a copy end is checked against.
struct Bounds {
  const DeviceMemoryMap& memory;
  ArrayObjects& arrays;
  uint8_t* heap;
  uint64_t heap_size;
  uint32_t device;  // the current one: every GPU end lies there
};

// A device address, array id or heap offset end, checked; CUDA_ERROR_INVALID_HANDLE for an array
// that is not the channel's, CUDA_ERROR_INVALID_VALUE for anything outside what it may touch.
int32_t resolve(const Bounds& b, uint32_t kind, uint64_t where, const CopyBox& box, uint64_t pitch, uint64_t rows,
                End* out) {
  out->x = box.x;
  out->y = box.y;
  out->z = box.z;
  if (kind == kArray) {
    if (where > UINT32_MAX) return CUDA_ERROR_INVALID_HANDLE;
    const ArrayObjects::Array* a = b.arrays.arrays.find(static_cast<uint32_t>(where));
    if (a == nullptr) return CUDA_ERROR_INVALID_HANDLE;
    if (a->device != b.device || !box_inside(box, a->extent(), a->element)) return CUDA_ERROR_INVALID_VALUE;
    out->type = CU_MEMORYTYPE_ARRAY;
    out->array = a->handle;
    return 0;
  }
  const std::optional<Span> span = buffer_span(box, pitch, rows);
  uint64_t first = 0;
  if (!span || __builtin_add_overflow(where, span->offset, &first)) return CUDA_ERROR_INVALID_VALUE;
  out->pitch = pitch;
  out->rows = rows;
  if (kind == kDevice) {
    if (b.memory.device_of(first, span->length) != b.device) return CUDA_ERROR_INVALID_VALUE;
    out->type = CU_MEMORYTYPE_DEVICE;
    out->device = where;
    return 0;
  }
  // The heap: the buffer's start inside it (so the pointer below is one into the region), and
  // every byte the copy touches.
  if (where > b.heap_size || first > b.heap_size || span->length > b.heap_size - first) return CUDA_ERROR_INVALID_VALUE;
  out->type = CU_MEMORYTYPE_HOST;
  out->host = b.heap + where;
  return 0;
}

// Data in the message or the reply: packed rows from its first byte.
End packed(const void* data, const CopyBox& box) {
  End e;
  e.type = CU_MEMORYTYPE_HOST;
  e.host = data;
  e.pitch = box.width;
  e.rows = box.height;
  return e;
}

}  // namespace

int32_t ChannelExecutor::handle(const MemcpyArrayCmd& cmd, Reply& reply) {
  if (int32_t st = require_context()) return st;
  CUstream stream;
  if (!objects_.resolve_stream(cmd.stream, &stream)) return CUDA_ERROR_INVALID_HANDLE;
  const Bounds bounds{objects_.memory, arrays_, heap_at(0), setup_.geometry.heap.size, contexts_.current()};
  const CopyBox src_box{cmd.src_x, cmd.src_y, cmd.src_z, cmd.width, cmd.height, cmd.depth};
  const CopyBox dst_box{cmd.dst_x, cmd.dst_y, cmd.dst_z, cmd.width, cmd.height, cmd.depth};
  // The parser made sure that an array is at one end, packed data at one end at most, and that
  // a packed source is exactly the tail and a packed destination fits in a reply.
  End src, dst;
  if (cmd.src_kind == kInline) {
    src = packed(cmd.data.data(), src_box);
  } else if (int32_t st = resolve(bounds, cmd.src_kind, cmd.src, src_box, cmd.src_pitch, cmd.src_rows, &src)) {
    return st;
  }
  if (cmd.dst_kind == kInline) {
    reply.payload.resize(cmd.width * cmd.height * cmd.depth);
    dst = packed(reply.payload.data(), dst_box);
  } else if (int32_t st = resolve(bounds, cmd.dst_kind, cmd.dst, dst_box, cmd.dst_pitch, cmd.dst_rows, &dst)) {
    reply.payload.clear();
    return st;
  }
  CUDA_MEMCPY3D copy{};
  set_source(copy, src);
  set_destination(copy, dst);
  copy.WidthInBytes = cmd.width;
  copy.Height = cmd.height;
  copy.Depth = cmd.depth;
  CUresult r = traced("cuMemcpy3DAsync", cu_.cuMemcpy3DAsync(&copy, stream), [&] {
    return fmt::format("src kind {} dst kind {} {}x{}x{}", cmd.src_kind, cmd.dst_kind, cmd.width, cmd.height,
                       cmd.depth);
  });
  // Data in this request or its reply lives only until the handler returns: the copy is waited for.
  const bool packed_end = cmd.src_kind == kInline || cmd.dst_kind == kInline;
  if (r == CUDA_SUCCESS && (packed_end || synchronize_current_))
    r = traced("cuStreamSynchronize", cu_.cuStreamSynchronize(stream));
  if (r != CUDA_SUCCESS) reply.payload.clear();
  return r;
}

}  // namespace vgpud

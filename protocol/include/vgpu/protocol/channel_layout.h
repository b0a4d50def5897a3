// The layout of one channel region: the shared memory one guest process and vgpud talk through.
//
//   offset 0      ChannelHeader (one page): identity, geometry, ring controls
//   submit ring   requests, guest -> host
//   reply ring    replies, host -> guest
//   upload ring   bulk data, guest -> host (pageable H2D copies, module images)
//   download ring bulk data, host -> guest (pageable D2H copies)
//   heap          pinned host memory handed out by cudaMallocHost, registered with the GPU
//
// vgpud computes the geometry, writes the header and keeps its own copy; it never reads the
// geometry back from shared memory. The guest reads it once at attach and checks it with
// validate_geometry() before touching any ring.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "vgpu/protocol/version.h"
#include "vgpu/common/result.h"

namespace vgpu::proto {

static_assert(std::atomic<uint64_t>::is_always_lock_free, "rings need lock-free 64-bit atomics");
static_assert(std::atomic<uint32_t>::is_always_lock_free);

// Indices of one single-producer/single-consumer ring. head and tail are byte counters that
// only grow; position in the data area is counter % capacity (capacity is a power of two).
// Each sits on its own cache line so producer and consumer do not false-share.
struct RingControl {
  alignas(kCacheLineSize) std::atomic<uint64_t> head;  // written by the consumer
  alignas(kCacheLineSize) std::atomic<uint64_t> tail;  // written by the producer
  // Set by the consumer before it blocks; the producer rings the doorbell only when set.
  alignas(kCacheLineSize) std::atomic<uint32_t> consumer_waiting;
};
static_assert(sizeof(RingControl) == 3 * kCacheLineSize);
static_assert(offsetof(RingControl, tail) == 64);
static_assert(offsetof(RingControl, consumer_waiting) == 128);

struct Span64 {
  uint64_t offset;  // from the start of the channel region
  uint64_t size;
};

struct ChannelGeometry {
  uint64_t region_size;
  Span64 submit;
  Span64 reply;
  Span64 upload;
  Span64 download;
  Span64 heap;
};
static_assert(sizeof(ChannelGeometry) == 88);

struct ChannelHeader {
  uint32_t magic;             // kChannelMagic
  uint32_t protocol_version;  // kProtocolVersion
  uint32_t header_size;       // sizeof(ChannelHeader)
  uint32_t reserved0;
  ChannelGeometry geometry;
  alignas(kCacheLineSize) RingControl submit;
  RingControl reply;
  RingControl upload;
  RingControl download;
  // Set by vgpud when it closes the channel (daemon stopping, or channel broken).
  alignas(kCacheLineSize) std::atomic<uint32_t> host_closed;
};
static_assert(offsetof(ChannelHeader, geometry) == 16);
static_assert(offsetof(ChannelHeader, submit) == 128);
static_assert(offsetof(ChannelHeader, reply) == 320);
static_assert(offsetof(ChannelHeader, upload) == 512);
static_assert(offsetof(ChannelHeader, download) == 704);
static_assert(offsetof(ChannelHeader, host_closed) == 896);
static_assert(sizeof(ChannelHeader) <= 4096);

inline constexpr uint64_t kChannelHeaderArea = 4096;

// What a tenant's configuration asks for; compute_geometry() rounds and places it.
struct ChannelSizes {
  uint64_t submit = 1ull << 20;
  uint64_t reply = 1ull << 20;
  uint64_t upload = 16ull << 20;
  uint64_t download = 16ull << 20;
  uint64_t heap = 64ull << 20;
};

enum class GeometryError {
  RingSizeNotPowerOfTwo,
  RingSizeOutOfBounds,
  HeapTooLarge,
  AreaMisaligned,
  AreaOutOfRegion,
  AreasOverlap,
};
const char* geometry_error_message(GeometryError e);

// Places the areas one after another, page aligned. Fails if a size is out of bounds.
Result<ChannelGeometry, GeometryError> compute_geometry(const ChannelSizes& sizes);

// Checks geometry read from an untrusted header against a region of region_size bytes.
vgpu::Status<GeometryError> validate_geometry(const ChannelGeometry& g, uint64_t region_size);

// Writes a fresh header (indices zero) at the start of a region.
void initialize_channel_header(void* region, const ChannelGeometry& g);

}  // namespace vgpu::proto

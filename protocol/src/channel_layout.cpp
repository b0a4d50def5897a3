#include "vgpu/protocol/channel_layout.h"

#include <bit>
#include <new>

#include "vgpu/protocol/limits.h"

namespace vgpu::proto {

namespace {

constexpr uint64_t kPage = 4096;

constexpr uint64_t round_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

vgpu::Status<GeometryError> check_ring_size(uint64_t size) {
  if (size < limits::kMinRingSize || size > limits::kMaxRingSize)
    return Err{GeometryError::RingSizeOutOfBounds};
  if (!std::has_single_bit(size)) return Err{GeometryError::RingSizeNotPowerOfTwo};
  return {};
}

vgpu::Status<GeometryError> check_staging_size(uint64_t size) {
  if (size < limits::kMinRingSize || size > limits::kMaxStagingSize)
    return Err{GeometryError::RingSizeOutOfBounds};
  if (!std::has_single_bit(size)) return Err{GeometryError::RingSizeNotPowerOfTwo};
  return {};
}

}  // namespace

const char* geometry_error_message(GeometryError e) {
  switch (e) {
    case GeometryError::RingSizeNotPowerOfTwo: return "a ring size is not a power of two";
    case GeometryError::RingSizeOutOfBounds: return "a ring size is outside the protocol's limits";
    case GeometryError::HeapTooLarge: return "the shared heap is larger than the protocol allows";
    case GeometryError::AreaMisaligned: return "an area of the region is not page aligned";
    case GeometryError::AreaOutOfRegion: return "an area lies outside the region";
    case GeometryError::AreasOverlap: return "two areas of the region overlap";
  }
  return "unknown geometry error";
}

Result<ChannelGeometry, GeometryError> compute_geometry(const ChannelSizes& s) {
  ChannelGeometry g{};
  if (auto st = check_ring_size(s.submit); !st) return Err{st.error()};
  if (auto st = check_ring_size(s.reply); !st) return Err{st.error()};
  if (auto st = check_staging_size(s.upload); !st) return Err{st.error()};
  if (auto st = check_staging_size(s.download); !st) return Err{st.error()};
  if (s.heap > limits::kMaxHeapSize) return Err{GeometryError::HeapTooLarge};

  uint64_t cursor = kChannelHeaderArea;
  auto place = [&](uint64_t size) {
    Span64 span{cursor, size};
    cursor = round_up(cursor + size, kPage);
    return span;
  };
  g.submit = place(s.submit);
  g.reply = place(s.reply);
  g.upload = place(s.upload);
  g.download = place(s.download);
  g.heap = place(round_up(s.heap, kPage));
  g.region_size = cursor;
  return g;
}

vgpu::Status<GeometryError> validate_geometry(const ChannelGeometry& g, uint64_t region_size) {
  if (g.region_size != region_size) return Err{GeometryError::AreaOutOfRegion};
  if (auto st = check_ring_size(g.submit.size); !st) return st;
  if (auto st = check_ring_size(g.reply.size); !st) return st;
  if (auto st = check_staging_size(g.upload.size); !st) return st;
  if (auto st = check_staging_size(g.download.size); !st) return st;
  if (g.heap.size > limits::kMaxHeapSize) return Err{GeometryError::HeapTooLarge};

  const Span64 areas[] = {g.submit, g.reply, g.upload, g.download, g.heap};
  for (const Span64& a : areas) {
    if (a.offset % kPage != 0) return Err{GeometryError::AreaMisaligned};
    if (a.offset < kChannelHeaderArea || a.offset > region_size ||
        a.size > region_size - a.offset)
      return Err{GeometryError::AreaOutOfRegion};
  }
  for (size_t i = 0; i < std::size(areas); ++i)
    for (size_t j = i + 1; j < std::size(areas); ++j) {
      const Span64& a = areas[i];
      const Span64& b = areas[j];
      if (a.offset < b.offset + b.size && b.offset < a.offset + a.size)
        return Err{GeometryError::AreasOverlap};
    }
  return {};
}

void initialize_channel_header(void* region, const ChannelGeometry& g) {
  auto* h = new (region) ChannelHeader{};
  h->magic = kChannelMagic;
  h->protocol_version = kProtocolVersion;
  h->header_size = sizeof(ChannelHeader);
  h->geometry = g;
}

}  // namespace vgpu::proto

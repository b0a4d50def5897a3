// Geometry read from a hostile header: whatever validate_geometry accepts must lie inside the
// region without overlaps.
#include <cstdint>
#include <cstring>

#include "vgpu/protocol/channel_layout.h"

using namespace vgpu::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ChannelGeometry g;
  uint64_t region;
  if (size < sizeof g + sizeof region) return 0;
  std::memcpy(&g, data, sizeof g);
  std::memcpy(&region, data + sizeof g, sizeof region);
  if (!validate_geometry(g, region).ok()) return 0;
  const Span64 areas[] = {g.submit, g.reply, g.upload, g.download, g.heap};
  for (const Span64& a : areas)
    if (a.offset + a.size > region || a.offset + a.size < a.offset) __builtin_trap();
  return 0;
}

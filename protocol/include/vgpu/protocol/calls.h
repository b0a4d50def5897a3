// Call ids: one per driver-API-level operation (docs/design.md §4). The enum is generated from
// protocol/calls.yaml into the build tree (call_ids.gen.h); values are part of the wire format:
// never renumber, only append. docs/protocol.md has the table with payloads.
#pragma once
#include <cstdint>
#include <string_view>

#include "vgpu/protocol/call_ids.gen.h"

namespace vgpu::proto {

// Upper-case name used in logs ("MEM_ALLOC"); "UNKNOWN" for ids not in the table.
std::string_view call_name(CallId id);
std::string_view call_name(uint16_t raw_id);

}  // namespace vgpu::proto

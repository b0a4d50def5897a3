// The wire contract's identity. Both sides compile this header; docs/protocol.md is the
// prose version and the two must move together.
#pragma once
#include <cstdint>

namespace vgpu::proto {

// Bumped on any incompatible change to a layout in protocol/. A peer with another version is
// refused at connect, before any ring is touched.
inline constexpr uint32_t kProtocolVersion = 6;

// "VGPU" read as a little-endian u32: the first word of every channel region.
inline constexpr uint32_t kChannelMagic = 0x55504756;

// First word of the connect handshake on the local UNIX socket.
inline constexpr uint32_t kHandshakeMagic = 0x48504756;  // "VGPH"

inline constexpr uint32_t kCacheLineSize = 64;

}  // namespace vgpu::proto

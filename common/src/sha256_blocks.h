// The SHA-256 compression function over whole 64-byte blocks, in the two forms sha256.cpp
// chooses between once per process: portable C++, and the x86 SHA extensions where the CPU
// has them (about ten times as fast: a module image of cuBLAS's size is hashed before it is
// offered to vgpud, and vgpud hashes what it receives). Internal to vgpu_common; the tests
// compare the two forms.
#pragma once
#include <cstddef>
#include <cstdint>

namespace vgpu::sha256_detail {

inline constexpr size_t kBlockBytes = 64;

// Hashes `count` blocks into `state` (a, b, ..., h), FIPS 180-4 6.2.2.
void compress_portable(uint32_t state[8], const uint8_t* blocks, size_t count);

// The same with the SHA extensions; only where has_sha_extensions() said so.
void compress_sha_extensions(uint32_t state[8], const uint8_t* blocks, size_t count);
// Whether this CPU has them (and SSE4.1, which the code also uses). False off x86-64.
bool has_sha_extensions();

}  // namespace vgpu::sha256_detail

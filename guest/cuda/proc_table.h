// The rows behind cuGetProcAddress: which exported symbol answers (base name, CUDA version,
// per-thread variant). gen_proc_table.cmake derives them from the CUDA toolkit's typedef
// headers (cudaTypedefs.h and its GL/EGL/VDPAU/profiler siblings) into proc_table.cpp.
//
// This header must not include cuda.h: proc_table.cpp declares every exported symbol as
// `void name()`, which conflicts with cuda.h's prototypes.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>

namespace vgpu::cuda {

enum ProcVariant : uint8_t {
  kProcPlain = 0,  // the legacy-stream (or stream-less) function
  kProcPtds = 1,   // <name>_ptds: per-thread default stream, for calls without a stream
  kProcPtsz = 2,   // <name>_ptsz: per-thread default stream, for calls taking a stream
};

// One exported symbol and the requests it answers: `base` at CUDA versions >= `version`
// (up to the next row of the same base and kind).
struct ProcRow {
  const char* base;     // the name a caller asks for ("cuMemAlloc")
  int version;          // the CUDA version that introduced this ABI (1000*major + 10*minor)
  ProcVariant variant;
  // The exported symbol ("cuMemAlloc_v2"). A function pointer rather than void*, so that the
  // generated table is a constant expression (its order is checked at compile time); every
  // row names a function, the data exports are never looked up.
  void (*symbol)();
};

// Rows sorted by (base, version, variant), bytewise by base: what lookup_proc's binary search
// needs. constexpr, so the generated table checks itself with a static_assert.
constexpr bool proc_rows_sorted(std::span<const ProcRow> rows) {
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const std::string_view a = rows[i - 1].base;
    const std::string_view b = rows[i].base;
    if (a < b) continue;
    if (a > b) return false;
    if (rows[i - 1].version > rows[i].version) return false;
    if (rows[i - 1].version == rows[i].version && rows[i - 1].variant >= rows[i].variant) return false;
  }
  return true;
}

// The driver's rows. Defined by the generated proc_table.cpp, which only the shared library
// (vgpu-cuda) compiles: it names every export, stubs included. A program that links
// proc_address.o without it (the unit tests) supplies its own.
std::span<const ProcRow> proc_rows() noexcept;

}  // namespace vgpu::cuda

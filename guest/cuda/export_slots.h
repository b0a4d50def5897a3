// What cuGetExportTable's tables are made of (export_tables.cpp, tools_tables.cpp): arrays of
// pointer-sized slots, the first usually the table's size in bytes, the rest C functions.
//
// The slots are called by NVIDIA's C code through plain function pointers: every function in a
// table has C-compatible parameters, the x86-64 C calling convention (the same for C and C++
// functions with GCC and Clang), and is noexcept, so no exception can reach the caller. A
// function declared with more or fewer parameters than the caller passes is fine under that
// convention: extra arguments sit in registers nobody reads, missing ones read as garbage that
// is only ever logged.
#pragma once
#include <cuda.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace vgpu::cuda {

template <typename Fn>
const void* slot(Fn* fn) {
  return reinterpret_cast<const void*>(fn);
}

// Slot 0 of a sized table: its size in bytes, slot 0 included. Callers read it to learn which
// slots this driver has.
inline const void* size_word(std::size_t slots) { return reinterpret_cast<const void*>(slots * sizeof(void*)); }

// A slot vgpu does not implement was called: counted, said once per slot with its first four
// arguments (what a library wanted is how the next slot to implement is found). Said at Warn,
// or at Debug for a table whose callers are known to do without (`expected`).
CUresult note_unimplemented(const char* table, int index, std::atomic<bool>* said, const uint64_t (&args)[4],
                            bool expected = false) noexcept;
// How many times any table's unimplemented slot was called.
uint64_t unimplemented_export_slot_calls() noexcept;

// Whether a table's callers are known to manage when its slots answer CUDA_ERROR_NOT_SUPPORTED.
enum class Callers { MayFail, DoWithout };

// One instance per (table, slot), so that the log line can say which slot was called.
template <const char* Table, int Index, Callers callers = Callers::MayFail>
CUresult unimplemented(uint64_t a, uint64_t b, uint64_t c, uint64_t d) noexcept {
  static std::atomic<bool> said{false};
  const uint64_t args[4] = {a, b, c, d};
  return note_unimplemented(Table, Index, &said, args, callers == Callers::DoWithout);
}

// A sized table of N slots, every function slot unimplemented; the caller fills in the ones it
// implements.
template <const char* Table, std::size_t N, Callers callers = Callers::MayFail>
std::array<const void*, N> unimplemented_table() {
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    return std::array<const void*, N>{size_word(N), slot(unimplemented<Table, static_cast<int>(I) + 1, callers>)...};
  }(std::make_index_sequence<N - 1>{});
}

}  // namespace vgpu::cuda

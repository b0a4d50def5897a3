// nvmlInternalGetExportTable: the private entry points NVIDIA's own tools use. nvidia-smi asks
// for one table by its id before anything else and refuses a library without it ("Mismatch in
// versions between nvidia-smi and NVML"); it also takes its device handles and its process list
// from it, not from the public calls.
//
// The table is undocumented. Its first word is its size in bytes; function pointers follow, one
// per slot, each slot a fixed entry point. What vgpu knows of the slots was learnt by watching
// which ones nvidia-smi (driver 580) calls for which part of its output:
//
//   | slot    | entry point                    | arguments                                   |
//   |---------|--------------------------------|---------------------------------------------|
//   | 26      | the tool's log of its output   | (format, "stdout", line, ...); kept nowhere |
//   | 81      | a device's handle by its index | (unsigned index, nvmlDevice_t* out, flags)  |
//   | 213     | a device's compute processes   | (nvmlDevice_t, unsigned* count, Entry*)     |
//   | 214-215 | its other process lists        | the same; in a guest they are empty         |
//   | 72      | dmon's and pmon's check that   | (nvmlDevice_t, unsigned* out, nvmlDevice_t, |
//   |         | they can sample the device     |  1); 0: "Not supported on the device(s)"    |
//   | 145     | pmon's per-process samples     | (nvmlDevice_t, microseconds since, ...)     |
//   | 230     | the host's max PCIe generation | (nvmlDevice_t, unsigned* out); none: N/A    |
//
// Every other slot is answered by not_known() below.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <utility>

#include <sys/mman.h>
#include <unistd.h>

#include "guest/nvml/nvml_state.h"
#include "guest/nvml/process_list.h"
#include "guest/nvml/unsupported.h"

using namespace vgpu;

namespace {

// The table's id as nvidia-smi passes it, a GUID in its in-memory layout:
// 6c3efec4-8fc9-4e6c-a327-ee696e12f7c4.
constexpr std::array<uint8_t, 16> kSmiTableId = {0xc4, 0xfe, 0x3e, 0x6c, 0xc9, 0x8f, 0x6c, 0x4e,
                                                 0xa3, 0x27, 0xee, 0x69, 0x6e, 0x12, 0xf7, 0xc4};

constexpr unsigned kSlots = 511;
constexpr unsigned kToolLogSlot = 26;
constexpr unsigned kHandleByIndexSlot = 81;
constexpr unsigned kComputeProcessesSlot = 213;
constexpr unsigned kLastProcessesSlot = 215;
constexpr unsigned kSamplingCheckSlot = 72;
constexpr unsigned kProcessSamplesSlot = 145;
constexpr unsigned kHostMaxLinkGenSlot = 230;

// One process of the private list: the public nvmlProcessDetail_v1_t's numbers, then the
// process's name inline. nvidia-smi leaves a process out of its table when the name is empty.
struct SmiProcessEntry {
  uint32_t pid;
  uint32_t reserved;
  unsigned long long usedGpuMemory;
  uint32_t gpuInstanceId;
  uint32_t computeInstanceId;
  unsigned long long usedGpuCcProtectedMemory;
  char name[4096];
};
static_assert(offsetof(SmiProcessEntry, usedGpuMemory) == 8);
static_assert(offsetof(SmiProcessEntry, gpuInstanceId) == 16);
static_assert(offsetof(SmiProcessEntry, computeInstanceId) == 20);
static_assert(offsetof(SmiProcessEntry, name) == 32);
static_assert(sizeof(SmiProcessEntry) == 4128);

// Slots are called with up to four register arguments whose types depend on the slot; each
// entry point reads only what its slot passes.
using Word = uintptr_t;
using SlotEntry = nvmlReturn_t (*)(Word, Word, Word, Word);

// Whether `a` can be a pointer to an unsigned the caller passed: aligned, and in a mapping of
// this process. A slot's second argument is not always one (pmon's sample call passes a
// timestamp there), and writing through a number that is not would crash the caller.
bool mapped_word(Word a) {
  if (a == 0 || a % alignof(unsigned) != 0) return false;
  const auto page = static_cast<Word>(sysconf(_SC_PAGESIZE));
  unsigned char resident = 0;
  return mincore(reinterpret_cast<void*>(a - a % page), 1, &resident) == 0;
}

// A slot vgpu does not know. nvidia-smi stops at the first error an internal call returns
// ("Internal NVML error"), where a public call's error only shows as N/A, so the slot answers
// success and reports nothing: for a call about one of the guest's devices with a count or value
// to fill (the device, then where the answer goes), a zero. Named once at debug level with its
// arguments, for whoever teaches vgpu the next one.
nvmlReturn_t not_known(unsigned slot, Word a0, Word a1, Word a2, Word a3) {
  static std::array<std::atomic<bool>, kSlots + 1> said{};
  char name[160];
  std::snprintf(name, sizeof name, "nvmlInternalGetExportTable_slot%u (%#lx %#lx %#lx %#lx)", slot,
                static_cast<unsigned long>(a0), static_cast<unsigned long>(a1), static_cast<unsigned long>(a2),
                static_cast<unsigned long>(a3));
  (void)nvml::unsupported_call(name, &said[slot]);
  uint32_t index = 0;
  if (nvml::index_of(reinterpret_cast<nvmlDevice_t>(a0), &index) == NVML_SUCCESS && mapped_word(a1))
    *reinterpret_cast<unsigned*>(a1) = 0;
  return NVML_SUCCESS;
}

nvmlReturn_t answer(unsigned slot, Word a0, Word a1, Word a2, Word a3) {
  if (slot == kHandleByIndexSlot)
    return nvmlDeviceGetHandleByIndex_v2(static_cast<unsigned>(a0), reinterpret_cast<nvmlDevice_t*>(a1));
  if (slot >= kComputeProcessesSlot && slot <= kLastProcessesSlot)
    return nvml::processes(reinterpret_cast<nvmlDevice_t>(a0), reinterpret_cast<unsigned*>(a1),
                           reinterpret_cast<SmiProcessEntry*>(a2), slot != kComputeProcessesSlot);
  if (slot == kToolLogSlot) return NVML_SUCCESS;
  // A guest's GPU sits on no PCIe link of the guest's: as NVIDIA's library answers for a GPU
  // whose host side it cannot read (nvidia-smi -q shows "Host Max: N/A").
  if (slot == kHostMaxLinkGenSlot) return NVML_ERROR_NOT_SUPPORTED;
  // The guest's devices can be sampled: dmon then asks the public calls, which answer the
  // tenant's utilization and N/A for the host's sensors.
  if (slot == kSamplingCheckSlot) {
    uint32_t index = 0;
    if (nvml::index_of(reinterpret_cast<nvmlDevice_t>(a0), &index) != NVML_SUCCESS) return NVML_ERROR_INVALID_ARGUMENT;
    if (!mapped_word(a1)) return NVML_ERROR_INVALID_ARGUMENT;
    *reinterpret_cast<unsigned*>(a1) = 1;
    return NVML_SUCCESS;
  }
  // Per-process samples in a layout vgpu does not know yet: refused, as for a GPU without them.
  if (slot == kProcessSamplesSlot) return NVML_ERROR_NOT_SUPPORTED;
  return not_known(slot, a0, a1, a2, a3);
}

template <unsigned Slot>
nvmlReturn_t slot_entry(Word a0, Word a1, Word a2, Word a3) {
  return answer(Slot, a0, a1, a2, a3);
}

// A distinct function per slot, so that each knows which slot it was called as.
struct Table {
  uint64_t size;
  std::array<SlotEntry, kSlots> slots;
};

template <size_t... I>
constexpr Table make_table(std::index_sequence<I...>) {
  return Table{sizeof(Table), {&slot_entry<static_cast<unsigned>(I + 1)>...}};
}
const Table kSmiTable = make_table(std::make_index_sequence<kSlots>{});
static_assert(sizeof(Table) == 4096);

}  // namespace

VGPU_NVML_API nvmlReturn_t nvmlInternalGetExportTable(const void** table, const void* id) {
  if (table == nullptr || id == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (std::memcmp(id, kSmiTableId.data(), kSmiTableId.size()) != 0) {
    static std::atomic<bool> said{false};
    return static_cast<nvmlReturn_t>(nvml::unsupported_call("nvmlInternalGetExportTable (another table)", &said));
  }
  *table = &kSmiTable;
  return NVML_SUCCESS;
}

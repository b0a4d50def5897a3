// NVIDIA's runtime (cudart 12 and 13) checks that the driver it loaded is NVIDIA's: through
// the INTEGRITY_CHECK export table (export_tables.h) it asks the driver for a 16-byte answer
// derived from the process, the tables the driver handed out and the devices, recomputes it,
// and fails every runtime call with cudaErrorSoftwareValidityNotEstablished (103) on a
// mismatch. Everything that goes in is what the guest sees (its pid and thread, its table
// addresses, the version and device identities this shim reports), so the answer is computed
// here, with no round trip to vgpud.
//
// The construction (facts from the issue 13 research notes, section 4; verified against
// cudart 13.0.96): for version % 10 == 0 and == 1 two fixed answers; otherwise an HMAC built
// on MD2 (md2.h) with a 16-byte key over a 48-byte message and 28 bytes per device.
#pragma once
#include <cuda.h>

#include <array>
#include <cstdint>
#include <span>

#include "guest/cuda/device_snapshot.h"

namespace vgpu::cuda {

// One device as the check sees it: what cuDeviceGetUuid and cuDeviceGetAttribute report.
struct IntegrityDevice {
  std::array<uint8_t, 16> uuid{};
  int32_t pci_domain = 0;  // CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID
  int32_t pci_bus = 0;     // CU_DEVICE_ATTRIBUTE_PCI_BUS_ID
  int32_t pci_device = 0;  // CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID
};

// Everything the answer depends on, so that computing it is a pure function.
struct IntegrityInputs {
  uint32_t driver_version = 0;          // what cuDriverGetVersion reports
  uint32_t version = 0;                 // the caller's argument: its runtime version + 0, 1 or 2
  uint32_t pid = 0;                     // getpid()
  uint32_t thread = 0;                  // low 32 bits of the calling thread's pthread_self()
  uint64_t cudart_interface_table = 0;  // address of the CUDART_INTERFACE table handed out
  uint64_t integrity_table = 0;         // address of the INTEGRITY_CHECK table handed out
  uint64_t integrity_function = 0;      // that table's slot 1, as stored in it
  uint64_t unix_seconds = 0;            // the caller's argument
  std::span<const IntegrityDevice> devices;  // every device cuDeviceGetCount counts, in order
};

// The 16-byte answer as the two 64-bit words the caller's buffer holds.
using IntegrityAnswer = std::array<uint64_t, 2>;

// The answer for `in`; pure.
IntegrityAnswer integrity_answer(const IntegrityInputs& in) noexcept;

// The device's identity as the shim reports it; an attribute the snapshot lacks counts as 0,
// as cuDeviceGetPCIBusId treats it.
IntegrityDevice integrity_device(const DeviceSnapshot& device) noexcept;

// The tables export_tables.cpp handed out, which the answer covers.
struct IntegrityTables {
  const void* cudart_interface = nullptr;
  const void* integrity = nullptr;
  const void* integrity_function = nullptr;
};

// INTEGRITY_CHECK slot 1's work: gathers the inputs from this process and the driver state,
// and writes the answer to out[0..1]. CUDA_ERROR_INVALID_VALUE for a null `out`.
CUresult answer_integrity_check(uint32_t version, uint64_t unix_seconds, uint64_t* out,
                                const IntegrityTables& tables) noexcept;

}  // namespace vgpu::cuda

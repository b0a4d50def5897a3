// The host's NVML, as a channel worker uses it:
//
// - How much GPU memory this process holds on a device, as the driver counts it: NVML's
//   per-process figure (what nvidia-smi shows per process). The executor reads it before and
//   after a module load, because a module's `__device__` and `__constant__` variables take GPU
//   memory that no allocation call names and that the driver cannot enumerate: a 2 KB image can
//   declare a 1 GiB array. Measured on an H200 (driver 580): the memory is taken at
//   cuModuleLoadData, whatever CUDA_MODULE_LOADING says, compressed or not, and is visible to
//   NVML at once, in 2 MiB steps; a reading costs about 20 µs. A channel worker serves one guest
//   process and only its executor thread calls the driver, so the difference between two
//   readings is what the call in between made the GPU hold.
// - How busy the tenant keeps a GPU (TENANT_STATUS, for the guest's NVML): NVML's per-process
//   SM and memory utilization of the tenant's own channel workers, summed. Every other process
//   on the GPU, another tenant's included, is left out, so the figure tells a guest nothing
//   about anyone else's load.
//
// NVML is looked for beside the CUDA driver (libnvidia-ml.so.1 in the same directory when
// vgpud.driver is a path; by soname otherwise): the NVIDIA driver installs the two together,
// and tests find test/fake-cuda's stand-in there.
#pragma once
#include <cuda.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vgpu/common/result.h"
#include "vgpud/executor/cuda_driver.h"

namespace vgpud {

// One process's recent utilization of a GPU, as NVML samples it (percent).
struct ProcessUtilizationSample {
  uint32_t pid = 0;
  uint64_t timestamp_us = 0;
  uint32_t sm = 0;
  uint32_t memory = 0;
};

struct Utilization {
  uint32_t sm = 0;      // percent of the time a kernel of the tenant ran
  uint32_t memory = 0;  // percent of the time the tenant's work read or wrote device memory
};

// The tenant's utilization from NVML's samples: each of `pids`' latest sample, summed, at most
// 100; processes not in `pids` count nothing.
Utilization tenant_utilization(std::span<const ProcessUtilizationSample> samples, std::span<const uint32_t> pids);

class HostNvml {
 public:
  // Loads NVML and finds the NVML handle of each device (by UUID). An error says in one
  // sentence why NVML cannot be asked.
  static vgpu::Result<HostNvml, std::string> open(const std::string& driver_path, const CudaDriver& cu,
                                                  const std::vector<CUdevice>& devices);

  // Bytes this process holds on the guest's device `device` (an index into `devices`); none
  // when NVML could not say, or does not list this process (call it with a context on the
  // device: NVML lists only processes that have one; a vgpud in a PID namespace of its own is
  // never listed, and its module memory is then unmeasurable rather than silently 0).
  [[nodiscard]] std::optional<uint64_t> bytes_on(uint32_t device) const;

  // The utilization of `device` by the processes `pids` (host pids: the tenant's channel
  // workers) over about the last second; none when NVML does not sample it on this GPU.
  [[nodiscard]] std::optional<Utilization> utilization_on(uint32_t device, std::span<const uint32_t> pids) const;

  // Where NVML is looked for, given vgpud.driver.
  static std::string library_path(const std::string& driver_path);

 private:
  struct Api;
  HostNvml(const Api* api, std::vector<void*> handles) : api_(api), handles_(std::move(handles)) {}

  const Api* api_;
  std::vector<void*> handles_;  // nvmlDevice_t per guest device
};

}  // namespace vgpud

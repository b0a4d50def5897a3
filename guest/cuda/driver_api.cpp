// Initialization, the driver's version, and the private export tables.
#include "guest/cuda/api.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/export_tables.h"

using namespace vgpu::cuda;

VGPU_DRIVER_API CUresult cuInit(unsigned int flags) {
  if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
  return guarded([] { return initialize(); });
}

VGPU_DRIVER_API CUresult cuDriverGetVersion(int* version) {
  if (version == nullptr) return CUDA_ERROR_INVALID_VALUE;
  // Answered before cuInit too, as the driver does: a runtime asks it first. The answer
  // depends on vgpud's driver, so the channel is opened now; the version must not change
  // after, as the runtime's integrity check hashes it (integrity.h).
  return guarded([&] {
    (void)initialize();
    *version = reported_driver_version();
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuGetExportTable(const void** table, const CUuuid* id) {
  if (table == nullptr || id == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] { return get_export_table(table, id); });
}

// A profiler attached to the guest process cannot see vgpud's GPU work, so there is nothing to
// start or stop; succeeding keeps programs that bracket their work with these running, as
// they do natively without a profiler attached.
VGPU_DRIVER_API CUresult cuProfilerStart() { return init_status(); }
VGPU_DRIVER_API CUresult cuProfilerStop() { return init_status(); }
VGPU_DRIVER_API CUresult cuProfilerInitialize(const char*, const char*, int /* CUoutput_mode */) { return init_status(); }

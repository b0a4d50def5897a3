#include "vgpud/core/gpu_names.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>

namespace vgpud {

std::string format_uuid(const CUuuid& u) {
  const auto* b = reinterpret_cast<const unsigned char*>(u.bytes);
  char s[64];
  std::snprintf(s, sizeof s,
                "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
                b[14], b[15]);
  return s;
}

vgpu::Result<int, std::string> resolve_gpu(const CudaDriver& cu, const std::string& gpu) {
  int count = 0;
  cu.cuDeviceGetCount(&count);
  const bool is_index = !gpu.empty() && std::all_of(gpu.begin(), gpu.end(), ::isdigit);
  if (is_index) {
    const long index = std::strtol(gpu.c_str(), nullptr, 10);
    CUdevice dev;
    if (index >= count || cu.cuDeviceGet(&dev, static_cast<int>(index)) != CUDA_SUCCESS)
      return vgpu::Err{"GPU " + gpu + " does not exist (this host has " + std::to_string(count) +
                       ")"};
    return static_cast<int>(index);
  }
  for (int i = 0; i < count; ++i) {
    CUdevice dev;
    CUuuid uuid;
    if (cu.cuDeviceGet(&dev, i) == CUDA_SUCCESS && cu.cuDeviceGetUuid(&uuid, dev) == CUDA_SUCCESS &&
        format_uuid(uuid) == gpu)
      return i;
  }
  return vgpu::Err{"no GPU with UUID " + gpu + " on this host (nvidia-smi -L lists them)"};
}

std::string describe_gpus(const CudaDriver& cu, const std::vector<int>& ordinals) {
  std::string out;
  for (int ordinal : ordinals) {
    CUdevice dev;
    CUuuid uuid;
    if (!out.empty()) out += ", ";
    out += "GPU " + std::to_string(ordinal);
    if (cu.cuDeviceGet(&dev, ordinal) == CUDA_SUCCESS && cu.cuDeviceGetUuid(&uuid, dev) == CUDA_SUCCESS)
      out += " (" + format_uuid(uuid) + ")";
  }
  return out;
}

}  // namespace vgpud

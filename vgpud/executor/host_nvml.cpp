#include "vgpud/executor/host_nvml.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>

namespace vgpud {

// The few NVML declarations used here, as nvml.h (NVIDIA's stable C ABI) has them; the CUDA
// toolkit vgpud builds against does not always ship the header.
struct HostNvml::Api {
  struct ProcessInfo {  // nvmlProcessInfo_t, as filled by nvmlDeviceGetComputeRunningProcesses_v3
    unsigned int pid;
    unsigned long long used_gpu_memory;
    unsigned int gpu_instance_id;
    unsigned int compute_instance_id;
  };
  struct UtilizationSample {  // nvmlProcessUtilizationSample_t
    unsigned int pid;
    unsigned long long time_stamp;
    unsigned int sm_util;
    unsigned int mem_util;
    unsigned int enc_util;
    unsigned int dec_util;
  };
  static_assert(sizeof(UtilizationSample) == 32);
  static constexpr int kSuccess = 0;
  static constexpr int kNotFound = 6;
  static constexpr int kInsufficientSize = 7;
  static constexpr unsigned long long kValueNotAvailable = ~0ull;

  int (*init)();                                              // nvmlInit_v2
  int (*handle_by_uuid)(const char*, void**);                 // nvmlDeviceGetHandleByUUID
  int (*compute_processes)(void*, unsigned int*, ProcessInfo*);  // ..._v3
  // nvmlDeviceGetProcessUtilization; null when this NVML lacks it
  int (*process_utilization)(void*, UtilizationSample*, unsigned int*, unsigned long long);
};

std::string HostNvml::library_path(const std::string& driver_path) {
  const auto slash = driver_path.rfind('/');
  if (slash == std::string::npos) return "libnvidia-ml.so.1";
  return driver_path.substr(0, slash + 1) + "libnvidia-ml.so.1";
}

vgpu::Result<HostNvml, std::string> HostNvml::open(
    const std::string& driver_path, const CudaDriver& cu, const std::vector<CUdevice>& devices) {
  const std::string path = library_path(driver_path);
  // Loaded once per process and never closed: it serves the worker as long as it lives.
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) return vgpu::Err{fmt::format("NVML ({}) could not be loaded", path)};
  static Api api{};
  api.init = reinterpret_cast<int (*)()>(dlsym(lib, "nvmlInit_v2"));
  api.handle_by_uuid = reinterpret_cast<int (*)(const char*, void**)>(dlsym(lib, "nvmlDeviceGetHandleByUUID"));
  api.compute_processes = reinterpret_cast<int (*)(void*, unsigned int*, Api::ProcessInfo*)>(
      dlsym(lib, "nvmlDeviceGetComputeRunningProcesses_v3"));
  api.process_utilization = reinterpret_cast<int (*)(void*, Api::UtilizationSample*, unsigned int*,
                                                     unsigned long long)>(dlsym(lib, "nvmlDeviceGetProcessUtilization"));
  if (api.init == nullptr || api.handle_by_uuid == nullptr || api.compute_processes == nullptr)
    return vgpu::Err{fmt::format("NVML ({}) lacks per-process memory queries", path)};
  if (int r = api.init(); r != Api::kSuccess)
    return vgpu::Err{fmt::format("NVML ({}) failed to initialize (error {})", path, r)};

  std::vector<void*> handles;
  for (CUdevice dev : devices) {
    CUuuid id{};
    if (cu.cuDeviceGetUuid(&id, dev) != CUDA_SUCCESS)
      return vgpu::Err{std::string("the driver did not report a GPU's UUID")};
    const auto* b = reinterpret_cast<const unsigned char*>(id.bytes);
    const std::string uuid = fmt::format(
        "GPU-{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    void* handle = nullptr;
    if (api.handle_by_uuid(uuid.c_str(), &handle) != Api::kSuccess)
      return vgpu::Err{fmt::format("NVML does not know {}", uuid)};
    handles.push_back(handle);
  }
  return HostNvml(&api, std::move(handles));
}

Utilization tenant_utilization(std::span<const ProcessUtilizationSample> samples, std::span<const uint32_t> pids) {
  std::map<uint32_t, const ProcessUtilizationSample*> latest;
  for (const ProcessUtilizationSample& s : samples) {
    if (std::find(pids.begin(), pids.end(), s.pid) == pids.end()) continue;
    const ProcessUtilizationSample*& l = latest[s.pid];
    if (l == nullptr || s.timestamp_us > l->timestamp_us) l = &s;
  }
  Utilization u;
  for (const auto& [pid, s] : latest) {
    u.sm += std::min<uint32_t>(s->sm, 100);
    u.memory += std::min<uint32_t>(s->memory, 100);
  }
  u.sm = std::min<uint32_t>(u.sm, 100);
  u.memory = std::min<uint32_t>(u.memory, 100);
  return u;
}

std::optional<Utilization> HostNvml::utilization_on(uint32_t device, std::span<const uint32_t> pids) const {
  if (device >= handles_.size() || api_->process_utilization == nullptr) return std::nullopt;
  // Samples of the last second (NVML samples every 1/6 s to 1 s, by GPU).
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  const auto since = static_cast<unsigned long long>(now.count()) - 1'000'000ull;
  std::vector<Api::UtilizationSample> raw(64);
  unsigned int count = 0;
  bool read = false;
  for (int attempt = 0; attempt < 4 && !read; ++attempt) {
    count = static_cast<unsigned int>(raw.size());
    const int r = api_->process_utilization(handles_[device], raw.data(), &count, since);
    if (r == Api::kNotFound) return Utilization{};  // no process ran anything in that second
    read = r == Api::kSuccess;
    // More processes than room: ask again with the room NVML said it needs, plus some.
    if (!read && r != Api::kInsufficientSize) return std::nullopt;
    if (!read) raw.resize(static_cast<size_t>(count) + 16);
  }
  if (!read) return std::nullopt;
  std::vector<ProcessUtilizationSample> samples;
  for (unsigned int i = 0; i < count && i < raw.size(); ++i)
    samples.push_back({raw[i].pid, raw[i].time_stamp, raw[i].sm_util, raw[i].mem_util});
  return tenant_utilization(samples, pids);
}

std::optional<uint64_t> HostNvml::bytes_on(uint32_t device) const {
  if (device >= handles_.size()) return std::nullopt;
  std::vector<Api::ProcessInfo> processes(16);
  unsigned int count = 0;
  bool read = false;
  for (int attempt = 0; attempt < 4 && !read; ++attempt) {
    count = static_cast<unsigned int>(processes.size());
    const int r = api_->compute_processes(handles_[device], &count, processes.data());
    read = r == Api::kSuccess;
    // More processes than room: ask again with the room NVML said it needs (plus some, for
    // processes that start meanwhile).
    if (!read && r != Api::kInsufficientSize) return std::nullopt;
    if (!read) processes.resize(static_cast<size_t>(count) + 16);
  }
  if (!read) return std::nullopt;
  const auto self = static_cast<unsigned int>(getpid());
  for (unsigned int i = 0; i < count && i < processes.size(); ++i) {
    if (processes[i].pid != self) continue;
    if (processes[i].used_gpu_memory == Api::kValueNotAvailable) return std::nullopt;
    return processes[i].used_gpu_memory;
  }
  // Not listed: NVML speaks of host pids, so this process runs in a PID namespace of its own
  // (the caller holds a context on the device, which NVML would otherwise list).
  return std::nullopt;
}

}  // namespace vgpud

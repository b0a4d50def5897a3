// The host's NVIDIA driver release and NVML version, as the host's NVML reports them, read once
// when vgpud starts and passed to each channel worker: the guest's NVML answers
// nvmlSystemGetDriverVersion and nvmlSystemGetNVMLVersion with them (TENANT_STATUS), because
// NVIDIA's nvidia-smi refuses an NVML whose version is not its own, and a guest's tools were
// installed for the host's driver.
#pragma once
#include <string>

namespace vgpud {

struct HostVersions {
  std::string driver_release;  // "580.159.04"; empty when unknown
  std::string nvml_version;    // "13.580.159.04"; empty when unknown
};

// Asks the NVML beside the CUDA driver (HostNvml::library_path). Without NVML the
// driver release comes from the kernel module (/sys/module/nvidia/version) and the NVML
// version stays unknown; nothing here fails vgpud.
HostVersions read_host_versions(const std::string& driver_path);

}  // namespace vgpud

// Finding the tenant's devices and what they are: everything from the device's facts
// (DEVICE_GET_INFO, fetched once), so none of these makes a context on the host.
#include <cuda.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>

#include <strings.h>

#include "guest/nvml/nvml_state.h"

using namespace vgpu;

namespace {

nvmlReturn_t count(unsigned int* n) {
  if (n == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (nvmlReturn_t r = nvml::require_init(); r != NVML_SUCCESS) return r;
  *n = nvml::device_count();
  return NVML_SUCCESS;
}

nvmlReturn_t by_index(unsigned int index, nvmlDevice_t* device) {
  if (device == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (nvmlReturn_t r = nvml::require_init(); r != NVML_SUCCESS) return r;
  if (index >= nvml::device_count()) return NVML_ERROR_INVALID_ARGUMENT;
  *device = nvml::handle_of(index);
  return NVML_SUCCESS;
}

struct PciAddress {
  unsigned domain = 0, bus = 0, device = 0;
};

PciAddress pci_address(const proto::DeviceGetInfoReply& info) {
  return {static_cast<unsigned>(nvml::attribute(info, CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID)),
          static_cast<unsigned>(nvml::attribute(info, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID)),
          static_cast<unsigned>(nvml::attribute(info, CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID))};
}

// Parses "dddd:bb:dd.f", "dddddddd:bb:dd.f" or "bb:dd.f" (domain 0), hexadecimal, any case, as
// NVML accepts a bus id.
bool parse_bus_id(const char* text, PciAddress* out) {
  unsigned a = 0, b = 0, c = 0, f = 0;
  char tail = 0;
  if (std::sscanf(text, "%x:%x:%x.%x%c", &a, &b, &c, &f, &tail) == 4) {
    *out = {a, b, c};
    return true;
  }
  if (std::sscanf(text, "%x:%x.%x%c", &b, &c, &f, &tail) == 3) {
    *out = {0, b, c};
    return true;
  }
  return false;
}

nvmlReturn_t by_bus_id(const char* text, nvmlDevice_t* device) {
  if (text == nullptr || device == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (nvmlReturn_t r = nvml::require_init(); r != NVML_SUCCESS) return r;
  PciAddress want;
  if (!parse_bus_id(text, &want)) return NVML_ERROR_INVALID_ARGUMENT;
  for (uint32_t d = 0; d < nvml::device_count(); ++d) {
    const proto::DeviceGetInfoReply* info = nullptr;
    if (nvmlReturn_t r = nvml::facts_of(nvml::handle_of(d), &info); r != NVML_SUCCESS) return r;
    const PciAddress have = pci_address(*info);
    if (have.domain == want.domain && have.bus == want.bus && have.device == want.device) {
      *device = nvml::handle_of(d);
      return NVML_SUCCESS;
    }
  }
  return NVML_ERROR_NOT_FOUND;
}

// The fields nvmlPciInfo_t and nvmlPciInfoExt_t share: the GPU's address on the host's bus and
// its own ids (device << 16 | vendor), where the driver reports them (CUDA 12.8+).
template <typename Pci>
void fill_pci(const proto::DeviceGetInfoReply& info, Pci* pci) {
  const PciAddress a = pci_address(info);
  pci->domain = a.domain;
  pci->bus = a.bus;
  pci->device = a.device;
  pci->pciDeviceId = static_cast<unsigned>(nvml::attribute(info, CU_DEVICE_ATTRIBUTE_GPU_PCI_DEVICE_ID));
  pci->pciSubSystemId = static_cast<unsigned>(nvml::attribute(info, CU_DEVICE_ATTRIBUTE_GPU_PCI_SUBSYSTEM_ID));
  std::snprintf(pci->busId, sizeof pci->busId, "%08X:%02X:%02X.0", a.domain, a.bus & 0xff, a.device & 0xff);
}

nvmlReturn_t pci_info(nvmlDevice_t device, nvmlPciInfo_t* pci) {
  if (pci == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  const proto::DeviceGetInfoReply* info = nullptr;
  if (nvmlReturn_t r = nvml::facts_of(device, &info); r != NVML_SUCCESS) return r;
  std::memset(pci, 0, sizeof *pci);
  fill_pci(*info, pci);
  const PciAddress a = pci_address(*info);
  std::snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "%04X:%02X:%02X.0", a.domain & 0xffff, a.bus & 0xff,
                a.device & 0xff);
  return NVML_SUCCESS;
}

// A device fact read as one value.
template <typename Out, typename Fn>
nvmlReturn_t fact(nvmlDevice_t device, Out* out, Fn&& fn) {
  if (out == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  const proto::DeviceGetInfoReply* info = nullptr;
  uint32_t index = 0;
  if (nvmlReturn_t r = nvml::facts_of(device, &info, &index); r != NVML_SUCCESS) return r;
  return fn(*info, index, out);
}

// A fact of every device a guest has through vgpu, whatever its GPU.
template <typename Out>
nvmlReturn_t fixed_fact(nvmlDevice_t device, Out* out, std::type_identity_t<Out> value) {
  return fact(device, out, [value](const proto::DeviceGetInfoReply&, uint32_t, Out* o) {
    *o = value;
    return NVML_SUCCESS;
  });
}

unsigned architecture(int major, int minor) {
  switch (major) {
    case 3: return NVML_DEVICE_ARCH_KEPLER;
    case 5: return NVML_DEVICE_ARCH_MAXWELL;
    case 6: return NVML_DEVICE_ARCH_PASCAL;
    case 7: return minor >= 5 ? NVML_DEVICE_ARCH_TURING : NVML_DEVICE_ARCH_VOLTA;
    case 8: return minor == 9 ? NVML_DEVICE_ARCH_ADA : NVML_DEVICE_ARCH_AMPERE;
    case 9: return NVML_DEVICE_ARCH_HOPPER;
    case 10:
    case 12: return NVML_DEVICE_ARCH_BLACKWELL;
    default: return NVML_DEVICE_ARCH_UNKNOWN;
  }
}

// CUDA cores per SM by compute capability (the CUDA programming guide's throughput table).
unsigned cores_per_sm(int major, int minor) {
  switch (major) {
    case 3: return 192;
    case 5: return 128;
    case 6: return minor == 0 ? 64 : 128;
    case 7: return 64;
    case 8: return minor == 0 ? 64 : 128;
    case 9:
    case 10:
    case 12: return 128;
    default: return 0;
  }
}

int cc_major(const proto::DeviceGetInfoReply& i) {
  return nvml::attribute(i, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
}
int cc_minor(const proto::DeviceGetInfoReply& i) {
  return nvml::attribute(i, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
}

}  // namespace

VGPU_NVML_API nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* n) { return count(n); }
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetCount(unsigned int* n) { return count(n); }
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t* d) { return by_index(i, d); }
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int i, nvmlDevice_t* d) { return by_index(i, d); }
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char* id, nvmlDevice_t* d) { return by_bus_id(id, d); }
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetHandleByPciBusId(const char* id, nvmlDevice_t* d) { return by_bus_id(id, d); }

VGPU_NVML_API nvmlReturn_t nvmlDeviceGetHandleByUUID(const char* uuid, nvmlDevice_t* device) {
  if (uuid == nullptr || device == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (nvmlReturn_t r = nvml::require_init(); r != NVML_SUCCESS) return r;
  return nvml::guarded([&] {
    for (uint32_t d = 0; d < nvml::device_count(); ++d) {
      const proto::DeviceGetInfoReply* info = nullptr;
      if (nvmlReturn_t r = nvml::facts_of(nvml::handle_of(d), &info); r != NVML_SUCCESS) return r;
      if (strcasecmp(guest::format_gpu_uuid(info->uuid).c_str(), uuid) == 0) {
        *device = nvml::handle_of(d);
        return NVML_SUCCESS;
      }
    }
    return NVML_ERROR_NOT_FOUND;
  });
}

VGPU_NVML_API nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t device, unsigned int* index) {
  if (index == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  uint32_t d = 0;
  if (nvmlReturn_t r = nvml::index_of(device, &d); r != NVML_SUCCESS) return r;
  *index = d;
  return NVML_SUCCESS;
}

// The guest's device index: a guest has no /dev/nvidiaN of its own to name.
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetMinorNumber(nvmlDevice_t device, unsigned int* minor) {
  return nvmlDeviceGetIndex(device, minor);
}

VGPU_NVML_API nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char* name, unsigned int length) {
  const proto::DeviceGetInfoReply* info = nullptr;
  if (nvmlReturn_t r = nvml::facts_of(device, &info); r != NVML_SUCCESS) return r;
  return nvml::copy_string(info->name, name, length);
}

VGPU_NVML_API nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char* uuid, unsigned int length) {
  const proto::DeviceGetInfoReply* info = nullptr;
  if (nvmlReturn_t r = nvml::facts_of(device, &info); r != NVML_SUCCESS) return r;
  return nvml::guarded([&] { return nvml::copy_string(guest::format_gpu_uuid(info->uuid).c_str(), uuid, length); });
}

VGPU_NVML_API nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t d, nvmlPciInfo_t* p) { return pci_info(d, p); }
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetPciInfo_v2(nvmlDevice_t d, nvmlPciInfo_t* p) { return pci_info(d, p); }
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetPciInfo(nvmlDevice_t d, nvmlPciInfo_t* p) { return pci_info(d, p); }

// nvidia-smi -q's PCI section. The class is a 3D controller (0x03/0x02): a display controller
// that drives no display, which is what a guest's GPU is (nvmlDeviceGetDisplayMode below).
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetPciInfoExt(nvmlDevice_t device, nvmlPciInfoExt_t* pci) {
  if (pci == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  const proto::DeviceGetInfoReply* info = nullptr;
  if (nvmlReturn_t r = nvml::facts_of(device, &info); r != NVML_SUCCESS) return r;
  if (pci->version != nvmlPciInfoExt_v1) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
  std::memset(pci, 0, sizeof *pci);
  pci->version = nvmlPciInfoExt_v1;
  fill_pci(*info, pci);
  pci->baseClass = 0x3;
  pci->subClass = 0x2;
  return NVML_SUCCESS;
}

// The GPU reaches no pageable memory of the guest's (neither HMM nor ATS): vgpud's GPU cannot
// see a guest's page tables, and the shim reports no pageable memory access (device_snapshot.cpp).
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetAddressingMode(nvmlDevice_t device, nvmlDeviceAddressingMode_t* mode) {
  if (mode == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  const proto::DeviceGetInfoReply* info = nullptr;
  if (nvmlReturn_t r = nvml::facts_of(device, &info); r != NVML_SUCCESS) return r;
  if (mode->version != nvmlDeviceAddressingMode_v1) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
  mode->value = NVML_DEVICE_ADDRESSING_MODE_NONE;
  return NVML_SUCCESS;
}

VGPU_NVML_API nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t device, int* major, int* minor) {
  if (major == nullptr || minor == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  return fact(device, major, [&](const proto::DeviceGetInfoReply& i, uint32_t, int* out) {
    *out = cc_major(i);
    *minor = cc_minor(i);
    return NVML_SUCCESS;
  });
}

VGPU_NVML_API nvmlReturn_t nvmlDeviceGetArchitecture(nvmlDevice_t device, nvmlDeviceArchitecture_t* arch) {
  return fact(device, arch, [](const proto::DeviceGetInfoReply& i, uint32_t, nvmlDeviceArchitecture_t* out) {
    *out = architecture(cc_major(i), cc_minor(i));
    return NVML_SUCCESS;
  });
}

VGPU_NVML_API nvmlReturn_t nvmlDeviceGetNumGpuCores(nvmlDevice_t device, unsigned int* cores) {
  return fact(device, cores, [](const proto::DeviceGetInfoReply& i, uint32_t, unsigned int* out) {
    const unsigned per_sm = cores_per_sm(cc_major(i), cc_minor(i));
    if (per_sm == 0) return NVML_ERROR_NOT_SUPPORTED;
    *out = per_sm * static_cast<unsigned>(nvml::attribute(i, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT));
    return NVML_SUCCESS;
  });
}

// The most the GPU runs at, from the driver's attributes (kHz): the SM and graphics clocks
// are one on data-center GPUs; video clocks are not reported.
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetMaxClockInfo(nvmlDevice_t device, nvmlClockType_t type, unsigned int* mhz) {
  return fact(device, mhz, [type](const proto::DeviceGetInfoReply& i, uint32_t, unsigned int* out) {
    int khz = 0;
    if (type == NVML_CLOCK_GRAPHICS || type == NVML_CLOCK_SM) khz = nvml::attribute(i, CU_DEVICE_ATTRIBUTE_CLOCK_RATE);
    else if (type == NVML_CLOCK_MEM) khz = nvml::attribute(i, CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE);
    if (khz <= 0) return NVML_ERROR_NOT_SUPPORTED;
    *out = static_cast<unsigned>(khz / 1000);
    return NVML_SUCCESS;
  });
}

VGPU_NVML_API nvmlReturn_t nvmlDeviceGetBrand(nvmlDevice_t device, nvmlBrandType_t* brand) {
  return fixed_fact(device, brand, NVML_BRAND_NVIDIA);
}

// CUcomputemode and nvmlComputeMode_t share their values.
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetComputeMode(nvmlDevice_t device, nvmlComputeMode_t* mode) {
  return fact(device, mode, [](const proto::DeviceGetInfoReply& i, uint32_t, nvmlComputeMode_t* out) {
    *out = static_cast<nvmlComputeMode_t>(nvml::attribute(i, CU_DEVICE_ATTRIBUTE_COMPUTE_MODE));
    return NVML_SUCCESS;
  });
}

// vgpud keeps the GPU's driver state loaded for as long as it runs, as persistence mode does.
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetPersistenceMode(nvmlDevice_t device, nvmlEnableState_t* mode) {
  return fixed_fact(device, mode, NVML_FEATURE_ENABLED);
}

VGPU_NVML_API nvmlReturn_t nvmlDeviceGetEccMode(nvmlDevice_t device, nvmlEnableState_t* current,
                                                nvmlEnableState_t* pending) {
  if (pending == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  return fact(device, current, [&](const proto::DeviceGetInfoReply& i, uint32_t, nvmlEnableState_t* out) {
    *out = nvml::attribute(i, CU_DEVICE_ATTRIBUTE_ECC_ENABLED) != 0 ? NVML_FEATURE_ENABLED : NVML_FEATURE_DISABLED;
    *pending = *out;
    return NVML_SUCCESS;
  });
}

// A guest never sees MIG: its devices are whole GPUs of the host, or none.
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int* current, unsigned int* pending) {
  if (pending == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  return fact(device, current, [&](const proto::DeviceGetInfoReply&, uint32_t, unsigned int* out) {
    *out = NVML_DEVICE_MIG_DISABLE;
    *pending = NVML_DEVICE_MIG_DISABLE;
    return NVML_SUCCESS;
  });
}

// Nor can it make MIG devices, and no handle it holds is one.
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device, unsigned int* count) {
  return fixed_fact(device, count, 0);
}
VGPU_NVML_API nvmlReturn_t nvmlDeviceIsMigDeviceHandle(nvmlDevice_t device, unsigned int* is_mig) {
  return fixed_fact(device, is_mig, 0);
}

// No display is attached to a GPU a guest reaches through vgpu, nor initialized on it.
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetDisplayMode(nvmlDevice_t device, nvmlEnableState_t* mode) {
  return fixed_fact(device, mode, NVML_FEATURE_DISABLED);
}
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetDisplayActive(nvmlDevice_t device, nvmlEnableState_t* active) {
  return fixed_fact(device, active, NVML_FEATURE_DISABLED);
}

// What it is: a virtual GPU inside a guest, shared through the host.
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetVirtualizationMode(nvmlDevice_t device, nvmlGpuVirtualizationMode_t* mode) {
  return fixed_fact(device, mode, NVML_GPU_VIRTUALIZATION_MODE_VGPU);
}

// Asks the guest's libnvidia-ml.so.1 what a monitoring tool asks, and prints the answers as
// "key=value" lines for the test to read. With "hold" it then waits to be killed, so that the
// test can look at vgpud (and the fake driver) while an NVML-only process is attached. With
// "context" it first makes a CUDA context and allocates on device 0, as a framework does before
// it asks NVML.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <cuda.h>

#include "guest/nvml/nvml_abi.h"

// One of the stubs (nvml_abi.h declares only what vgpu answers): NVIDIA's prototype.
extern "C" nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor, unsigned int* temperature);
// NVIDIA's private table of entry points, which no header declares (guest/nvml/export_table.cpp).
extern "C" nvmlReturn_t nvmlInternalGetExportTable(const void** table, const void* id);


#define NVML_CHECK(call)                                                                       \
  do {                                                                                         \
    const nvmlReturn_t r_ = (call);                                                            \
    if (r_ != NVML_SUCCESS) {                                                                  \
      std::fprintf(stderr, "%s failed: %s (%d)\n", #call, nvmlErrorString(r_), static_cast<int>(r_)); \
      std::exit(1);                                                                            \
    }                                                                                          \
  } while (0)

namespace {

// nvidia-smi's table (6c3efec4-8fc9-4e6c-a327-ee696e12f7c4) and the slots it takes its device
// handles and its process list from, called as nvidia-smi calls them.
constexpr unsigned char kSmiTableId[16] = {0xc4, 0xfe, 0x3e, 0x6c, 0xc9, 0x8f, 0x6c, 0x4e,
                                           0xa3, 0x27, 0xee, 0x69, 0x6e, 0x12, 0xf7, 0xc4};
using SmiHandleByIndex = nvmlReturn_t (*)(unsigned int, nvmlDevice_t*, unsigned int);
using SmiProcessList = nvmlReturn_t (*)(nvmlDevice_t, unsigned int*, void*);
constexpr size_t kSmiProcessEntry = 4128;  // pid u32 at 0, memory u64 at 8, name at 32

void print_smi_view(unsigned int i, nvmlDevice_t device) {
  const void* table = nullptr;
  if (nvmlInternalGetExportTable(&table, kSmiTableId) != NVML_SUCCESS) {
    std::printf("smi_table=none\n");
    return;
  }
  const auto* words = static_cast<const uintptr_t*>(table);
  std::printf("smi_table_size=%llu\n", static_cast<unsigned long long>(words[0]));
  nvmlDevice_t by_table = nullptr;
  NVML_CHECK(reinterpret_cast<SmiHandleByIndex>(words[81])(i, &by_table, 0x22));
  std::printf("smi_handle %u=%d\n", i, by_table == device ? 1 : 0);
  static unsigned char entries[8 * kSmiProcessEntry];
  unsigned int n = 8;
  NVML_CHECK(reinterpret_cast<SmiProcessList>(words[213])(device, &n, entries));
  std::printf("smi_processes %u=%u\n", i, n);
  for (unsigned int p = 0; p < n && p < 8; ++p) {
    const unsigned char* e = entries + p * kSmiProcessEntry;
    uint32_t pid = 0;
    unsigned long long memory = 0;
    std::memcpy(&pid, e, sizeof pid);
    std::memcpy(&memory, e + 8, sizeof memory);
    std::printf("smi_process %u pid=%u memory=%llu name=%s\n", i, pid, memory, reinterpret_cast<const char*>(e + 32));
  }
  n = 8;
  NVML_CHECK(reinterpret_cast<SmiProcessList>(words[214])(device, &n, entries));
  std::printf("smi_other_processes %u=%u\n", i, n);
  using AnySlot = nvmlReturn_t (*)(uintptr_t, uintptr_t, uintptr_t, uintptr_t);
  std::printf("smi_unknown_slot=%d\n", static_cast<int>(reinterpret_cast<AnySlot>(words[5])(0, 0, 0, 0)));
  unsigned int value = 77;  // a query about the device that vgpu does not know: nothing to report
  const nvmlReturn_t unknown = reinterpret_cast<AnySlot>(words[232])(reinterpret_cast<uintptr_t>(device),
                                                                     reinterpret_cast<uintptr_t>(&value), 0, 0);
  std::printf("smi_unknown_device_slot=%d/%u\n", static_cast<int>(unknown), value);
  unsigned int gen = 77;  // the host's maximum PCIe link generation: none in a guest (N/A)
  const nvmlReturn_t host_max = reinterpret_cast<AnySlot>(words[230])(reinterpret_cast<uintptr_t>(device),
                                                                      reinterpret_cast<uintptr_t>(&gen), 0, 0);
  std::printf("smi_host_max_link_gen=%d/%u\n", static_cast<int>(host_max), gen);
  // dmon's and pmon's check that they can sample the device (device, out, device, 1), and pmon's
  // per-process samples, whose second argument is a timestamp, not a pointer.
  unsigned int can_sample = 0;
  const nvmlReturn_t check = reinterpret_cast<AnySlot>(words[72])(reinterpret_cast<uintptr_t>(device),
                                                                  reinterpret_cast<uintptr_t>(&can_sample),
                                                                  reinterpret_cast<uintptr_t>(device), 1);
  std::printf("smi_sampling=%d/%u\n", static_cast<int>(check), can_sample);
  const uintptr_t since_us = 0x661ab9bd51980;  // a time in microseconds, as pmon passes it
  unsigned int counts[2] = {5, 5};
  const nvmlReturn_t samples = reinterpret_cast<AnySlot>(words[145])(
      reinterpret_cast<uintptr_t>(device), since_us, reinterpret_cast<uintptr_t>(&counts[1]),
      reinterpret_cast<uintptr_t>(&counts[0]));
  std::printf("smi_process_samples=%d\n", static_cast<int>(samples));
  // An unknown slot about the device whose second argument is no pointer is answered, not
  // written through.
  const nvmlReturn_t not_pointer = reinterpret_cast<AnySlot>(words[233])(reinterpret_cast<uintptr_t>(device),
                                                                         since_us, 0, 0);
  std::printf("smi_unknown_slot_no_pointer=%d\n", static_cast<int>(not_pointer));
}

}  // namespace

int main(int argc, char** argv) {
  bool hold = false, context = false;
  for (int i = 1; i < argc; ++i) {
    hold = hold || std::strcmp(argv[i], "hold") == 0;
    context = context || std::strcmp(argv[i], "context") == 0;
  }
  if (context) {
    CUdevice dev = 0;
    CUcontext ctx = nullptr;
    CUdeviceptr p = 0;
    if (cuInit(0) != CUDA_SUCCESS || cuDeviceGet(&dev, 0) != CUDA_SUCCESS ||
        cuDevicePrimaryCtxRetain(&ctx, dev) != CUDA_SUCCESS || cuCtxSetCurrent(ctx) != CUDA_SUCCESS ||
        cuMemAlloc(&p, 1 << 20) != CUDA_SUCCESS) {
      std::fprintf(stderr, "no CUDA context\n");
      return 5;
    }
  }
  // Before init every call says so.
  unsigned int count = 0;
  if (nvmlDeviceGetCount_v2(&count) != NVML_ERROR_UNINITIALIZED) return 3;
  NVML_CHECK(nvmlInit_v2());
  NVML_CHECK(nvmlDeviceGetCount_v2(&count));
  std::printf("count=%u\n", count);
  int cuda = 0;
  NVML_CHECK(nvmlSystemGetCudaDriverVersion_v2(&cuda));
  std::printf("cuda=%d\n", cuda);
  char text[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE];
  NVML_CHECK(nvmlSystemGetDriverVersion(text, sizeof text));
  std::printf("driver=%s\n", text);
  NVML_CHECK(nvmlSystemGetNVMLVersion(text, sizeof text));
  std::printf("nvml=%s\n", text);
  for (unsigned int i = 0; i < count; ++i) {
    nvmlDevice_t device;
    NVML_CHECK(nvmlDeviceGetHandleByIndex_v2(i, &device));
    unsigned int index = 99;
    NVML_CHECK(nvmlDeviceGetIndex(device, &index));
    char name[NVML_DEVICE_NAME_BUFFER_SIZE];
    NVML_CHECK(nvmlDeviceGetName(device, name, sizeof name));
    char uuid[NVML_DEVICE_UUID_BUFFER_SIZE];
    NVML_CHECK(nvmlDeviceGetUUID(device, uuid, sizeof uuid));
    nvmlPciInfo_t pci;
    NVML_CHECK(nvmlDeviceGetPciInfo_v3(device, &pci));
    nvmlMemory_t memory;
    NVML_CHECK(nvmlDeviceGetMemoryInfo(device, &memory));
    nvmlMemory_v2_t memory2{};
    memory2.version = nvmlMemory_v2;
    NVML_CHECK(nvmlDeviceGetMemoryInfo_v2(device, &memory2));
    int major = 0, minor = 0;
    NVML_CHECK(nvmlDeviceGetCudaComputeCapability(device, &major, &minor));
    std::printf("device %u index=%u name=%s uuid=%s bus=%s total=%llu used=%llu free=%llu total2=%llu used2=%llu cc=%d.%d\n",
                i, index, name, uuid, pci.busId, memory.total, memory.used, memory.free, memory2.total, memory2.used,
                major, minor);
    // The handle comes back by its UUID and its bus id.
    nvmlDevice_t again;
    NVML_CHECK(nvmlDeviceGetHandleByUUID(uuid, &again));
    std::printf("by_uuid %u=%d\n", i, again == device ? 1 : 0);
    NVML_CHECK(nvmlDeviceGetHandleByPciBusId_v2(pci.busId, &again));
    std::printf("by_bus %u=%d\n", i, again == device ? 1 : 0);
    // Processes: the count first (NVML's two-step contract), then the entries.
    unsigned int n = 0;
    const nvmlReturn_t first = nvmlDeviceGetComputeRunningProcesses_v3(device, &n, nullptr);
    if (first != NVML_SUCCESS && first != NVML_ERROR_INSUFFICIENT_SIZE) return 4;
    nvmlProcessInfo_t infos[64];
    n = 64;
    NVML_CHECK(nvmlDeviceGetComputeRunningProcesses_v3(device, &n, infos));
    std::printf("processes %u=%u\n", i, n);
    for (unsigned int p = 0; p < n; ++p) {
      char process[64] = "?";
      NVML_CHECK(nvmlSystemGetProcessName(infos[p].pid, process, sizeof process));
      std::printf("process %u pid=%u memory=%llu name=%s\n", i, infos[p].pid, infos[p].usedGpuMemory, process);
    }
    print_smi_view(i, device);
    unsigned int mig_max = 9, is_mig = 9;
    nvmlEnableState_t display = NVML_FEATURE_ENABLED, display_active = NVML_FEATURE_ENABLED;
    NVML_CHECK(nvmlDeviceGetMaxMigDeviceCount(device, &mig_max));
    NVML_CHECK(nvmlDeviceIsMigDeviceHandle(device, &is_mig));
    NVML_CHECK(nvmlDeviceGetDisplayMode(device, &display));
    NVML_CHECK(nvmlDeviceGetDisplayActive(device, &display_active));
    std::printf("mig_devices=%u is_mig=%u display=%d/%d\n", mig_max, is_mig, static_cast<int>(display),
                static_cast<int>(display_active));
    // nvidia-smi -q's PCI section and addressing mode: the versioned queries, and their version check.
    nvmlPciInfoExt_t ext{};
    ext.version = nvmlPciInfoExt_v1;
    NVML_CHECK(nvmlDeviceGetPciInfoExt(device, &ext));
    nvmlPciInfoExt_t old_ext{};
    old_ext.version = 1;
    std::printf("pci_ext %u bus=%s same=%d class=0x%x/0x%x wrong_version=%d\n", i, ext.busId,
                std::strcmp(ext.busId, pci.busId) == 0 && ext.domain == pci.domain && ext.bus == pci.bus &&
                    ext.device == pci.device && ext.pciDeviceId == pci.pciDeviceId &&
                    ext.pciSubSystemId == pci.pciSubSystemId,
                ext.baseClass, ext.subClass, static_cast<int>(nvmlDeviceGetPciInfoExt(device, &old_ext)));
    nvmlDeviceAddressingMode_t addressing{};
    addressing.version = nvmlDeviceAddressingMode_v1;
    addressing.value = 99;
    NVML_CHECK(nvmlDeviceGetAddressingMode(device, &addressing));
    std::printf("addressing %u=%u\n", i, addressing.value);
    // Events: none reaches a guest, so a device supports no type and a wait times out.
    nvmlEventSet_t events = nullptr;
    NVML_CHECK(nvmlEventSetCreate(&events));
    unsigned long long types = ~0ull;
    NVML_CHECK(nvmlDeviceGetSupportedEventTypes(device, &types));
    nvmlEventData_t event{};
    std::printf("events types=%llu none=%d xid=%d wait=%d\n", types,
                static_cast<int>(nvmlDeviceRegisterEvents(device, 0, events)),
                static_cast<int>(nvmlDeviceRegisterEvents(device, 8 /* XID critical error */, events)),
                static_cast<int>(nvmlEventSetWait_v2(events, &event, 10)));
    NVML_CHECK(nvmlEventSetFree(events));
    std::printf("freed_again=%d\n", static_cast<int>(nvmlEventSetFree(events)));
    // Field values: NVLink's link count is 0 (no link of the guest's own); a field vgpu does not
    // know is refused in its own entry, the call as a whole succeeding.
    nvmlFieldValue_t fields[2]{};
    fields[0].fieldId = NVML_FI_DEV_NVLINK_LINK_COUNT;
    fields[1].fieldId = NVML_FI_DEV_PCIE_REPLAY_COUNTER;
    NVML_CHECK(nvmlDeviceGetFieldValues(device, 2, fields));
    std::printf("links=%d/%u fieldreplay=%d\n", static_cast<int>(fields[0].nvmlReturn), fields[0].value.uiVal,
                static_cast<int>(fields[1].nvmlReturn));
    // A query vgpu does not answer is refused as NVIDIA's library refuses it on such a GPU.
    unsigned int temperature = 0;
    std::printf("temperature=%d\n", static_cast<int>(nvmlDeviceGetTemperature(device, 0, &temperature)));
    // The tenant's own utilization (NOT_SUPPORTED printed as "-").
    nvmlUtilization_t busy{};
    const nvmlReturn_t u = nvmlDeviceGetUtilizationRates(device, &busy);
    if (u == NVML_SUCCESS) std::printf("util=%u/%u\n", busy.gpu, busy.memory);
    else std::printf("util=-%d\n", static_cast<int>(u));
  }
  // NVML_QUERY_NAME_OF=PID: what the process name query answers for that pid.
  if (const char* pid = std::getenv("NVML_QUERY_NAME_OF"); pid != nullptr) {
    char process[64] = "";
    const nvmlReturn_t r = nvmlSystemGetProcessName(static_cast<unsigned>(std::atoi(pid)), process, sizeof process);
    std::printf("name_of rc=%d name=%s\n", static_cast<int>(r), process);
  }
  std::fflush(stdout);
  if (hold) {
    std::printf("holding\n");
    std::fflush(stdout);
    for (;;) pause();
  }
  NVML_CHECK(nvmlShutdown());
  return 0;
}

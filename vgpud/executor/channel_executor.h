// Runs one channel's validated requests on the GPU, in order, on its own thread, and posts the
// replies. Each channel (one guest process) gets its own CUDA context per device, so a fault
// or a blocking call in one never touches another.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "vgpu/protocol/channel_layout.h"
#include "vgpu/protocol/messages.h"
#include "vgpu/protocol/ring.h"
#include "vgpud/executor/cuda_driver.h"
#include "vgpud/executor/device_memory_map.h"
#include "vgpud/executor/handle_table.h"
#include "vgpud/executor/process_memory.h"
#include "vgpud/executor/tenant_budget.h"
#include "vgpud/request/work_queue.h"
#include "vgpud/metrics/hop_counters.h"

namespace vgpud {

// What an executor is given; fixed for the life of the channel.
struct ExecutorSetup {
  std::string name;                      // "tenant/pid", for logs
  const CudaDriver* driver = nullptr;
  std::vector<CUdevice> devices;         // the tenant's GPUs, in guest index order
  uint8_t* region = nullptr;             // the channel region, mapped in vgpud
  size_t region_size = 0;
  proto::ChannelGeometry geometry{};     // vgpud's own copy, never read back from the region
  int notify_fd = -1;                    // eventfd that wakes the guest
  HopCounters* counters = nullptr;
  BudgetRef device_memory;               // the tenant's, against limits.device_memory
  BudgetRef image_memory;                // the tenant's, against limits.module_image_memory
  std::string driver_path;               // vgpud.driver: NVML is looked for beside it
  std::chrono::microseconds spin{50};
};

class ChannelExecutor {
 public:
  explicit ChannelExecutor(ExecutorSetup setup);
  ~ChannelExecutor();  // stops the thread and releases every GPU resource of the channel

  ChannelExecutor(const ChannelExecutor&) = delete;
  ChannelExecutor& operator=(const ChannelExecutor&) = delete;

  void start();
  WorkQueue& queue() { return queue_; }
  // The guest is gone (or its channel ended): nobody waits for what is queued, so it is
  // dropped unexecuted, and a wait for the guest ends at once. drain_and_stop() then stops.
  void abandon();
  // Finish what is queued (drop it, after abandon()), then stop. Called when the guest is gone
  // or vgpud stops.
  void drain_and_stop();
  // True once the executor gave up on the channel (the guest corrupted a data ring, or stopped
  // reading what vgpud writes).
  bool broken() const { return broken_.load(std::memory_order_acquire); }

 private:
  // Every driver object remembers the guest device (context) it was made on, so that a
  // device reset forgets exactly that device's objects.
  struct Module {
    CUmodule handle;
    uint32_t device;
    std::vector<uint64_t> globals;  // device ranges registered in memory_
    uint64_t device_bytes;          // what loading it made the GPU hold, taken from the budget
  };
  struct Function {
    CUfunction handle;
    CUmodule module;
    uint32_t device;
    std::vector<proto::KernelParamInfo> params;
    uint32_t buffer_size;
  };
  struct Stream {
    CUstream handle;
    uint32_t device;
  };
  struct Event {
    CUevent handle;
    uint32_t device;
  };
  struct Reply {
    int32_t status = 0;
    std::vector<uint8_t> payload;
  };

  void run();
  void execute(Request& request);
  void post_reply(const Request& request, int32_t status, std::span<const uint8_t> payload);
  void notify_guest_if_waiting();
  // Waits until ready() (room in `ring`, which the guest consumes and whose head is
  // consumer_head); false when the channel stops or breaks meanwhile, or the guest made no
  // room for kGuestStallLimit (the channel is then failed).
  bool wait_for_guest(const std::atomic<uint64_t>& consumer_head, const char* ring,
                      const std::function<bool()>& ready);
  void wake_waits();  // ends a sleep in wait_for_guest
  void fail_channel(const char* why);
  // Logs one driver call at debug level ("seq=7 cuMemAlloc → CUDA_SUCCESS ptr=0x...") and
  // counts driver errors; returns r.
  CUresult traced(const char* function, CUresult r, const std::string& detail = {});

  // Context management.
  // Makes `device` the current one, creating its context on first use.
  CUresult ensure_context(uint32_t device);
  // 0 when the current device's context exists (made now if needed), else the error to answer.
  int32_t require_context();
  // Runs fn (returning a CUresult) with `device`'s context current, then returns to the
  // guest's current device: objects are destroyed in the context that made them, whichever
  // device the guest's thread is on.
  template <typename Fn>
  CUresult in_context_of(uint32_t device, Fn&& fn) {
    const uint32_t here = current_device_;
    CUresult r = device == here ? CUDA_SUCCESS : ensure_context(device);
    if (r == CUDA_SUCCESS) r = fn();
    if (device != here) {
      const CUresult back = ensure_context(here);
      if (r == CUDA_SUCCESS) r = back;
    }
    return r;
  }
  // Pins the channel region, once per channel, in `device`'s context, which is current.
  void register_region(uint32_t device);
  // Destroys one device's context and forgets everything the channel made on it. With
  // keep_region_pinned, a surviving context takes over the region's pinning.
  void release_device(uint32_t device, bool keep_region_pinned);
  void release_all();
  // Frees the module image being uploaded and gives its host memory back to the tenant.
  void drop_pending_image();
  // A device-to-device copy whose ends lie on two different GPUs.
  CUresult copy_between_devices(uint64_t dst, uint32_t dst_device, uint64_t src, uint32_t src_device,
                                uint64_t size, uint64_t stream_id, CUstream stream);

  // Lookups that validate guest-supplied handles and ranges.
  bool resolve_stream(uint64_t id, CUstream* out);
  bool device_range_ok(uint64_t ptr, uint64_t len) const;
  bool heap_range_ok(uint64_t offset, uint64_t len) const;
  uint8_t* heap_at(uint64_t offset) const {
    return setup_.region + setup_.geometry.heap.offset + offset;
  }
  // What reads this process's GPU memory, to charge what a module load takes (process_memory.h):
  // loaded on the first module load, not at start, since most channels' first calls need no
  // NVML; null where NVML is missing (said once; module memory is then not counted).
  const ProcessMemoryMeter* memory_meter();
  // This process's GPU memory on the current device (none without a meter, or when unreadable).
  std::optional<uint64_t> held_on_current_device();
  // The tenant's device memory, shared with its other channels.
  TenantBudget device_budget() const { return TenantBudget(setup_.device_memory); }

  // Handlers: one per command type; return the CUresult/Status and fill the reply payload.
  int32_t handle(const HelloCmd&, Reply&);
  int32_t handle(const PingCmd&, Reply&);
  int32_t handle(const DeviceGetInfoCmd&, Reply&);
  int32_t handle(const SetDeviceCmd&, Reply&);
  int32_t handle(const DeviceSynchronizeCmd&, Reply&);
  int32_t handle(const DeviceResetCmd&, Reply&);
  int32_t handle(const MemGetInfoCmd&, Reply&);
  int32_t handle(const DeviceCanAccessPeerCmd&, Reply&);
  int32_t handle(const PeerAccessEnableCmd&, Reply&);
  int32_t handle(const PeerAccessDisableCmd&, Reply&);
  int32_t handle(const MemAllocCmd&, Reply&);
  int32_t handle(const MemFreeCmd&, Reply&);
  int32_t handle(const MemcpyHtoDInlineCmd&, Reply&);
  int32_t handle(const MemcpyHtoDStagedCmd&, Reply&);
  int32_t handle(const MemcpyDtoHInlineCmd&, Reply&);
  int32_t handle(const MemcpyDtoHStagedCmd&, Reply&);
  int32_t handle(const MemcpySharedCmd&, Reply&);
  int32_t handle(const MemcpyDtoDCmd&, Reply&);
  int32_t handle(const MemsetCmd&, Reply&);
  int32_t handle(const BlobAppendCmd&, Reply&);
  int32_t handle(const ModuleLoadCmd&, Reply&);
  int32_t handle(const ModuleUnloadCmd&, Reply&);
  int32_t handle(const ModuleGetFunctionCmd&, Reply&);
  int32_t handle(const ModuleGetGlobalCmd&, Reply&);
  int32_t handle(const LaunchKernelCmd&, Reply&);
  int32_t handle(const FuncGetAttributesCmd&, Reply&);
  int32_t handle(const FuncSetAttributeCmd&, Reply&);
  int32_t handle(const OccupancyMaxBlocksCmd&, Reply&);
  int32_t handle(const StreamCreateCmd&, Reply&);
  int32_t handle(const StreamDestroyCmd&, Reply&);
  int32_t handle(const StreamSynchronizeCmd&, Reply&);
  int32_t handle(const StreamQueryCmd&, Reply&);
  int32_t handle(const StreamWaitEventCmd&, Reply&);
  int32_t handle(const EventCreateCmd&, Reply&);
  int32_t handle(const EventDestroyCmd&, Reply&);
  int32_t handle(const EventRecordCmd&, Reply&);
  int32_t handle(const EventSynchronizeCmd&, Reply&);
  int32_t handle(const EventQueryCmd&, Reply&);
  int32_t handle(const EventElapsedTimeCmd&, Reply&);
  int32_t handle(const RejectedCmd&, Reply&);

  ExecutorSetup setup_;
  const CudaDriver& cu_;
  WorkQueue queue_;
  std::thread thread_;
  std::atomic<bool> broken_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> abandoned_{false};
  int wake_fd_ = -1;  // eventfd: readable once stopping or abandoned (wait_for_guest sleeps on it)

  proto::ChannelHeader* header_;
  proto::RingProducer reply_ring_;
  proto::RingConsumer upload_ring_;
  proto::RingProducer download_ring_;

  std::vector<CUcontext> contexts_;  // per guest device index; null until first used
  uint32_t current_device_ = 0;
  // The device whose context pinned the channel region (PORTABLE: valid in all of them).
  std::optional<uint32_t> region_registered_in_;
  bool region_registration_failed_ = false;  // said once; copies then go unpinned
  uint64_t current_seq_ = 0;         // of the request being executed, for logs
  bool synchronize_current_ = false; // the request asked for kFlagSynchronize
  int32_t pending_async_error_ = 0;  // first error of a posted call since the last reply
  std::optional<ProcessMemoryMeter> memory_meter_;  // see memory_meter()
  bool memory_meter_tried_ = false;
  std::vector<uint8_t> pending_image_;  // module image assembled from BlobAppend
  uint64_t pending_image_charge_ = 0;   // its capacity, taken from setup_.image_memory

  DeviceMemoryMap memory_;
  HandleTable<uint64_t, Stream> streams_;
  HandleTable<uint32_t, Event> events_;
  HandleTable<uint32_t, Module> modules_;
  HandleTable<uint32_t, Function> functions_;
};

}  // namespace vgpud

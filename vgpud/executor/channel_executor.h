// Runs one channel's validated requests on the GPU, in order, on its own thread, and posts the
// replies. Each channel (one guest process) gets its own CUDA context per device, so a fault
// or a blocking call in one never touches another.
//
// One concern per part: the input (the request source, the upload ring, an image being uploaded:
// image_upload.h), the output (guest_output.h), the contexts (context_set.h) and what the
// channel made (channel_objects.h). The handlers, one per command and grouped by family, live
// in executor_{device,memory,module,link,stream}.cpp and only join these parts.
#pragma once
#include <atomic>
#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "vgpu/protocol/channel_layout.h"
#include "vgpu/protocol/messages.h"
#include "vgpu/protocol/ring.h"
#include "vgpud/executor/array_objects.h"
#include "vgpud/executor/channel_objects.h"
#include "vgpud/executor/context_set.h"
#include "vgpud/executor/cuda_driver.h"
#include "vgpud/executor/driver_trace.h"
#include "vgpud/executor/guest_output.h"
#include "vgpud/executor/image_upload.h"
#include "vgpud/executor/ipc_state.h"
#include "vgpud/executor/module_cache.h"
#include "vgpud/executor/host_nvml.h"
#include "vgpud/executor/tenant_budget.h"
#include "vgpud/executor/tenant_processes.h"
#include "vgpud/request/request_source.h"
#include "vgpud/metrics/hop_counters.h"

namespace vgpud {

class DeviceOutput;

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
  ModuleCache* module_cache = nullptr;   // the tenant's; null when it has none
  ModuleCacheCounters* module_cache_counters = nullptr;  // the tenant's (misses without a cache)
  std::string driver_path;               // vgpud.driver: NVML is looked for beside it
  std::string driver_release;            // the host's (host_versions.h), for TENANT_STATUS;
  std::string nvml_version;              // empty when unknown
  DeviceOutput* device_output = nullptr;  // what kernels print, for the guest; null: not forwarded
  IpcTable* ipc = nullptr;               // the tenant's (docs/design.md §25); null: no IPC
  uint32_t worker_slot = 0;              // this worker's slot in the tenant's state
  // Who the tenant's processes are, and what each holds (by worker slot; kSlots of them): for
  // TENANT_STATUS. Null: the status lists no process (tests).
  TenantProcesses* processes = nullptr;
  const WorkerShare* shares = nullptr;
};

class ChannelExecutor {
 public:
  explicit ChannelExecutor(ExecutorSetup setup);
  ~ChannelExecutor();  // stops the thread and releases every GPU resource of the channel

  ChannelExecutor(const ChannelExecutor&) = delete;
  ChannelExecutor& operator=(const ChannelExecutor&) = delete;

  // Runs the requests `source` gives, on the executor's thread, until it gives no more; then
  // releases what the channel holds. `source` must outlive the thread (drain_and_stop).
  void start(RequestSource& source);
  // The guest is gone (or its channel ended): nobody waits for the results, so what the
  // source still gives is dropped unexecuted, and a wait for the guest ends at once.
  // drain_and_stop() then stops.
  void abandon();
  // Finish the call being run (if any), take no more, then stop. Called when the guest is gone
  // or vgpud stops.
  void drain_and_stop();
  // True once the executor gave up on the channel (the guest corrupted a data ring, or stopped
  // reading what vgpud writes).
  bool broken() const { return broken_.load(std::memory_order_acquire); }

 private:
  using Module = ChannelObjects::Module;
  using Function = ChannelObjects::Function;
  using Stream = ChannelObjects::Stream;
  using Event = ChannelObjects::Event;
  using Link = ChannelObjects::Link;
  struct Reply {
    int32_t status = 0;
    std::vector<uint8_t> payload;
  };

  void run();
  void execute(Request& request);
  void post_reply(const Request& request, int32_t status, std::span<const uint8_t> payload);
  // Puts what kernels printed since the last reply into the reply ring, ahead of the reply to
  // `answered` (device_output.h).
  void forward_device_output(proto::CallId answered);
  // A wait for room in `ring` ended as `room`: a Corrupt or Stalled one fails the channel.
  // True when the room is there.
  bool room_or_fail(GuestOutput::Room room, const char* ring);
  void fail_channel(const std::string& why);
  // Logs one driver call at debug level and counts driver errors; returns r (driver_trace.h).
  CUresult traced(const char* function, CUresult r, const std::string& detail = {}) const {
    return trace_(function, r, detail);
  }
  // The same with a detail made only when it is logged: formatting it costs more than some
  // calls' whole path through vgpud (a cuMemFree's is about 1.5 µs).
  template <std::invocable Detail>
  CUresult traced(const char* function, CUresult r, Detail&& detail) const {
    return DriverTrace::logging() ? trace_(function, r, detail()) : trace_(function, r);
  }

  // 0 when the current device's context exists (made now if needed), else the status to answer.
  int32_t require_context() { return contexts_.require_current(); }
  // Destroys one device's context and forgets everything the channel made on it. With
  // keep_region_pinned, a surviving context takes over the region's pinning.
  void release_device(uint32_t device, bool keep_region_pinned);
  void release_all();
  // A device-to-device copy whose ends lie on two different GPUs.
  CUresult copy_between_devices(uint64_t dst, uint32_t dst_device, uint64_t src, uint32_t src_device,
                                uint64_t size, uint64_t stream_id, CUstream stream);
  // Checks that the data a staged call consumes is in the upload ring: the guest publishes it
  // before the message. False (the channel failed) when it is not.
  bool upload_holds(uint64_t size, const char* what);

  // What STREAM_WAIT_VALUE and STREAM_WRITE_VALUE check before the driver sees them: 0 (and the
  // stream resolved), or the status to answer.
  // What every launch checks and builds before its driver call: the channel's function and
  // stream, and the parameter pointers into the packed buffer. 0, or the status to answer.
  struct PreparedLaunch {
    Function* function = nullptr;
    CUstream stream = nullptr;
    void* args[vgpu::limits::kMaxKernelParams];
    void** kernel_params = nullptr;  // args, or null for a kernel without parameters
  };
  int32_t prepare_launch(uint32_t function, uint64_t stream_id, const std::vector<uint8_t>& params,
                         PreparedLaunch* out);
  int32_t stream_value_checks(uint64_t stream_id, uint64_t address, uint32_t width, uint32_t flags,
                              uint32_t known_flags, CUstream* stream);
  bool heap_range_ok(uint64_t offset, uint64_t len) const;
  uint8_t* heap_at(uint64_t offset) const {
    return setup_.region + setup_.geometry.heap.offset + offset;
  }
  // HELLO's heap_address: where the guest should map the heap, or 0 (executor_device.cpp).
  uint64_t heap_address_for_guest() const;
  // The host's NVML (host_nvml.h): what a module load takes on the GPU, and the tenant's
  // utilization. Loaded on the first module load or TENANT_STATUS, not at start, since most
  // channels' first calls need no NVML; null where NVML is missing (said once; module memory is
  // then not counted, and utilization is unknown).
  const HostNvml* host_nvml();
  // TENANT_STATUS's utilization figures: the tenant's channel workers', per device.
  void fill_utilization(proto::TenantStatusReply& r);
  // This process's GPU memory on the current device (none without NVML, or when unreadable).
  std::optional<uint64_t> held_on_current_device();
  // MODULE_LOAD and MODULE_LOAD_CACHED alike, once the image is in hand: checks it, loads it,
  // charges what it takes on the GPU and answers the module's id.
  int32_t load_image(UploadedImage& image, uint64_t size, Reply& reply);
  // LINK_ADD's checks of an input before the driver sees it (its size, its type, and for the
  // types vgpud can read, that every size inside lies within the bytes sent); 0, or the status.
  int32_t check_link_input(const LinkAddCmd& cmd, UploadedImage& input);
  // cuLinkDestroy in the link's context, then forgets the link: its logs and inputs are freed and
  // their bytes given back, whatever the driver answered.
  CUresult destroy_link(uint32_t id);
  // Every link made on `device`, before its context goes (DEVICE_RESET, the channel's end).
  void destroy_links_on(uint32_t device);
  // Every graph, executable graph and open capture made on `device`, before its context goes.
  void destroy_graphs_on(uint32_t device);
  // Every texture and surface object, array and mipmapped array made on `device`, destroyed
  // before its context goes, their bytes given back to the tenant (executor_array.cpp).
  void destroy_arrays_on(uint32_t device);
  // What a new array (levels 0) or mipmapped array takes on the current device: the driver's
  // size for one made without memory, else array_bytes_bound (executor_array.cpp).
  uint64_t array_bytes(const CUDA_ARRAY3D_DESCRIPTOR& desc, uint32_t levels, uint32_t element);
  // Unmaps and releases what the channel mapped and made with cuMemCreate on `device` (every
  // device, and then its address reservations too: nullopt), before the contexts go.
  void release_virtual_memory(std::optional<uint32_t> device);
  // cuMemUnmap of the channel's mapping at `address`; forgets it whatever the driver answered and
  // gives back its allocation's bytes when that was the allocation's last hold.
  CUresult unmap_one(uint64_t address);
  // A table of the channel's is full, or another bound refused the request: the rejection is
  // counted and LimitExceeded answered.
  int32_t limit_exceeded() const {
    HopCounters::bump(setup_.counters->rejected);
    return static_cast<int32_t>(proto::Status::LimitExceeded);
  }
  // The graph a GRAPH_ADD_*_NODE names, when a node may be added to it now; 0, or the status.
  int32_t graph_for_new_node(uint32_t graph, ChannelObjects::Graph** out);
  // Answers a node the driver made (or its error): the node gets an id of the channel's.
  int32_t node_made(CUresult r, uint32_t graph, CUgraphNode node, Reply& reply);
  // Graph memory (executor_graph_memory.cpp): an allocation node's memory joins the channel's
  // (charged already); what an executable graph holds of it, learnt at instantiation, and let go
  // of at its destruction; and the sweep that gives back what nothing holds any more (after a
  // graph, executable graph or node goes, or graph memory is freed outside a graph).
  void note_graph_allocation(uint64_t address, uint64_t size, uint32_t device);
  void note_exec_graph_memory(uint32_t exec, CUgraph graph);
  void exec_graph_memory_gone(uint32_t exec);
  void sweep_graph_memory();
  // A capture ended in `graph` (null: it failed): the id the channel gave that graph while the
  // capture was open (STREAM_CAPTURE_GRAPH, STREAM_BEGIN_CAPTURE_TO_GRAPH), or 0. A failed
  // capture's graph, which the driver destroyed, loses its id (executor_graph_structure.cpp).
  uint32_t capture_ended(uint64_t capture, CUgraph graph);
  // Ends the capture the channel began on its stream `stream_id` (its context current), as a
  // stream's destruction or the device's end does: a graph the channel named goes with the rest
  // of the channel's graphs or, the capture having failed, with the ids it had; any other is
  // destroyed.
  void drop_capture(uint64_t stream_id, CUstream s);
  // What GRAPH_LIST_NODES says of a node besides its type (proto::GraphNodeInfo::detail).
  uint64_t node_detail(CUgraphNode node, CUgraphNodeType type);
  // The driver's parameters of a kernel, memset or memcpy node from the guest's, checked as a
  // launch, a memset or a copy is (executor_graph_params.cpp): adding a node and setting its
  // parameters share them. 0, or the status to answer. A kernel's argument pointers point into
  // `params` through `args`.
  int32_t kernel_node_params(uint32_t device, uint32_t function, const uint32_t grid[3], const uint32_t block[3],
                             uint32_t shared_mem_bytes, const std::vector<uint8_t>& params, std::span<void*> args,
                             CUDA_KERNEL_NODE_PARAMS* out);
  int32_t memset_node_params(uint64_t dst, uint32_t element_size, uint64_t pitch, uint64_t width, uint64_t height,
                             uint32_t value, CUDA_MEMSET_NODE_PARAMS* out);
  int32_t memcpy_node_params(uint32_t heap, uint64_t src, uint64_t dst, uint64_t src_pitch, uint64_t dst_pitch,
                             uint64_t width, uint64_t height, CUDA_MEMCPY3D* out);
  // The node a per-node setter names (executor_graph_update.cpp): one of the channel's, of `type`,
  // and with `exec` nonzero, of the graph that executable graph was made from. Sets the device its
  // graph is on and the executable graph's handle (null for exec 0). 0, or the status to answer.
  int32_t node_to_set(uint32_t exec, uint32_t node, CUgraphNodeType type, CUgraphNode* out, CUgraphExec* exec_out,
                      uint32_t* device);
  // The channel's id for node `node` of graph `graph`, given one the first time (0 when the
  // channel's nodes are at their limit or `node` is null).
  uint32_t node_id(uint32_t graph, CUgraphNode node);
  // Tells the tenant's other processes (TENANT_STATUS) which devices this one now has a
  // context on, when that changed.
  void publish_contexts();
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
  int32_t handle(const TenantStatusCmd&, Reply&);
  int32_t handle(const HeapDevicePointerCmd&, Reply&);
  int32_t handle(const DeviceCanAccessPeerCmd&, Reply&);
  int32_t handle(const PeerAccessEnableCmd&, Reply&);
  int32_t handle(const PeerAccessDisableCmd&, Reply&);
  int32_t handle(const CtxGetLimitCmd&, Reply&);
  int32_t handle(const CtxSetLimitCmd&, Reply&);
  int32_t handle(const MemAllocCmd&, Reply&);
  int32_t handle(const MemFreeCmd&, Reply&);
  int32_t handle(const MemcpyHtoDInlineCmd&, Reply&);
  int32_t handle(const MemcpyHtoDStagedCmd&, Reply&);
  int32_t handle(const MemcpyDtoHInlineCmd&, Reply&);
  int32_t handle(const MemcpyDtoHStagedCmd&, Reply&);
  int32_t handle(const MemcpySharedCmd&, Reply&);
  int32_t handle(const MemcpyDtoDCmd&, Reply&);
  int32_t handle(const MemsetCmd&, Reply&);
  int32_t handle(const TensorMapEncodeTiledCmd&, Reply&);
  int32_t handle(const Memset2DCmd&, Reply&);
  int32_t handle(const BlobAppendCmd&, Reply&);
  int32_t handle(const ModuleLoadCmd&, Reply&);
  int32_t handle(const ModuleUnloadCmd&, Reply&);
  int32_t handle(const ModuleGetFunctionCmd&, Reply&);
  int32_t handle(const ModuleGetGlobalCmd&, Reply&);
  int32_t handle(const ModuleGetManagedCmd&, Reply&);
  // Looks `name` up in module `id`; the global is a copy target of the channel's from then on.
  int32_t module_global(uint32_t id, const std::string& name, bool managed, Reply& reply);
  int32_t handle(const LaunchKernelCmd&, Reply&);
  int32_t handle(const FuncGetAttributesCmd&, Reply&);
  int32_t handle(const FuncSetAttributeCmd&, Reply&);
  int32_t handle(const OccupancyMaxBlocksCmd&, Reply&);
  int32_t handle(const OccupancyAvailableSharedMemCmd&, Reply&);
  int32_t handle(const OccupancyMaxActiveClustersCmd&, Reply&);
  int32_t handle(const OccupancyMaxClusterSizeCmd&, Reply&);
  int32_t handle(const ModuleListFunctionsCmd&, Reply&);
  int32_t handle(const LaunchKernelExCmd&, Reply&);
  int32_t handle(const ModuleLoadCachedCmd&, Reply&);
  int32_t handle(const LinkAddCmd&, Reply&);
  int32_t handle(const LinkCompleteCmd&, Reply&);
  int32_t handle(const LinkReadCmd&, Reply&);
  int32_t handle(const LinkDestroyCmd&, Reply&);
  int32_t handle(const StreamCreateCmd&, Reply&);
  int32_t handle(const StreamDestroyCmd&, Reply&);
  int32_t handle(const StreamSynchronizeCmd&, Reply&);
  int32_t handle(const StreamQueryCmd&, Reply&);
  int32_t handle(const StreamWaitEventCmd&, Reply&);
  int32_t handle(const StreamWaitValueCmd&, Reply&);
  int32_t handle(const StreamWriteValueCmd&, Reply&);
  int32_t handle(const EventCreateCmd&, Reply&);
  int32_t handle(const EventDestroyCmd&, Reply&);
  int32_t handle(const EventRecordCmd&, Reply&);
  int32_t handle(const EventSynchronizeCmd&, Reply&);
  int32_t handle(const EventQueryCmd&, Reply&);
  int32_t handle(const EventElapsedTimeCmd&, Reply&);
  int32_t handle(const StreamBeginCaptureCmd&, Reply&);
  int32_t handle(const StreamEndCaptureCmd&, Reply&);
  int32_t handle(const StreamCaptureInfoCmd&, Reply&);
  int32_t handle(const GraphInstantiateCmd&, Reply&);
  int32_t handle(const GraphLaunchCmd&, Reply&);
  int32_t handle(const GraphUploadCmd&, Reply&);
  int32_t handle(const GraphExecDestroyCmd&, Reply&);
  int32_t handle(const GraphDestroyCmd&, Reply&);
  int32_t handle(const GraphCreateCmd&, Reply&);
  int32_t handle(const GraphAddKernelNodeCmd&, Reply&);
  int32_t handle(const GraphAddMemsetNodeCmd&, Reply&);
  int32_t handle(const GraphAddEmptyNodeCmd&, Reply&);
  int32_t handle(const GraphAddMemcpyNodeCmd&, Reply&);
  int32_t handle(const GraphAddEventNodeCmd&, Reply&);
  int32_t handle(const GraphAddDependenciesCmd&, Reply&);
  int32_t handle(const HostFuncQueueCmd&, Reply&);
  int32_t handle(const LaunchHostFuncCmd&, Reply&);
  int32_t handle(const GraphAddHostNodeCmd&, Reply&);
  int32_t handle(const GraphCloneCmd&, Reply&);
  int32_t handle(const GraphListNodesCmd&, Reply&);
  int32_t handle(const GraphAddChildNodeCmd&, Reply&);
  // Graph updates and per-node parameters (executor_graph_update.cpp, executor_graph_params.cpp).
  int32_t handle(const GraphKernelNodeSetCmd&, Reply&);
  int32_t handle(const GraphMemsetNodeSetCmd&, Reply&);
  int32_t handle(const GraphMemcpyNodeSetCmd&, Reply&);
  int32_t handle(const GraphHostNodeSetCmd&, Reply&);
  int32_t handle(const GraphEventNodeSetCmd&, Reply&);
  int32_t handle(const GraphExecChildSetCmd&, Reply&);
  int32_t handle(const GraphNodeEnabledCmd&, Reply&);
  int32_t handle(const GraphExecUpdateCmd&, Reply&);
  int32_t handle(const GraphNodeGetParamsCmd&, Reply&);
  int32_t handle(const GraphKernelNodeAttributeCmd&, Reply&);
  int32_t handle(const ArrayCreateCmd&, Reply&);
  int32_t handle(const ArrayDestroyCmd&, Reply&);
  int32_t handle(const MipmappedArrayCreateCmd&, Reply&);
  int32_t handle(const MipmappedArrayGetLevelCmd&, Reply&);
  int32_t handle(const MipmappedArrayDestroyCmd&, Reply&);
  int32_t handle(const MemcpyArrayCmd&, Reply&);
  int32_t handle(const TexObjectCreateCmd&, Reply&);
  int32_t handle(const TexObjectDestroyCmd&, Reply&);
  int32_t handle(const SurfObjectCreateCmd&, Reply&);
  int32_t handle(const SurfObjectDestroyCmd&, Reply&);
  int32_t handle(const MemGetGranularityCmd&, Reply&);
  int32_t handle(const MemAddressReserveCmd&, Reply&);
  int32_t handle(const MemAddressFreeCmd&, Reply&);
  int32_t handle(const MemCreateCmd&, Reply&);
  int32_t handle(const MemReleaseCmd&, Reply&);
  int32_t handle(const MemMapCmd&, Reply&);
  int32_t handle(const MemUnmapCmd&, Reply&);
  int32_t handle(const MemSetAccessCmd&, Reply&);
  int32_t handle(const MemGetAccessCmd&, Reply&);
  int32_t handle(const MemRetainHandleCmd&, Reply&);
  // Graph structure, captures that name their graph (executor_graph_structure.cpp), graph
  // memory (executor_graph_memory.cpp), conditional nodes and user objects
  // (executor_graph_objects.cpp).
  int32_t handle(const GraphGetEdgesCmd&, Reply&);
  int32_t handle(const GraphRemoveDependenciesCmd&, Reply&);
  int32_t handle(const GraphDestroyNodeCmd&, Reply&);
  int32_t handle(const GraphNodeFindInCloneCmd&, Reply&);
  int32_t handle(const GraphChildGetGraphCmd&, Reply&);
  int32_t handle(const StreamCaptureGraphCmd&, Reply&);
  int32_t handle(const StreamUpdateCaptureDependenciesCmd&, Reply&);
  int32_t handle(const StreamBeginCaptureToGraphCmd&, Reply&);
  int32_t handle(const GraphMemAllocCmd&, Reply&);
  int32_t handle(const GraphMemFreeCmd&, Reply&);
  int32_t handle(const DeviceGraphMemCmd&, Reply&);
  int32_t handle(const GraphConditionalHandleCreateCmd&, Reply&);
  int32_t handle(const GraphAddConditionalNodeCmd&, Reply&);
  int32_t handle(const UserObjectCreateCmd&, Reply&);
  int32_t handle(const UserObjectRefsCmd&, Reply&);
  // Sharing between the processes of one tenant (executor_ipc.cpp).
  int32_t handle(const IpcGetMemHandleCmd&, Reply&);
  int32_t handle(const IpcOpenMemHandleCmd&, Reply&);
  int32_t handle(const IpcCloseMemHandleCmd&, Reply&);
  int32_t handle(const IpcGetEventHandleCmd&, Reply&);
  int32_t handle(const IpcOpenEventHandleCmd&, Reply&);
  int32_t handle(const MemExportShareableCmd&, Reply&);
  int32_t handle(const MemImportShareableCmd&, Reply&);
  // MEM_FREE of `base`: true when the allocation was published, so its bytes are the tenant's
  // table's (withdrawn now), not the channel's to give back.
  bool ipc_withdraw_allocation(uint64_t base);
  // EVENT_DESTROY: the event's publication, if any, goes.
  void ipc_withdraw_event(uint32_t id);
  // A physical allocation no longer held (VirtualMemory::forget_if_unused): its bytes back to the
  // tenant, or its publication withdrawn, or its import's hold given back.
  void give_back_physical(uint64_t id);
  // Before `device`'s context goes: what the channel opened there is closed, and what it
  // published there withdrawn; returns the bytes of published allocations among them, which are
  // not the channel's to give back.
  uint64_t release_ipc_on(uint32_t device);
  int32_t handle(const RejectedCmd&, Reply&);

  ExecutorSetup setup_;
  const CudaDriver& cu_;
  DriverTrace trace_;
  RequestSource* source_ = nullptr;  // input: the mediator's validated requests
  proto::RingConsumer upload_ring_;  // input: the data of staged copies and module images
  GuestOutput output_;  // output: replies and downloaded data
  ContextSet contexts_;
  ChannelObjects objects_;
  ArrayObjects arrays_;  // arrays, mipmapped arrays, texture and surface objects
  std::unordered_set<uint64_t> capturing_;  // streams with a capture begun here and not ended
  ImageUpload image_upload_;
  IpcChannelState ipc_;  // what the channel shares with the tenant's other processes
  std::thread thread_;
  std::atomic<bool> broken_{false};
  std::atomic<bool> abandoned_{false};

  bool synchronize_current_ = false; // the request asked for kFlagSynchronize
  int32_t pending_async_error_ = 0;  // first error of a posted call since the last reply
  uint64_t device_output_dropped_ = 0;  // DeviceOutput::dropped() when last reported
  uint32_t published_contexts_ = 0;  // the context mask TENANT_STATUS last saw (publish_contexts)
  std::optional<HostNvml> host_nvml_;  // see host_nvml()
  bool host_nvml_tried_ = false;
};

}  // namespace vgpud

// The executor's thread, its reply path and the release of what a channel holds. Handlers live
// in executor_*.cpp.
#include "vgpud/executor/channel_executor.h"

#include <algorithm>
#include <string>
#include <thread>

#include "vgpud/executor/device_output.h"
#include "vgpud/executor/host_functions.h"
#include "vgpud/log/log.h"

namespace vgpud {

ChannelExecutor::ChannelExecutor(ExecutorSetup setup)
    : setup_(std::move(setup)),
      cu_(*setup_.driver),
      trace_(setup_.name, cu_, setup_.counters),
      upload_ring_(&reinterpret_cast<proto::ChannelHeader*>(setup_.region)->upload,
                   setup_.region + setup_.geometry.upload.offset, setup_.geometry.upload.size),
      output_(setup_.region, setup_.geometry, setup_.notify_fd),
      contexts_(cu_, trace_, setup_.devices, setup_.region, setup_.region_size),
      image_upload_(setup_.image_memory) {}

ChannelExecutor::~ChannelExecutor() { drain_and_stop(); }

void ChannelExecutor::start(RequestSource& source) {
  source_ = &source;
  thread_ = std::thread([this] { run(); });
}

void ChannelExecutor::abandon() {
  abandoned_.store(true, std::memory_order_release);
  HostFunctionQueue::of_process().release();  // nobody will run the guest's host functions
  output_.stop();
}

void ChannelExecutor::drain_and_stop() {
  output_.stop();
  if (source_ != nullptr) source_->end("the channel is closing");
  if (thread_.joinable()) thread_.join();
}

void ChannelExecutor::run() {
  // No context is made here: the first call that needs one makes it (context_set.h).
  Request request;
  while (source_->next(&request)) {
    // An abandoned channel's requests are dropped: nobody waits for them.
    if (!abandoned_.load(std::memory_order_acquire)) execute(request);
  }
  release_all();
}

void ChannelExecutor::execute(Request& request) {
  trace_.set_seq(request.seq);
  synchronize_current_ = request.synchronize();
  Reply reply;
  reply.status = std::visit([&](const auto& cmd) { return handle(cmd, reply); }, request.command);
  HopCounters::bump(setup_.counters->executed);
  publish_contexts();
  if (broken()) return;
  if (request.needs_reply()) {
    post_reply(request, reply.status, reply.payload);
  } else if (reply.status != 0 && pending_async_error_ == 0) {
    // A posted call failed: the guest learns at its next reply, as CUDA reports async errors.
    pending_async_error_ = reply.status;
  }
}

void ChannelExecutor::publish_contexts() {
  // Compared on every call, written only on a change: contexts come and go rarely.
  const uint32_t mask = contexts_.context_mask();
  if (mask == published_contexts_ || setup_.processes == nullptr) return;
  setup_.processes->set_context_mask(setup_.worker_slot, mask);
  published_contexts_ = mask;
}

namespace {

// The calls at which the driver prints what kernels wrote: those that wait for the GPU
// (synchronizations, blocking copies and memsets) and those that end a module or a context.
bool driver_may_print(proto::CallId call) {
  switch (call) {
    case proto::CallId::DeviceSynchronize:
    case proto::CallId::DeviceReset:
    case proto::CallId::StreamSynchronize:
    case proto::CallId::EventSynchronize:
    case proto::CallId::MemcpyHtoDInline:
    case proto::CallId::MemcpyHtoDStaged:
    case proto::CallId::MemcpyHtoDShared:
    case proto::CallId::MemcpyDtoHInline:
    case proto::CallId::MemcpyDtoHStaged:
    case proto::CallId::MemcpyDtoHShared:
    case proto::CallId::MemcpyDtoD:
    case proto::CallId::Memset:
    case proto::CallId::Memset2D:
    case proto::CallId::MemcpyArray:
    case proto::CallId::ModuleUnload:
      return true;
    default:
      return false;
  }
}

}  // namespace

void ChannelExecutor::forward_device_output(proto::CallId answered) {
  // After other calls the pipe is not read here (a system call on every reply): what the
  // driver printed then, if anything, the drain thread has picked up or the next such call will.
  const std::string text = setup_.device_output->take(driver_may_print(answered));
  for (size_t at = 0; at < text.size();) {
    const size_t n = std::min<size_t>(text.size() - at, proto::kMaxDeviceOutputRecord);
    const proto::ReplyHeader header{static_cast<uint32_t>(sizeof(proto::ReplyHeader) + n), proto::kDeviceOutputRecord,
                                    0, 0, 0, 0};
    if (!room_or_fail(output_.write_reply(header, {reinterpret_cast<const uint8_t*>(text.data()) + at, n}),
                      "reply"))
      return;
    at += n;
  }
  if (const uint64_t dropped = setup_.device_output->dropped(); dropped > device_output_dropped_) {
    log::executor().warn("vm={} kernels printed more than the guest took: {} bytes dropped", setup_.name,
                         dropped - device_output_dropped_);
    device_output_dropped_ = dropped;
  }
}

void ChannelExecutor::post_reply(const Request& request, int32_t status,
                                 std::span<const uint8_t> payload) {
  // What kernels printed by now goes first: the driver printed it during this call or an
  // earlier one, before the guest sees this call return.
  if (setup_.device_output != nullptr) {
    forward_device_output(request.call);
    if (broken()) return;
  }
  const proto::ReplyHeader header{static_cast<uint32_t>(sizeof(proto::ReplyHeader) + payload.size()),
                                  static_cast<uint16_t>(request.call), 0, request.seq, status,
                                  pending_async_error_};
  if (!room_or_fail(output_.write_reply(header, payload), "reply")) return;
  pending_async_error_ = 0;
  HopCounters::bump(setup_.counters->answered);
  auto& logger = log::executor();
  if (logger.should_log(spdlog::level::debug))
    logger.debug("vm={} seq={} call={} answered status={}", setup_.name, request.seq,
                 proto::call_name(request.call), status);
}

bool ChannelExecutor::room_or_fail(GuestOutput::Room room, const char* ring) {
  if (room == GuestOutput::Room::Corrupt || room == GuestOutput::Room::Stalled)
    fail_channel(GuestOutput::failure(room, ring));
  return room == GuestOutput::Room::Ready;
}

void ChannelExecutor::fail_channel(const std::string& why) {
  if (broken_.exchange(true)) return;
  log::executor().warn("vm={} seq={} channel closed: {}", setup_.name, trace_.seq(), why);
  output_.stop();
  output_.close_for_guest();
  if (source_ != nullptr) source_->end("executor closed the channel");  // no more requests are taken
}

bool ChannelExecutor::upload_holds(uint64_t size, const char* what) {
  auto ready = upload_ring_.available();
  if (ready && *ready >= size) return true;
  fail_channel(std::string(what) + " larger than the data the guest published");
  return false;
}

void ChannelExecutor::release_device(uint32_t device, bool keep_region_pinned) {
  // A context does not take its links with it: each is destroyed in it first.
  destroy_links_on(device);
  destroy_graphs_on(device);
  destroy_arrays_on(device);
  // What the tenant's other processes share with this one, before the context (executor_ipc.cpp).
  const uint64_t published = release_ipc_on(device);
  release_virtual_memory(device);
  if (!contexts_.destroy(device, keep_region_pinned)) return;
  device_budget().release(objects_.forget_device(device) - published);
}

void ChannelExecutor::release_all() {
  // Streams held by host functions go on, so that the contexts can end.
  HostFunctionQueue::of_process().release();
  release_virtual_memory(std::nullopt);
  for (uint32_t d = 0; d < contexts_.device_count(); ++d)
    release_device(d, /*keep_region_pinned=*/false);
  image_upload_.drop();
}

int32_t ChannelExecutor::handle(const RejectedCmd& cmd, Reply&) { return cmd.status; }

bool ChannelExecutor::heap_range_ok(uint64_t offset, uint64_t len) const {
  const uint64_t heap = setup_.geometry.heap.size;
  return offset <= heap && len <= heap - offset;
}

}  // namespace vgpud

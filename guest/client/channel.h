// One process's channel to vgpud: the request and reply rings, the bulk-data rings and the
// shared heap of one channel region. Thread-safe: calls from several threads are serialized.
//
// The shims (guest/cudart) only talk to vgpud through this class, and only through the process's
// one channel (guest/client/process.h); the members marked VGPU_CLIENT_API are what
// libvgpu-client.so.1 exports to them.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "guest/client/export.h"
#include "guest/client/parallel_copy.h"
#include "guest/transport/transport.h"
#include "vgpu/protocol/calls.h"
#include "vgpu/protocol/messages.h"
#include "vgpu/protocol/ring.h"

namespace vgpu::guest {

// What came back for one call. status is a CUresult value or a proto::Status value;
// 0 means success.
struct CallResult {
  int32_t status = 0;
  uint32_t payload_size = 0;  // reply payload bytes copied into the caller's buffer
};

// A piece of request payload; a request is the concatenation of its parts.
struct Part {
  const void* data;
  uint32_t size;
};

class Channel {
 public:
  // Connects (transport auto-selected), checks the region and says Hello. Not exported: the
  // shims share the process's channel (process_channel()); in-tree tools open their own.
  static Result<std::unique_ptr<Channel>, ConnectFailure> open();
  ~Channel();

  // Sends a request and waits for its reply. The reply payload is copied into `reply`
  // (at most reply.size() bytes; the rest is dropped).
  VGPU_CLIENT_API CallResult call(proto::CallId id, std::initializer_list<Part> parts,
                                  std::span<uint8_t> reply, uint16_t flags = 0);
  // Posts a stream-ordered request: no reply; an error surfaces later (take_async_error).
  // Returns a nonzero status only if the channel itself is broken.
  VGPU_CLIENT_API int32_t post(proto::CallId id, std::initializer_list<Part> parts,
                               uint16_t flags = 0);

  // Pageable copies through the upload/download rings, chunked and pipelined.
  // copy_to_device returns once vgpud has consumed the data when `wait` is true (cudaMemcpy),
  // else as soon as the data is staged (cudaMemcpyAsync: errors then surface later).
  VGPU_CLIENT_API int32_t copy_to_device(uint64_t dst, const void* src, uint64_t size,
                                         uint64_t stream, bool wait);
  VGPU_CLIENT_API int32_t copy_from_device(void* dst, uint64_t src, uint64_t size,
                                           uint64_t stream);
  // Sends a module image (fat binary) and loads it; returns the module id in *module.
  VGPU_CLIENT_API int32_t load_module(const void* image, uint64_t size, uint32_t* module);
  // Stages `blob` as the channel's pending image (BLOB_APPEND), then makes the call that takes
  // it (LINK_ADD), with no other thread's traffic in between.
  VGPU_CLIENT_API CallResult call_with_blob(proto::CallId id, std::initializer_list<Part> parts, const void* blob,
                                            uint64_t blob_size, std::span<uint8_t> reply);

  // The shared heap (cudaMallocHost memory): host-visible, registered with the GPU.
  uint8_t* heap_base() const { return heap_base_; }
  uint64_t heap_size() const { return heap_size_; }
  // The file the heap is mapped from and the offset of its first byte there (fd -1: none).
  BackingFile heap_file() const { return heap_file_; }

  // The device the calling thread works on (cudaSetDevice). Before sending a request the
  // channel posts SetDevice when the thread's device differs from the last one vgpud was told.
  VGPU_CLIENT_API static void set_thread_device(uint32_t device);
  VGPU_CLIENT_API static uint32_t thread_device();

  // First error of a posted call that vgpud reported since the last take; 0 if none.
  VGPU_CLIENT_API int32_t take_async_error();

  const proto::HelloReply& hello() const { return hello_; }
  std::string describe() const { return transport_->describe(); }
  // The process is exiting: vgpud may free the channel now (Transport::hand_back).
  void hand_back() { transport_->hand_back(); }

 private:
  explicit Channel(std::unique_ptr<Transport> transport);
  bool attach(ConnectFailure* failure);
  void place_heap(uint64_t address);

  // All below run with mutex_ held.
  uint64_t send_locked(proto::CallId id, std::initializer_list<Part> parts, uint16_t flags);
  bool wait_for_space_locked(proto::RingProducer& ring, uint64_t bytes);
  void print_device_output_locked(uint32_t length);
  CallResult wait_reply_locked(uint64_t seq, proto::CallId id, std::span<uint8_t> reply);
  int32_t stage_upload_locked(const void* src, uint64_t size, uint64_t* staged);
  int32_t send_blob_locked(const uint8_t* bytes, uint64_t size);
  void note_async_locked(int32_t status);
  void mark_broken_locked(const char* why);

  std::unique_ptr<Transport> transport_;
  std::mutex mutex_;
  ParallelCopier copier_{default_copy_threads()};  // staging copies of pageable memory
  proto::ChannelHeader* header_ = nullptr;
  proto::RingProducer submit_;
  proto::RingConsumer reply_;
  proto::RingProducer upload_;
  proto::RingConsumer download_;
  uint8_t* heap_base_ = nullptr;
  uint64_t heap_size_ = 0;
  BackingFile heap_file_;
  bool heap_placed_ = false;  // heap_base_ is a mapping of its own (place_heap), not the region's
  uint64_t next_seq_ = 1;
  uint32_t device_sent_ = 0;  // the device vgpud last heard about from SetDevice
  std::atomic<int32_t> async_error_{0};  // written with mutex_ held; taken without
  bool broken_ = false;
  proto::HelloReply hello_{};
};

}  // namespace vgpu::guest

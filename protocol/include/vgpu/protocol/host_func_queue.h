// The guest's host-function queue (HOST_FUNC_QUEUE): a block of the channel's shared heap in
// which vgpud hands the guest the host functions its streams and graphs have reached, and the
// guest says which have returned. docs/protocol.md §8 ("Host functions") tabulates it.
//
// vgpud writes `produced` and the entries; the guest writes `completed`. Each side keeps its own
// count and only ever stores its own word, so neither trusts what the other wrote: vgpud reads
// `completed` to know when to let a stream go on (a guest that lies only releases its own
// streams early), the guest reads entries that are ids of its own functions and ignores the rest.
#pragma once
#include <cstddef>
#include <cstdint>

namespace vgpu::proto {

struct HostFuncQueueHeader {
  uint64_t produced;       // vgpud: entries written so far; entry i is at entries[i % capacity]
  uint8_t reserved0[56];   // each side's word on a cache line of its own
  uint64_t completed;      // guest: entries whose function has returned, in order
  uint8_t reserved1[56];
  // uint64_t entries[capacity]: the guest's function ids
};
static_assert(sizeof(HostFuncQueueHeader) == 128 && offsetof(HostFuncQueueHeader, completed) == 64);

inline constexpr uint64_t kHostFuncQueueAlignment = 64;

// The bytes a queue of `capacity` entries takes in the heap.
constexpr uint64_t host_func_queue_bytes(uint32_t capacity) {
  return sizeof(HostFuncQueueHeader) + uint64_t{capacity} * sizeof(uint64_t);
}

}  // namespace vgpu::proto

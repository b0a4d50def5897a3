// Who the tenant's attached processes are, by worker slot: what TENANT_STATUS lists to the
// tenant's own guests (NVML's process list, vgpu-smi). It lives in the tenant's shared state
// (worker/tenant_state.h), which only that tenant's workers map, so a listing can never name
// another tenant's process.
//
// Each worker writes only its own slot (at HELLO, and when its set of contexts changes) and any
// worker of the tenant reads every slot. The name is guest text written while others may read
// it, so a record is a seqlock over atomic words: a reader that saw the sequence move retries,
// and a writer killed mid-write (odd sequence) leaves a slot that reads as absent until the
// daemon clears it.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#include "vgpu/protocol/limits.h"

namespace vgpud {

struct ProcessSnapshot {
  uint32_t pid = 0;
  uint32_t context_mask = 0;                           // bit d: a context on guest device d
  char name[vgpu::limits::kStatusProcessName] = {};    // NUL-terminated
};

class TenantProcesses {
 public:
  static constexpr uint32_t kSlots = vgpu::limits::kMaxTenantProcessSlots;

  // The worker in `slot`, at HELLO: the pid and name its guest claims (bounded, NUL-terminated
  // here; a guest may say HELLO again, which replaces them).
  void attach(uint32_t slot, uint32_t pid, std::string_view name) {
    if (slot >= kSlots) return;
    Record& r = records_[slot];
    char text[kNameBytes] = {};
    std::memcpy(text, name.data(), std::min(name.size(), kNameBytes - 1));
    begin_write(r);
    r.pid.store(pid, std::memory_order_relaxed);
    for (size_t w = 0; w < kNameWords; ++w) {
      uint64_t word = 0;
      std::memcpy(&word, text + w * 8, 8);
      r.name[w].store(word, std::memory_order_relaxed);
    }
    r.attached.store(1, std::memory_order_relaxed);
    end_write(r);
  }

  // The worker in `slot`: the guest devices it now has a context on.
  void set_context_mask(uint32_t slot, uint32_t mask) {
    if (slot >= kSlots) return;
    Record& r = records_[slot];
    begin_write(r);
    r.context_mask.store(mask, std::memory_order_relaxed);
    end_write(r);
  }

  // The daemon, once it reaped the worker in `slot` (nothing writes the slot any more).
  void clear(uint32_t slot) {
    if (slot >= kSlots) return;
    Record& r = records_[slot];
    r.attached.store(0, std::memory_order_relaxed);
    r.pid.store(0, std::memory_order_relaxed);
    r.context_mask.store(0, std::memory_order_relaxed);
    for (auto& w : r.name) w.store(0, std::memory_order_relaxed);
    r.seq.store(0, std::memory_order_release);
  }

  // The process in `slot`, or none: no process said HELLO there, or its worker is writing it
  // (or died writing it) through every retry.
  [[nodiscard]] std::optional<ProcessSnapshot> read(uint32_t slot) const {
    if (slot >= kSlots) return std::nullopt;
    const Record& r = records_[slot];
    for (int attempt = 0; attempt < 64; ++attempt) {
      const uint32_t before = r.seq.load(std::memory_order_acquire);
      if (before & 1) continue;
      ProcessSnapshot s;
      const bool attached = r.attached.load(std::memory_order_relaxed) != 0;
      s.pid = r.pid.load(std::memory_order_relaxed);
      s.context_mask = r.context_mask.load(std::memory_order_relaxed);
      for (size_t w = 0; w < kNameWords; ++w) {
        const uint64_t word = r.name[w].load(std::memory_order_relaxed);
        std::memcpy(s.name + w * 8, &word, 8);
      }
      std::atomic_thread_fence(std::memory_order_acquire);
      if (r.seq.load(std::memory_order_relaxed) != before) continue;
      if (!attached) return std::nullopt;
      s.name[kNameBytes - 1] = '\0';
      return s;
    }
    return std::nullopt;
  }

 private:
  static constexpr size_t kNameBytes = vgpu::limits::kStatusProcessName;
  static constexpr size_t kNameWords = kNameBytes / 8;
  static_assert(kNameBytes % 8 == 0);

  struct Record {
    std::atomic<uint32_t> seq{0};  // odd while the worker writes
    std::atomic<uint32_t> attached{0};
    std::atomic<uint32_t> pid{0};
    std::atomic<uint32_t> context_mask{0};
    std::atomic<uint64_t> name[kNameWords] = {};
  };

  static void begin_write(Record& r) {
    r.seq.fetch_add(1, std::memory_order_acq_rel);
    std::atomic_thread_fence(std::memory_order_release);
  }
  static void end_write(Record& r) { r.seq.fetch_add(1, std::memory_order_release); }

  Record records_[kSlots];
};

// Memory shared between processes must not hide a lock.
static_assert(std::atomic<uint64_t>::is_always_lock_free && std::atomic<uint32_t>::is_always_lock_free);

}  // namespace vgpud

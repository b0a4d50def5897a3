// A JIT link (cuLinkCreate ... cuLinkDestroy) a channel holds for its guest, and the pure pieces of
// the LINK_* handlers, kept apart so that unit tests reach them without a channel or a driver.
//
// The driver keeps pointers into what cuLinkCreate was given: it writes the info and error logs
// into vgpud's buffers, and the log sizes into the option values, until cuLinkDestroy. So those
// live in one heap block (LinkJitOptions) whose address never changes while the link is moved
// around in the channel's table.
#pragma once
#include <cuda.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "vgpu/protocol/limits.h"
#include "vgpud/executor/image_upload.h"

namespace vgpud {

// Each log buffer vgpud gives the linker; the driver cuts a longer log there. 128 KiB per link,
// at most kMaxLinks links per channel: bounded, so not charged to any tenant budget.
inline constexpr uint32_t kLinkLogBytes = 64 * 1024;

// What LINK_READ's `what` names.
enum class LinkOutput : uint32_t { Cubin = 0, InfoLog = 1, ErrorLog = 2 };

class LinkJitOptions {
 public:
  LinkJitOptions() {
    // Size options are values, not pointers: CUDA passes them cast to void*.
    set(0, CU_JIT_INFO_LOG_BUFFER, info_log_);
    set(1, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES, reinterpret_cast<void*>(uintptr_t{kLinkLogBytes}));
    set(2, CU_JIT_ERROR_LOG_BUFFER, error_log_);
    set(3, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES, reinterpret_cast<void*>(uintptr_t{kLinkLogBytes}));
    // The info log then says what the linker did (inputs, registers, spills), for the guest's
    // JIT_INFO_LOG as a local driver would write it.
    set(4, CU_JIT_LOG_VERBOSE, reinterpret_cast<void*>(uintptr_t{1}));
  }
  LinkJitOptions(const LinkJitOptions&) = delete;
  LinkJitOptions& operator=(const LinkJitOptions&) = delete;

  unsigned count() const { return static_cast<unsigned>(options_.size()); }
  CUjit_option* options() { return options_.data(); }
  void** values() { return values_.data(); }
  // The logs as text, without the NUL the driver ends them with (bounded by the buffer: a
  // driver that filled it to the last byte is not read past it).
  std::span<const uint8_t> info_log() const { return text(info_log_); }
  std::span<const uint8_t> error_log() const { return text(error_log_); }

 private:
  void set(size_t i, CUjit_option option, void* value) {
    options_[i] = option;
    values_[i] = value;
  }
  static std::span<const uint8_t> text(const char (&log)[kLinkLogBytes]) {
    return {reinterpret_cast<const uint8_t*>(log), strnlen(log, kLinkLogBytes)};
  }

  char info_log_[kLinkLogBytes] = {};
  char error_log_[kLinkLogBytes] = {};
  std::array<CUjit_option, 5> options_{};
  std::array<void*, 5> values_{};
};

struct Link {
  CUlinkState state = nullptr;
  uint32_t device = 0;                   // the guest device whose context made it
  std::unique_ptr<LinkJitOptions> jit;   // at a fixed address (see above)
  // The inputs the driver took, kept (and charged to module_image_memory) until the link is
  // destroyed: the driver says it keeps no reference to them, but a linker that read them at
  // cuLinkComplete would otherwise read freed memory.
  std::vector<UploadedImage> inputs;
  // cuLinkComplete's result once it was called (then no input joins any more); the cubin, owned
  // by `state`, once it succeeded.
  std::optional<CUresult> completion;
  std::span<const uint8_t> cubin;

  std::span<const uint8_t> output(LinkOutput what) const {
    switch (what) {
      case LinkOutput::Cubin: return cubin;
      case LinkOutput::InfoLog: return jit->info_log();
      case LinkOutput::ErrorLog: return jit->error_log();
    }
    return {};
  }
};

// The input types a guest may add: CUBIN, PTX, FATBINARY, OBJECT, LIBRARY. NVVM (LTO-IR) and
// anything newer are refused before the driver sees them.
inline bool link_input_type_ok(uint32_t type) {
  switch (type) {
    case CU_JIT_INPUT_CUBIN:
    case CU_JIT_INPUT_PTX:
    case CU_JIT_INPUT_FATBINARY:
    case CU_JIT_INPUT_OBJECT:
    case CU_JIT_INPUT_LIBRARY:
      return true;
    default:
      return false;
  }
}

// The piece of `whole` one LINK_READ returns: up to `length` bytes (and at most kMaxLinkRead,
// whatever the parser let through) from `offset`; none at or past the end.
inline std::span<const uint8_t> link_read_window(std::span<const uint8_t> whole, uint64_t offset,
                                                 uint32_t length) {
  if (offset >= whole.size()) return {};
  const uint64_t left = whole.size() - offset;
  const uint64_t n = std::min<uint64_t>({left, length, vgpu::limits::kMaxLinkRead});
  return whole.subspan(offset, n);
}

}  // namespace vgpud

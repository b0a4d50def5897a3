#include "guest/cuda/api.h"

#include <atomic>

#include "guest/client/log.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/host_functions.h"
#include "vgpu/protocol/messages.h"

namespace vgpu::cuda {

CUresult to_cu_result(int32_t status) noexcept {
  using proto::Status;
  if (status == 0) return CUDA_SUCCESS;
  switch (static_cast<Status>(status)) {
    case Status::MalformedMessage:
    case Status::UnknownCall:
      return CUDA_ERROR_UNKNOWN;  // a shim/daemon mismatch: nothing the program did
    case Status::VersionMismatch:
      return CUDA_ERROR_SYSTEM_DRIVER_MISMATCH;  // vgpud is older or newer than this shim
    case Status::LimitExceeded:
      return CUDA_ERROR_OUT_OF_MEMORY;  // a tenant quota ran out
    case Status::ChannelBroken:
      return CUDA_ERROR_DEVICE_UNAVAILABLE;  // the GPU is gone for this process
    case Status::DriverUnavailable:
      return CUDA_ERROR_NO_DEVICE;
    case Status::Ok:
      break;
  }
  // Anything else vgpud sends is a CUresult from its driver.
  if (status <= 0 || status >= 0x10000) return CUDA_ERROR_UNKNOWN;
  const auto result = static_cast<CUresult>(status);
  if (is_sticky(result)) {
    if (Context* c = current_context()) {
      int none = 0;
      c->sticky.compare_exchange_strong(none, status);
      set_device_sticky(c->device, status);
    }
  }
  return result;
}

bool is_sticky(CUresult r) noexcept {
  switch (r) {
    case CUDA_ERROR_ILLEGAL_ADDRESS:
    case CUDA_ERROR_LAUNCH_TIMEOUT:
    case CUDA_ERROR_ASSERT:
    case CUDA_ERROR_HARDWARE_STACK_ERROR:
    case CUDA_ERROR_ILLEGAL_INSTRUCTION:
    case CUDA_ERROR_MISALIGNED_ADDRESS:
    case CUDA_ERROR_INVALID_ADDRESS_SPACE:
    case CUDA_ERROR_INVALID_PC:
    case CUDA_ERROR_LAUNCH_FAILED:
    case CUDA_ERROR_ECC_UNCORRECTABLE:
      return true;
    default:
      return false;
  }
}

namespace {
thread_local bool t_entered = false;
}  // namespace

bool swap_entered(bool value) noexcept {
  const bool was = t_entered;
  t_entered = value;
  return was;
}

void log_failed_call(const char* entry_point, CUresult r) noexcept {
  if (!guest::log_enabled(guest::LogLevel::Debug)) return;
  const char* name = nullptr;
  if (cuGetErrorName(r, &name) != CUDA_SUCCESS) name = "an unknown error";
  guest::log(guest::LogLevel::Debug, "%s returns %s (%d)", entry_point != nullptr ? entry_point : "?", name,
             static_cast<int>(r));
}

CUresult take_async_error() noexcept {
  guest::Channel* ch = channel();
  if (ch == nullptr) return CUDA_SUCCESS;
  const int32_t status = ch->take_async_error();
  if (status == 0) return CUDA_SUCCESS;
  const CUresult r = to_cu_result(status);
  // The call that returns it did nothing wrong: say where the error came from, once.
  static std::atomic<bool> said{false};
  if (!said.exchange(true)) {
    const char* name = nullptr;
    if (cuGetErrorName(r, &name) != CUDA_SUCCESS) name = "an unknown error";
    guest::log(guest::LogLevel::Warn, "earlier stream-ordered work failed on the GPU host (%s); reported by a later call",
               name);
  }
  guest::log(guest::LogLevel::Debug, "asynchronous error %d reported", status);
  return r;
}

CUresult enter_context(guest::Channel** channel_out, Context** context_out) noexcept {
  // As on the driver: a host function may not call CUDA (it runs while a stream waits for it).
  if (in_host_function()) return CUDA_ERROR_NOT_PERMITTED;
  guest::Channel* ch = channel();
  if (ch == nullptr) return CUDA_ERROR_NOT_INITIALIZED;
  Context* c = current_context();
  if (c == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  if (int sticky = c->sticky.load(std::memory_order_relaxed); sticky != 0) return static_cast<CUresult>(sticky);
  if (int sticky = device_sticky(c->device); sticky != 0) return static_cast<CUresult>(sticky);
  guest::Channel::set_thread_device(c->device);
  t_entered = true;
  *channel_out = ch;
  if (context_out != nullptr) *context_out = c;
  return CUDA_SUCCESS;
}

CUresult enter_context_or_device(guest::Channel** channel_out, uint32_t device) noexcept {
  if (current_context() != nullptr) return enter_context(channel_out, nullptr);
  if (in_host_function()) return CUDA_ERROR_NOT_PERMITTED;
  guest::Channel* ch = channel();
  if (ch == nullptr) return CUDA_ERROR_NOT_INITIALIZED;
  if (device >= device_count()) return CUDA_ERROR_INVALID_DEVICE;
  if (int sticky = device_sticky(device); sticky != 0) return static_cast<CUresult>(sticky);
  guest::Channel::set_thread_device(device);
  t_entered = true;
  *channel_out = ch;
  return CUDA_SUCCESS;
}

}  // namespace vgpu::cuda

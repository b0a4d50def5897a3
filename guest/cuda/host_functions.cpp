// The process's host functions and the thread that runs them (host_functions.h).
#include "guest/cuda/host_functions.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "guest/client/host_heap.h"
#include "guest/client/log.h"
#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "vgpu/protocol/host_func_queue.h"

namespace vgpu::cuda {
namespace {

namespace proto = vgpu::proto;

// Entries in flight at once are the driver's callbacks waiting on the host (a handful), so a
// small queue never fills in practice; vgpud waits for room if it does.
constexpr uint32_t kQueueCapacity = 256;

thread_local bool t_in_host_function = false;

struct Function {
  CUhostFn fn;
  void* data;
  uint32_t holds;             // kept: the graphs and executable graphs that hold it; 0: runs once
  void (*forget)(void*);      // called with data once it is forgotten, if set
  void forgotten() const {
    if (forget != nullptr) forget(data);
  }
};

// Never destroyed: the thread may be running while the process exits.
class HostFunctions {
 public:
  CUresult start(guest::Channel& ch) {
    std::lock_guard lock(start_mu_);
    if (queue_ != nullptr) return CUDA_SUCCESS;
    guest::HostHeap* heap = guest::process_host_heap();
    if (heap == nullptr) return CUDA_ERROR_NOT_INITIALIZED;
    const uint64_t bytes = proto::host_func_queue_bytes(kQueueCapacity);
    void* block = heap->allocate_internal(bytes, proto::kHostFuncQueueAlignment);
    uint64_t offset = 0;
    if (block == nullptr || !heap->range().offset_of(block, bytes, &offset)) {
      if (block != nullptr) heap->release(block);
      return CUDA_ERROR_OUT_OF_MEMORY;
    }
    std::memset(block, 0, bytes);
    const guest::CallResult r =
        guest::call<proto::CallId::HostFuncQueue>(ch, proto::HostFuncQueueRequest{offset, kQueueCapacity, 0}, nullptr);
    if (r.status != 0) {
      heap->release(block);
      return to_cu_result(r.status);
    }
    queue_ = static_cast<uint8_t*>(block);
    std::thread([this] { serve(); }).detach();
    return CUDA_SUCCESS;
  }

  uint64_t add(CUhostFn fn, void* data, bool kept, void (*forget)(void*)) {
    std::lock_guard lock(mu_);
    const uint64_t id = next_id_++;
    functions_.emplace(id, Function{fn, data, kept ? 1u : 0u, forget});
    return id;
  }

  void hold(uint64_t id) {
    std::lock_guard lock(mu_);
    if (auto it = functions_.find(id); it != functions_.end()) ++it->second.holds;
  }

  void release(uint64_t id) { forget_if([&](Function& f) { return --f.holds == 0; }, id); }

  bool find(uint64_t id, CUhostFn* fn, void** data) {
    std::lock_guard lock(mu_);
    auto it = functions_.find(id);
    if (it == functions_.end() || it->second.fn == nullptr) return false;
    *fn = it->second.fn;
    *data = it->second.data;
    return true;
  }
  void drop(uint64_t id) { forget_if([](Function&) { return true; }, id); }

  void expect(size_t count) {
    expected_.fetch_add(static_cast<int64_t>(count), std::memory_order_acq_rel);
    std::lock_guard lock(mu_);
    wake_.notify_one();
  }

 private:
  // Forgets function `id` when `now` says so, telling its owner outside the lock.
  template <typename Now>
  void forget_if(Now&& now, uint64_t id) {
    Function gone{};
    {
      std::lock_guard lock(mu_);
      auto it = functions_.find(id);
      if (it == functions_.end() || !now(it->second)) return;
      gone = it->second;
      functions_.erase(it);
    }
    gone.forgotten();
  }

  uint64_t produced() const {
    return __atomic_load_n(reinterpret_cast<const uint64_t*>(queue_ + offsetof(proto::HostFuncQueueHeader, produced)),
                           __ATOMIC_ACQUIRE);
  }
  uint64_t entry(uint64_t index) const {
    const auto* entries = reinterpret_cast<const uint64_t*>(queue_ + sizeof(proto::HostFuncQueueHeader));
    return __atomic_load_n(&entries[index % kQueueCapacity], __ATOMIC_RELAXED);
  }
  void complete(uint64_t count) {
    __atomic_store_n(reinterpret_cast<uint64_t*>(queue_ + offsetof(proto::HostFuncQueueHeader, completed)), count,
                     __ATOMIC_RELEASE);
  }

  // Runs the function `id` names, if it is one of the process's (vgpud only hands back ids it
  // was given, but the queue is shared memory: anything else is skipped).
  void run(uint64_t id) {
    Function f{};
    {
      std::lock_guard lock(mu_);
      auto it = functions_.find(id);
      if (it == functions_.end() || it->second.fn == nullptr) return;  // a graph's resource runs nothing
      f = it->second;
      if (f.holds == 0) functions_.erase(it);
    }
    t_in_host_function = true;
    f.fn(f.data);
    t_in_host_function = false;
    if (f.holds == 0) f.forgotten();
  }

  // The thread: takes each entry vgpud wrote, in order, runs it and says so. While functions are
  // expected it watches the queue closely (yielding, then naps of up to 200 µs); otherwise it
  // sleeps, looking every 100 ms in case an expectation was missed (a launch that failed on
  // the host without running its functions leaves one behind, which only makes it look more).
  void serve() {
    uint64_t taken = 0;
    auto nap = std::chrono::microseconds(0);
    for (int idle = 0;;) {
      const uint64_t available = produced();
      if (available > taken) {
        for (; taken < available; ++taken) {
          run(entry(taken));
          complete(taken + 1);
          if (expected_.fetch_sub(1, std::memory_order_acq_rel) <= 0) expected_.fetch_add(1, std::memory_order_relaxed);
        }
        idle = 0;
        nap = std::chrono::microseconds(0);
        continue;
      }
      if (expected_.load(std::memory_order_acquire) <= 0) {
        std::unique_lock lock(mu_);
        wake_.wait_for(lock, std::chrono::milliseconds(100),
                       [&] { return expected_.load(std::memory_order_acquire) > 0; });
        continue;
      }
      if (++idle < 200) {
        std::this_thread::yield();
        continue;
      }
      nap = std::min(std::chrono::microseconds(200), nap + nap / 2 + std::chrono::microseconds(5));
      std::this_thread::sleep_for(nap);
    }
  }

  std::mutex start_mu_;
  uint8_t* queue_ = nullptr;  // set once, under start_mu_, before the thread starts
  std::mutex mu_;
  std::condition_variable wake_;
  std::unordered_map<uint64_t, Function> functions_;  // guarded by mu_
  uint64_t next_id_ = 1;                              // guarded by mu_
  std::atomic<int64_t> expected_{0};
};

HostFunctions& host_functions() {
  static auto* functions = new HostFunctions;
  return *functions;
}

}  // namespace

HostFunctionRefs::HostFunctionRefs(const HostFunctionRefs& other) : ids_(other.ids_), runs_(other.runs_) {
  for (uint64_t id : ids_) host_functions().hold(id);
}

HostFunctionRefs::~HostFunctionRefs() {
  for (uint64_t id : ids_) host_functions().release(id);
}

void HostFunctionRefs::keep(const HostFunctionRefs& other) {
  ids_.reserve(ids_.size() + other.ids_.size());
  for (uint64_t id : other.ids_) {
    host_functions().hold(id);
    ids_.push_back(id);
  }
}

bool HostFunctionRefs::replace(uint64_t old_id, uint64_t new_id) {
  auto it = std::find(ids_.begin(), ids_.end(), old_id);
  if (it == ids_.end()) return false;
  *it = new_id;
  host_functions().release(old_id);
  return true;
}

CUresult start_host_functions(guest::Channel& ch) noexcept {
  try {
    return host_functions().start(ch);
  } catch (...) {
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
}

uint64_t add_host_function(CUhostFn fn, void* data, bool kept, void (*forget)(void*)) {
  return host_functions().add(fn, data, kept, forget);
}
void drop_host_function(uint64_t id) noexcept { host_functions().drop(id); }
bool host_function_of(uint64_t id, CUhostFn* fn, void** data) noexcept { return host_functions().find(id, fn, data); }
void expect_host_functions(size_t count) noexcept {
  if (count != 0) host_functions().expect(count);
}
bool in_host_function() noexcept { return t_in_host_function; }

}  // namespace vgpu::cuda

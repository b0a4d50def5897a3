#include "guest/cuda/context_local_storage.h"

#include <algorithm>
#include <utility>

namespace vgpu::cuda {
namespace {

// A destructor may put new values, whose destructors run in a further round; a destructor
// that always puts again would loop forever, so after this many rounds what is left is
// dropped without its destructor, as POSIX does for thread-specific data
// (PTHREAD_DESTRUCTOR_ITERATIONS is 4 on Linux).
constexpr int kDestructorRounds = 4;

}  // namespace

void ContextLocalStorage::put(void* key, void* value, Destructor dtor) {
  std::lock_guard lock(mutex_);
  for (Slot& s : slots_) {
    if (s.key == key) {
      s.value = value;
      s.dtor = dtor;
      return;
    }
  }
  slots_.push_back(Slot{key, value, dtor});
}

bool ContextLocalStorage::get(void* key, void** value) const {
  std::lock_guard lock(mutex_);
  for (const Slot& s : slots_) {
    if (s.key == key) {
      *value = s.value;
      return true;
    }
  }
  return false;
}

bool ContextLocalStorage::remove(void* key) {
  std::lock_guard lock(mutex_);
  auto it = std::find_if(slots_.begin(), slots_.end(), [&](const Slot& s) { return s.key == key; });
  if (it == slots_.end()) return false;
  slots_.erase(it);
  return true;
}

void ContextLocalStorage::destroy_all(CUcontext context) {
  for (int round = 0; round < kDestructorRounds; ++round) {
    std::vector<Slot> taken;
    {
      std::lock_guard lock(mutex_);
      taken.swap(slots_);
    }
    if (taken.empty()) return;
    // Outside the lock: the runtime's destructors call back into the storage.
    for (const Slot& s : taken) {
      if (s.dtor != nullptr) s.dtor(context, s.key, s.value);
    }
  }
  std::lock_guard lock(mutex_);
  slots_.clear();
}

}  // namespace vgpu::cuda

// Context-local storage: the slots NVIDIA's runtime keeps per context through a private export
// table of the driver (export_tables.h): put, get and delete by key, with a destructor run when
// the context goes (destroyed, or a primary context reset or released for the last time).
#pragma once
#include <cuda.h>

#include <mutex>
#include <vector>

namespace vgpu::cuda {

class ContextLocalStorage {
 public:
  using Destructor = void (*)(CUcontext context, void* key, void* value);

  // Sets key's value (and destructor), replacing any earlier one without running its destructor.
  void put(void* key, void* value, Destructor dtor);
  // False when key has no value: the runtime relies on a first get failing.
  bool get(void* key, void** value) const;
  // Forgets key without running its destructor; false when absent.
  bool remove(void* key);
  // Runs every destructor (outside the lock; a destructor may call put/get/remove) and empties
  // the storage. `context` is passed to the destructors.
  void destroy_all(CUcontext context);

 private:
  struct Slot {
    void* key;
    void* value;
    Destructor dtor;
  };
  mutable std::mutex mutex_;
  std::vector<Slot> slots_;
};

}  // namespace vgpu::cuda

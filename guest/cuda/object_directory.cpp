// Functions and events by vgpud's id (handles.h): what vgpud names by id in an answer (a captured
// graph node's kernel or event) becomes the handle the program holds. Ids are never reused in a
// channel, and an object leaves its directory before it is freed.
#include <mutex>
#include <unordered_map>

#include "guest/cuda/handles.h"

namespace vgpu::cuda {
namespace {

template <typename Object>
class Directory {
 public:
  void add(Object* o) noexcept {
    try {
      std::lock_guard lock(mu_);
      by_wire_[o->wire] = o;
    } catch (...) {
      // Without memory the object is only not found by id (its getters say so); nothing breaks.
    }
  }
  void remove(const Object* o) noexcept {
    std::lock_guard lock(mu_);
    if (auto it = by_wire_.find(o->wire); it != by_wire_.end() && it->second == o) by_wire_.erase(it);
  }
  Object* find(uint32_t wire) noexcept {
    std::lock_guard lock(mu_);
    auto it = by_wire_.find(wire);
    return it != by_wire_.end() ? it->second : nullptr;
  }

 private:
  std::mutex mu_;
  std::unordered_map<uint32_t, Object*> by_wire_;
};

// Never destroyed: objects may be forgotten while the process exits.
Directory<FunctionObject>& functions() {
  static auto* d = new Directory<FunctionObject>;
  return *d;
}
Directory<EventObject>& events() {
  static auto* d = new Directory<EventObject>;
  return *d;
}

}  // namespace

void register_function(FunctionObject* f) noexcept { functions().add(f); }
void forget_function(const FunctionObject* f) noexcept { functions().remove(f); }
FunctionObject* function_by_wire(uint32_t wire) noexcept {
  FunctionObject* f = functions().find(wire);
  return f != nullptr && f->kind == HandleKind::Function ? f : nullptr;
}
void register_event(EventObject* e) noexcept { events().add(e); }
void forget_event(const EventObject* e) noexcept { events().remove(e); }
EventObject* event_by_wire(uint32_t wire) noexcept {
  EventObject* e = events().find(wire);
  return e != nullptr && e->kind == HandleKind::Event ? e : nullptr;
}

}  // namespace vgpu::cuda

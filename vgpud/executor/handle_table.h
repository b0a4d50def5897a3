// A per-channel table from the opaque ids a guest holds to driver objects. Ids are never
// reused within a channel, so a stale or forged id is simply not found.
#pragma once
#include <cstdint>
#include <unordered_map>
#include <utility>

namespace vgpud {

template <typename Key, typename Value>
class HandleTable {
 public:
  HandleTable(Key first_id, size_t capacity) : next_id_(first_id), capacity_(capacity) {}

  bool full() const { return items_.size() >= capacity_; }

  // Inserts and returns the new id; the caller checked full() before creating the object.
  Key insert(Value v) {
    const Key id = next_id_++;
    items_.emplace(id, std::move(v));
    return id;
  }

  Value* find(Key id) {
    auto it = items_.find(id);
    return it == items_.end() ? nullptr : &it->second;
  }
  const Value* find(Key id) const {
    auto it = items_.find(id);
    return it == items_.end() ? nullptr : &it->second;
  }

  bool erase(Key id) { return items_.erase(id) != 0; }

  size_t size() const { return items_.size(); }

  template <typename Fn>
  void for_each(Fn&& fn) {
    for (auto& [id, v] : items_) fn(id, v);
  }

  // Removes every entry for which pred(value) holds.
  template <typename Pred>
  void erase_if(Pred&& pred) {
    std::erase_if(items_, [&](const auto& entry) { return pred(entry.second); });
  }

  void clear() { items_.clear(); }

 private:
  std::unordered_map<Key, Value> items_;
  Key next_id_;
  size_t capacity_;
};

}  // namespace vgpud

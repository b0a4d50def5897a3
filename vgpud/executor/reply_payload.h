// How handlers build a reply's payload: the reply structs of protocol/messages.h, appended in
// order as raw bytes (their layouts are fixed by static_asserts there).
#pragma once
#include <cstdint>
#include <type_traits>
#include <vector>

namespace vgpud {

template <typename T>
void put(std::vector<uint8_t>& out, const T& value) {
  static_assert(std::is_trivially_copyable_v<T>, "a wire struct");
  const auto* p = reinterpret_cast<const uint8_t*>(&value);
  out.insert(out.end(), p, p + sizeof value);
}

}  // namespace vgpud

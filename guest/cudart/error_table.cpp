#include "guest/cudart/error_table.h"

#include <algorithm>
#include <iterator>

namespace vgpu::cudart {
namespace {

struct ErrorEntry {
  int value;
  const char* name;
  const char* text;
};

// Generated from driver_types.h and error_strings.tsv, sorted by value.
constexpr ErrorEntry kErrors[] = {
#include "error_table.inc"
};

constexpr bool sorted_by_value() {
  for (std::size_t i = 1; i < std::size(kErrors); ++i) {
    if (kErrors[i - 1].value >= kErrors[i].value) return false;
  }
  return true;
}
static_assert(sorted_by_value(), "error_table.inc must be sorted by value without duplicates");

const ErrorEntry* find(int value) {
  const ErrorEntry* end = std::end(kErrors);
  const ErrorEntry* it = std::lower_bound(std::begin(kErrors), end, value,
                                          [](const ErrorEntry& e, int v) { return e.value < v; });
  return it != end && it->value == value ? it : nullptr;
}

}  // namespace

bool is_cuda_error(int value) { return find(value) != nullptr; }

const char* cuda_error_name(int value) {
  const ErrorEntry* e = find(value);
  return e ? e->name : nullptr;
}

const char* cuda_error_text(int value) {
  const ErrorEntry* e = find(value);
  return e ? e->text : nullptr;
}

}  // namespace vgpu::cudart

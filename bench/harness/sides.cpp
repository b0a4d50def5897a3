#include "bench/harness/sides.h"

#include <algorithm>
#include <sstream>

namespace bench {

const char* side_key(SideId side) {
  switch (side) {
    case SideId::Native:
      return "native";
    case SideId::Runtime:
      return "runtime";
    case SideId::Driver:
      return "driver";
  }
  return "?";
}

const char* side_title(SideId side) {
  switch (side) {
    case SideId::Native:
      return "native";
    case SideId::Runtime:
      return "runtime shim";
    case SideId::Driver:
      return "driver shim";
  }
  return "?";
}

bool case_has_side(ChildKind kind, SideId side) {
  return kind == ChildKind::Cuda || side != SideId::Driver;
}

vgpu::Result<SideSelection, std::string> parse_sides(const std::string& list) {
  SideSelection out;
  bool saw_all = false;
  std::vector<bool> wanted(std::size(kAllSides), false);
  std::istringstream in(list);
  for (std::string word; std::getline(in, word, ',');) {
    if (word.empty()) continue;
    if (word == "all") {
      std::fill(wanted.begin(), wanted.end(), true);
      saw_all = true;
      continue;
    }
    const auto* found = std::find_if(std::begin(kAllSides), std::end(kAllSides),
                                     [&](SideId s) { return word == side_key(s); });
    if (found == std::end(kAllSides))
      return vgpu::Err{"no side named '" + word + "' (sides: native, runtime, driver, all)"};
    wanted[static_cast<size_t>(found - std::begin(kAllSides))] = true;
  }
  for (size_t i = 0; i < wanted.size(); ++i)
    if (wanted[i]) out.sides.push_back(kAllSides[i]);
  if (out.sides.empty()) return vgpu::Err{std::string("--sides names no side")};
  // Named sides must run; "all" (even beside names) only asks for what is there.
  out.explicit_choice = !saw_all;
  return out;
}

std::vector<SideId> side_order(const std::vector<SideId>& sides, int round) {
  std::vector<SideId> out = sides;
  if (!out.empty())
    std::rotate(out.begin(), out.begin() + static_cast<long>(round % static_cast<int>(out.size())),
                out.end());
  return out;
}

}  // namespace bench

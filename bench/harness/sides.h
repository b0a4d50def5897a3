// The sides a case runs on (bench/README.md): natively, through vgpu's runtime shim
// (libcudart.so.13), and NVIDIA's own runtime through vgpu's driver shim (libcuda.so.1).
// Names, the --sides list, which sides a kind of case has, and the order within a round.
#pragma once
#include <string>
#include <vector>

#include "bench/harness/cases.h"
#include "vgpu/common/result.h"

namespace bench {

// In table order: native first, since every ratio is to it.
enum class SideId { Native, Runtime, Driver };
inline constexpr SideId kAllSides[] = {SideId::Native, SideId::Runtime, SideId::Driver};

// "native", "runtime", "driver": the --sides words, the JSON keys, the table's column prefixes.
const char* side_key(SideId side);
// "native", "runtime shim", "driver shim": for messages and the README's prose.
const char* side_title(SideId side);

// The CUDA cases have all three sides. The transport cases have two: the floor (native) and
// vgpud through the guest client, which both shims share; that one is filed as the runtime
// side, so a transport case never has a driver side.
bool case_has_side(ChildKind kind, SideId side);

struct SideSelection {
  std::vector<SideId> sides;     // in table order, no repeats
  bool explicit_choice = false;  // false for "all": a side that cannot run is skipped, not fatal
};
// "all" or a comma-separated list of side_key words.
vgpu::Result<SideSelection, std::string> parse_sides(const std::string& list);

// The order the given sides (in table order) run in, in round `round`: rotated by one each
// round, so that each side goes first equally often and none always runs on a warmer machine.
std::vector<SideId> side_order(const std::vector<SideId>& sides, int round);

}  // namespace bench

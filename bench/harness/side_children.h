// How each side's case child is started (bench/README.md): which program, which libraries come
// first on its LD_LIBRARY_PATH, which vgpud it talks to; and which of the asked-for sides can
// run at all with the parts this build or bundle has.
#pragma once
#include <string>
#include <vector>

#include "bench/harness/cases.h"
#include "bench/harness/child.h"
#include "bench/harness/options.h"
#include "bench/harness/sides.h"
#include "vgpu/common/result.h"

namespace bench {

// The child for one kind of case on one side (which case_has_side must allow). `socket` is the
// vgpud socket the remoted sides use.
ChildSpec side_child_spec(ChildKind kind, SideId side, const Options& o, const std::string& socket);

// Empty when the parts a side needs beyond the common ones are there (for the driver side: the
// static-runtime child and vgpu's libcuda.so.1 with its client), else what is missing.
std::string missing_side_parts(SideId side, const Options& o);

// The sides this run uses: those asked for that some selected case has and whose parts are
// there. A missing side named in --sides fails the run; one only wished for by "all" is
// dropped with a line in *notes (a build without nvcc, CI's fake-driver smoke run).
vgpu::Result<std::vector<SideId>, std::string> resolve_sides(const Options& o,
                                                             const std::vector<CaseSpec>& cases,
                                                             std::vector<std::string>* notes);

}  // namespace bench

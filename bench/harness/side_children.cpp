#include "bench/harness/side_children.h"

#include <unistd.h>

#include <algorithm>

namespace bench {

namespace {

std::string with_extra(const std::string& dir, const std::string& extra) {
  return extra.empty() ? dir : dir + ":" + extra;
}

std::string stderr_path(const Options& o, ChildKind kind, SideId side) {
  return o.work_dir + "/" + (kind == ChildKind::Cuda ? "cuda-" : "transport-") + side_key(side) +
         ".stderr";
}

}  // namespace

ChildSpec side_child_spec(ChildKind kind, SideId side, const Options& o,
                          const std::string& socket) {
  // The remoted sides find vgpud the same way every vgpu guest program does.
  const std::map<std::string, std::string> remoted_env = {{"VGPU_SOCKET", socket},
                                                          {"VGPU_TRANSPORT", "local"}};
  ChildSpec spec;
  spec.stderr_path = stderr_path(o, kind, side);
  if (kind == ChildKind::Transport) {
    // The floor is the same rings between two threads of one process; the remoted side is the
    // guest client both shims use, through vgpud.
    if (side == SideId::Native) {
      spec.label = "transport floor";
      spec.argv = {o.transport_cases, "--floor"};
    } else {
      spec.label = "transport vgpu";
      spec.argv = {o.transport_cases};
      spec.env = remoted_env;
    }
    return spec;
  }
  spec.label = std::string("cuda ") + side_title(side);
  switch (side) {
    case SideId::Native:
      spec.argv = {o.cuda_cases};
      spec.env = {{"LD_LIBRARY_PATH", o.cuda_lib}};
      break;
    case SideId::Runtime:
      // The shared-runtime child finds vgpu's libcudart.so.13 before NVIDIA's.
      spec.argv = {o.cuda_cases};
      spec.env = remoted_env;
      spec.env["LD_LIBRARY_PATH"] = with_extra(o.shim_dir, o.extra_lib_dir);
      break;
    case SideId::Driver:
      // NVIDIA's runtime, linked into the child, dlopens libcuda.so.1 and finds vgpu's first.
      // The real driver stays installed: the runtime never reaches it by that name.
      spec.argv = {o.cuda_static_cases};
      spec.env = remoted_env;
      spec.env["LD_LIBRARY_PATH"] = with_extra(o.driver_shim_dir, o.extra_lib_dir);
      break;
  }
  return spec;
}

std::string missing_side_parts(SideId side, const Options& o) {
  if (side != SideId::Driver) return "";  // the common parts: a failed start says what is wrong
  std::vector<std::string> missing;
  if (access(o.cuda_static_cases.c_str(), X_OK) != 0) missing.push_back(o.cuda_static_cases);
  for (const char* lib : {"/libcuda.so.1", "/libvgpu-client.so.1"})
    if (access((o.driver_shim_dir + lib).c_str(), R_OK) != 0)
      missing.push_back(o.driver_shim_dir + lib);
  std::string out;
  for (const std::string& m : missing) out += (out.empty() ? "" : ", ") + m;
  return out.empty() ? "" : "no " + out;
}

vgpu::Result<std::vector<SideId>, std::string> resolve_sides(const Options& o,
                                                             const std::vector<CaseSpec>& cases,
                                                             std::vector<std::string>* notes) {
  std::vector<SideId> out;
  for (SideId side : o.sides.sides) {
    const bool used = std::any_of(cases.begin(), cases.end(),
                                  [&](const CaseSpec& c) { return case_has_side(c.child, side); });
    if (!used) continue;
    const std::string missing = missing_side_parts(side, o);
    if (missing.empty()) {
      out.push_back(side);
    } else if (o.sides.explicit_choice) {
      return vgpu::Err{std::string("the ") + side_title(side) + " side cannot run: " + missing};
    } else {
      notes->push_back(std::string("the ") + side_title(side) + " side was skipped: " + missing);
    }
  }
  if (out.empty())
    return vgpu::Err{std::string("none of the selected cases runs on the selected sides")};
  return out;
}

}  // namespace bench

// The side selection of vgpu-bench: --sides, the defaults that find each side's parts in a
// build tree or a bundle, which sides a run keeps, and how each side's child is started.
#include "bench/harness/sides.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "bench/harness/options.h"
#include "bench/harness/side_children.h"

using namespace bench;

namespace {

vgpu::Result<Options, std::string> parse(std::vector<const char*> args,
                                         const std::string& own_dir = "/nonexistent/bench") {
  args.insert(args.begin(), "vgpu-bench");
  return parse_options(static_cast<int>(args.size()), args.data(), own_dir);
}

// A folder that is removed again at the end of the test.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/vgpu-bench-test.XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  void touch(const std::string& relative, bool executable = false) const {
    const std::filesystem::path p = path + "/" + relative;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << "x";
    if (executable) chmod(p.c_str(), 0755);
  }
};

}  // namespace

TEST_CASE("--sides picks sides in table order; all is the default", "[bench]") {
  auto o = parse({"--sides", "driver,native"});
  REQUIRE(o);
  CHECK(o->sides.sides == std::vector<SideId>{SideId::Native, SideId::Driver});
  CHECK(o->sides.explicit_choice);

  auto d = parse({});
  REQUIRE(d);
  CHECK(d->sides.sides == std::vector<SideId>{SideId::Native, SideId::Runtime, SideId::Driver});
  CHECK_FALSE(d->sides.explicit_choice);

  auto bad = parse({"--sides", "native,remote"});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().find("no side named 'remote'") != std::string::npos);
  CHECK_FALSE(parse({"--sides", ","}));
}

TEST_CASE("each side goes first in turn", "[bench]") {
  const std::vector<SideId> all = {SideId::Native, SideId::Runtime, SideId::Driver};
  CHECK(side_order(all, 0) == all);
  CHECK(side_order(all, 1) == std::vector<SideId>{SideId::Runtime, SideId::Driver, SideId::Native});
  CHECK(side_order(all, 2) == std::vector<SideId>{SideId::Driver, SideId::Native, SideId::Runtime});
  CHECK(side_order(all, 3) == all);
  const std::vector<SideId> two = {SideId::Native, SideId::Runtime};
  CHECK(side_order(two, 1) == std::vector<SideId>{SideId::Runtime, SideId::Native});
  CHECK_FALSE(case_has_side(ChildKind::Transport, SideId::Driver));
  CHECK(case_has_side(ChildKind::Transport, SideId::Runtime));
  CHECK(case_has_side(ChildKind::Cuda, SideId::Driver));
}

TEST_CASE("the defaults find the shims in a build tree, else in a bundle", "[bench]") {
  TempDir build;
  build.touch("bench/vgpu-bench", true);  // the defaults go through the harness's own folder
  build.touch("guest/lib/libcudart.so.13");
  build.touch("guest/lib/libcuda.so.1");
  build.touch("vgpud/vgpud", true);
  auto b = parse({}, build.path + "/bench");
  REQUIRE(b);
  CHECK(b->shim_dir == build.path + "/bench/../guest/lib");
  CHECK(b->driver_shim_dir == build.path + "/bench/../guest/lib");
  CHECK(b->vgpud == build.path + "/bench/../vgpud/vgpud");
  CHECK(b->cuda_static_cases == build.path + "/bench/vgpu-bench-cuda-static");

  TempDir bundle;  // test/gpu/make-bundle.sh's layout
  bundle.touch("bench/vgpu-bench", true);
  bundle.touch("driver/libcuda.so.1");
  auto u = parse({}, bundle.path + "/bench");
  REQUIRE(u);
  CHECK(u->shim_dir == bundle.path + "/bench/../shim");
  CHECK(u->driver_shim_dir == bundle.path + "/bench/../driver");
  CHECK(u->vgpud == bundle.path + "/bench/../bin/vgpud");
}

TEST_CASE("a driver side without its parts is skipped when wished for, fatal when named",
          "[bench]") {
  TempDir dir;
  std::vector<std::string> unknown;
  const auto cuda = select_cases("launch_sync", &unknown);
  const auto transport = select_cases("transport", &unknown);
  const auto both = select_cases("launch_sync,transport", &unknown);

  auto o = parse({"--driver-shim-dir", dir.path.c_str(), "--cuda-static-cases",
                  (dir.path + "/vgpu-bench-cuda-static").c_str()});
  REQUIRE(o);
  std::vector<std::string> notes;
  auto kept = resolve_sides(*o, cuda, &notes);
  REQUIRE(kept);
  CHECK(*kept == std::vector<SideId>{SideId::Native, SideId::Runtime});
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].find("driver shim side was skipped: no " + dir.path + "/vgpu-bench-cuda-static") !=
        std::string::npos);
  CHECK(notes[0].find(dir.path + "/libcuda.so.1") != std::string::npos);

  // Transport cases never have a driver side: nothing to skip, nothing to say.
  notes.clear();
  REQUIRE(resolve_sides(*o, transport, &notes));
  CHECK(notes.empty());

  auto named = parse({"--sides", "native,driver", "--driver-shim-dir", dir.path.c_str(),
                      "--cuda-static-cases", (dir.path + "/none").c_str()});
  REQUIRE(named);
  auto refused = resolve_sides(*named, cuda, &notes);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().find("the driver shim side cannot run") != std::string::npos);

  // With its parts there the driver side stays, for the CUDA cases.
  dir.touch("vgpu-bench-cuda-static", true);
  dir.touch("libcuda.so.1");
  dir.touch("libvgpu-client.so.1");
  notes.clear();
  auto all = resolve_sides(*o, both, &notes);
  REQUIRE(all);
  CHECK(all->size() == 3);
  CHECK(notes.empty());

  auto driver_only = parse({"--sides", "driver"});
  REQUIRE(driver_only);
  CHECK_FALSE(resolve_sides(*driver_only, transport, &notes));
}

TEST_CASE("each side's child: which program, which libraries first, which vgpud", "[bench]") {
  auto o = parse({"--cuda-cases", "/b/cuda", "--cuda-static-cases", "/b/cuda-static", "--cuda-lib",
                  "/cuda/lib64", "--shim-dir", "/b/shim", "--driver-shim-dir", "/b/driver",
                  "--extra-lib-dir", "/b/lib", "--work-dir", "/w"});
  REQUIRE(o);
  const ChildSpec native = side_child_spec(ChildKind::Cuda, SideId::Native, *o, "/w/s");
  CHECK(native.argv == std::vector<std::string>{"/b/cuda"});
  CHECK(native.env.at("LD_LIBRARY_PATH") == "/cuda/lib64");
  CHECK(native.env.count("VGPU_SOCKET") == 0);

  const ChildSpec runtime = side_child_spec(ChildKind::Cuda, SideId::Runtime, *o, "/w/s");
  CHECK(runtime.argv == std::vector<std::string>{"/b/cuda"});
  CHECK(runtime.env.at("LD_LIBRARY_PATH") == "/b/shim:/b/lib");
  CHECK(runtime.env.at("VGPU_SOCKET") == "/w/s");

  const ChildSpec driver = side_child_spec(ChildKind::Cuda, SideId::Driver, *o, "/w/s");
  CHECK(driver.argv == std::vector<std::string>{"/b/cuda-static"});
  CHECK(driver.env.at("LD_LIBRARY_PATH") == "/b/driver:/b/lib");
  CHECK(driver.env.at("VGPU_SOCKET") == "/w/s");
  CHECK(driver.env.at("VGPU_TRANSPORT") == "local");
  CHECK(driver.stderr_path == "/w/cuda-driver.stderr");
}

#include "vgpud/worker/jit_cache.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

using vgpud::tenant_jit_cache_path;
using vgpud::use_tenant_jit_cache;

TEST_CASE("jit cache: a folder per tenant, under the configured cache or the driver's default", "[worker][jit_cache]") {
  CHECK(tenant_jit_cache_path("/var/cache/vgpu", "/root", "alpha") == "/var/cache/vgpu/tenant/alpha");
  CHECK(tenant_jit_cache_path("/var/cache/vgpu//", nullptr, "beta") == "/var/cache/vgpu/tenant/beta");
  CHECK(tenant_jit_cache_path(nullptr, "/home/vgpu", "alpha") == "/home/vgpu/.nv/ComputeCache/tenant/alpha");
  // Relative or missing bases are not guessed at.
  CHECK(tenant_jit_cache_path("relative", nullptr, "alpha") == std::nullopt);
  CHECK(tenant_jit_cache_path(nullptr, nullptr, "alpha") == std::nullopt);
  CHECK(tenant_jit_cache_path(nullptr, "", "alpha") == std::nullopt);
}

TEST_CASE("jit cache: the worker's driver is pointed at its tenant's folder", "[worker][jit_cache]") {
  char dir[] = "/tmp/vgpu-jit-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  const std::string base = std::string(dir) + "/cache";
  setenv("CUDA_CACHE_PATH", base.c_str(), 1);
  unsetenv("CUDA_CACHE_DISABLE");
  CHECK(use_tenant_jit_cache("alpha") == std::nullopt);
  const std::string expected = base + "/tenant/alpha";
  CHECK(std::string(std::getenv("CUDA_CACHE_PATH")) == expected);
  struct stat st{};
  REQUIRE(stat(expected.c_str(), &st) == 0);
  CHECK(S_ISDIR(st.st_mode));
  CHECK((st.st_mode & 0777) == 0700);
  CHECK(std::getenv("CUDA_CACHE_DISABLE") == nullptr);

  // A base that cannot hold folders: the cache is turned off rather than shared.
  const std::string file = std::string(dir) + "/a-file";
  FILE* f = std::fopen(file.c_str(), "w");
  REQUIRE(f != nullptr);
  std::fclose(f);
  setenv("CUDA_CACHE_PATH", file.c_str(), 1);
  const auto why = use_tenant_jit_cache("beta");
  REQUIRE(why.has_value());
  CHECK(why->find("cannot be made") != std::string::npos);
  CHECK(std::string(std::getenv("CUDA_CACHE_DISABLE")) == "1");

  unsetenv("CUDA_CACHE_PATH");
  unsetenv("CUDA_CACHE_DISABLE");
  std::filesystem::remove_all(dir);
}

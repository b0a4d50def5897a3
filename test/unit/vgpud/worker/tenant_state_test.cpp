// The state a tenant's workers share with the daemon: one memfd, sealed so that nobody can
// shrink it under the others, and reclaim() taking a reaped worker's share off the totals.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <vector>

#include "vgpud/worker/tenant_state.h"

using vgpud::SharedTenantState;
using vgpud::TenantBudget;

TEST_CASE("a worker's view of the tenant state is the daemon's", "[worker][tenant_state]") {
  auto daemon = SharedTenantState::create("alpha");
  REQUIRE(daemon);
  auto worker = SharedTenantState::attach(vgpud::UniqueFd(dup((*daemon)->fd())));
  REQUIRE(worker);
  REQUIRE(&(*daemon)->get() != &(*worker)->get());  // two mappings ...
  (*worker)->get().device_bytes += 4096;
  CHECK((*daemon)->get().device_bytes == 4096);     // ... of the same memory

  // Sealed: the size cannot change under a mapping.
  CHECK(ftruncate((*daemon)->fd(), 0) != 0);
  CHECK(ftruncate((*daemon)->fd(), 1 << 20) != 0);
}

TEST_CASE("reclaiming a reaped worker's slot leaves the others' bytes", "[worker][tenant_state]") {
  auto daemon = SharedTenantState::create("alpha");
  REQUIRE(daemon);
  auto& s = (*daemon)->get();
  TenantBudget first_device({&s.device_bytes, &s.shares[0].device_bytes, 0});
  TenantBudget first_images({&s.image_bytes, &s.shares[0].image_bytes, 0});
  TenantBudget second_device({&s.device_bytes, &s.shares[5].device_bytes, 0});
  REQUIRE(first_device.reserve(1000));
  REQUIRE(first_images.reserve(300));
  REQUIRE(second_device.reserve(24));

  s.reclaim(0);
  CHECK(s.device_bytes == 24);
  CHECK(s.image_bytes == 0);
  CHECK(s.shares[0].device_bytes == 0);
  CHECK(s.shares[5].device_bytes == 24);
  s.reclaim(0);  // twice changes nothing
  CHECK(s.device_bytes == 24);
}

TEST_CASE("attaching something that is not a tenant state fails cleanly", "[worker][tenant_state]") {
  const int fd = memfd_create("too-small", MFD_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(ftruncate(fd, 16) == 0);
  auto r = SharedTenantState::attach(vgpud::UniqueFd(fd));
  REQUIRE_FALSE(r);
  CHECK(r.error().find("smaller than its layout") != std::string::npos);
}

TEST_CASE("the module cache is the tenant's: kept across its workers, never another tenant's",
          "[worker][tenant_state][module_cache]") {
  constexpr uint64_t kBudget = 1 << 20;
  auto alpha = SharedTenantState::create("alpha", kBudget);
  auto beta = SharedTenantState::create("beta", kBudget);
  REQUIRE(alpha);
  REQUIRE(beta);
  auto first_worker = SharedTenantState::attach(vgpud::UniqueFd(dup((*alpha)->fd())), kBudget);
  auto second_worker = SharedTenantState::attach(vgpud::UniqueFd(dup((*alpha)->fd())), kBudget);
  auto beta_worker = SharedTenantState::attach(vgpud::UniqueFd(dup((*beta)->fd())), kBudget);
  REQUIRE(first_worker);
  REQUIRE(second_worker);
  REQUIRE(beta_worker);
  REQUIRE((*first_worker)->module_cache() != nullptr);

  const std::vector<uint8_t> image(100'000, 0x42);
  const auto digest = vgpu::Sha256::of(image);
  (*first_worker)->module_cache()->insert(digest, image);
  (*first_worker).reset();  // the worker that sent it is gone

  std::vector<uint8_t> out;
  CHECK((*second_worker)->module_cache()->copy_out(digest, image.size(), out) == vgpud::ModuleCache::Found::Yes);
  CHECK(out == image);
  out.clear();
  CHECK((*beta_worker)->module_cache()->copy_out(digest, image.size(), out) == vgpud::ModuleCache::Found::No);
  // Counted where the daemon reports them.
  CHECK((*alpha)->get().module_cache.insertions == 1);
  CHECK((*alpha)->get().module_cache.hits == 1);
  CHECK((*beta)->get().module_cache.misses == 1);
  CHECK((*beta)->get().module_cache.hits == 0);
}

TEST_CASE("a tenant without a module cache has the state alone", "[worker][tenant_state][module_cache]") {
  auto daemon = SharedTenantState::create("alpha", 0);
  REQUIRE(daemon);
  CHECK((*daemon)->module_cache() == nullptr);
  struct stat st{};
  REQUIRE(fstat((*daemon)->fd(), &st) == 0);
  CHECK(static_cast<uint64_t>(st.st_size) == sizeof(vgpud::TenantSharedState));
  // A worker told of a cache the daemon did not make refuses to start rather than map past it.
  CHECK_FALSE(SharedTenantState::attach(vgpud::UniqueFd(dup((*daemon)->fd())), 1 << 20));
}

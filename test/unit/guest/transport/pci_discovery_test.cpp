#include "guest/transport/pci_discovery.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "test/unit/guest/transport/fake_stub.h"

using namespace vgpu;
using namespace vgpu::guest;
using vgpu::test::FakeSysfs;
using vgpu::test::FakeVgpud;

namespace {

void put_magic(const std::string& dir) {
  const int fd = open((dir + "/resource2").c_str(), O_RDWR | O_CLOEXEC);
  const uint32_t magic = proto::kVmMagic;
  REQUIRE(pwrite(fd, &magic, sizeof magic, 0) == sizeof magic);
  close(fd);
}

}  // namespace

TEST_CASE("discovery finds the stub among other PCI devices", "[guest][pci]") {
  FakeSysfs sysfs;
  sysfs.add_device("0000:00:01.0", 0x8086, 0x1237, 4096);            // host bridge
  sysfs.add_device("0000:00:02.0", 0x1af4, 0x1000, 4096);            // virtio-net
  sysfs.add_device("0000:00:03.0", 0x1af4, 0x1110, 1 << 20);         // ivshmem, not vgpud's
  const std::string stub = sysfs.add_device("0000:00:04.0", 0x1af4, 0x1110, 1 << 20);
  put_magic(stub);
  auto found = find_vgpu_stub(sysfs.root());
  REQUIRE(found.ok());
  CHECK(found->address == "0000:00:04.0");
  CHECK(found->region.size() == (1u << 20));
  CHECK(found->region.path() == stub + "/resource2");
  CHECK(found->registers.size() == 256);
}

TEST_CASE("an ivshmem device without the vgpu magic is not a stub", "[guest][pci]") {
  FakeSysfs sysfs;
  sysfs.add_device("0000:00:03.0", 0x1af4, 0x1110, 1 << 20);
  auto found = find_vgpu_stub(sysfs.root());
  REQUIRE_FALSE(found.ok());
  CHECK(found.error().code == ConnectError::NoEndpoint);
  CHECK_THAT(found.error().message, Catch::Contains("1af4:1110"));
}

TEST_CASE("no sysfs tree at all means no stub", "[guest][pci]") {
  auto found = find_vgpu_stub("/nonexistent/vgpu-sysfs");
  REQUIRE_FALSE(found.ok());
  CHECK(found.error().code == ConnectError::NoEndpoint);
}

TEST_CASE("a stub this user may not open gives a permission sentence", "[guest][pci]") {
  if (geteuid() == 0) {
    WARN("running as root, which bypasses file permissions: permission checks skipped");
    return;
  }
  FakeSysfs sysfs;
  const std::string stub = sysfs.add_device("0000:00:04.0", 0x1af4, 0x1110, 1 << 20);
  put_magic(stub);

  SECTION("region") {
    REQUIRE(chmod((stub + "/resource2").c_str(), 0) == 0);
    auto found = find_vgpu_stub(sysfs.root());
    REQUIRE_FALSE(found.ok());
    CHECK(found.error().code == ConnectError::PermissionDenied);
    CHECK(found.error().message ==
          "permission denied opening the vgpu-stub (" + stub +
              "/resource2): add this user to group 'vgpu' (the guest package's udev rule grants "
              "it access)");
  }
  SECTION("registers") {
    REQUIRE(chmod((stub + "/resource0").c_str(), 0) == 0);
    auto found = find_vgpu_stub(sysfs.root());
    REQUIRE_FALSE(found.ok());
    CHECK(found.error().code == ConnectError::PermissionDenied);
    CHECK_THAT(found.error().message, Catch::Contains(stub + "/resource0"));
    CHECK_THAT(found.error().message, Catch::Contains("group 'vgpu'"));
  }
}

TEST_CASE("map_file maps a whole file shared", "[guest][pci]") {
  FakeSysfs sysfs;
  const std::string dir = sysfs.add_device("0000:00:04.0", 0x1af4, 0x1110, 8192);
  {
    auto m = map_file(dir + "/resource2");
    REQUIRE(m.ok());
    CHECK(m->size() == 8192);
    m->data()[8191] = 0x5a;
    MappedFile moved = std::move(m).value();
    CHECK(moved.data() != nullptr);
  }
  const int fd = open((dir + "/resource2").c_str(), O_RDONLY | O_CLOEXEC);
  uint8_t last = 0;
  REQUIRE(pread(fd, &last, 1, 8191) == 1);
  close(fd);
  CHECK(last == 0x5a);
  CHECK(map_file(dir + "/missing").error().code == ConnectError::NoEndpoint);
}

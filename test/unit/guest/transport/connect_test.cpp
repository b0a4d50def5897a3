#include <stdlib.h>

#include <catch2/catch.hpp>
#include <optional>

#include "guest/transport/transport.h"
#include "test/unit/guest/transport/fake_stub.h"

using namespace vgpu;
using namespace vgpu::guest;
using vgpu::test::FakeSysfs;
using vgpu::test::FakeVgpud;

namespace {

// Sets an environment variable for one test and restores it afterwards.
class EnvVar {
 public:
  EnvVar(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr)
      setenv(name, value, 1);
    else
      unsetenv(name);
  }
  ~EnvVar() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("connect_transport picks the stub when there is one", "[guest][pci][connect]") {
  FakeSysfs sysfs;
  FakeVgpud vgpud(sysfs.add_device("0000:00:04.0", 0x1af4, 0x1110, test::kTestRegionSize));
  vgpud.start(FakeVgpud::Answer::Ready);
  EnvVar root("VGPU_SYSFS_ROOT", sysfs.root().c_str());
  EnvVar socket("VGPU_SOCKET", "/nonexistent/vgpu.sock");
  const char* mode = GENERATE(static_cast<const char*>(nullptr), "", "pci");
  EnvVar transport("VGPU_TRANSPORT", mode);
  auto t = connect_transport();
  REQUIRE(t.ok());
  CHECK((*t)->describe() == "pci:0000:00:04.0 slot 0");
}

TEST_CASE("connect_transport explains what is missing", "[guest][pci][connect]") {
  FakeSysfs sysfs;  // no devices
  EnvVar root("VGPU_SYSFS_ROOT", sysfs.root().c_str());
  EnvVar socket("VGPU_SOCKET", "/nonexistent/vgpu.sock");

  SECTION("automatic: neither stub nor socket") {
    EnvVar transport("VGPU_TRANSPORT", nullptr);
    auto t = connect_transport();
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().code == ConnectError::NoEndpoint);
    CHECK_THAT(t.error().message, Catch::Contains("no vgpu-stub PCI device (1af4:1110)"));
    CHECK_THAT(t.error().message, Catch::Contains("/nonexistent/vgpu.sock"));
  }
  SECTION("forced pci") {
    EnvVar transport("VGPU_TRANSPORT", "pci");
    auto t = connect_transport();
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().code == ConnectError::NoEndpoint);
    CHECK_THAT(t.error().message, Catch::Contains(sysfs.devices()));
  }
  SECTION("forced local") {
    EnvVar transport("VGPU_TRANSPORT", "local");
    auto t = connect_transport();
    REQUIRE_FALSE(t.ok());
    CHECK_THAT(t.error().message, Catch::Contains("vgpud is not reachable at /nonexistent"));
  }
  SECTION("a connect timeout that is not a number of milliseconds") {
    EnvVar transport("VGPU_TRANSPORT", "local");
    for (const char* bad : {"soon", "0", "-5", "99999999999"}) {
      EnvVar timeout("VGPU_CONNECT_TIMEOUT_MS", bad);
      auto t = connect_transport();
      REQUIRE_FALSE(t.ok());
      CHECK_THAT(t.error().message,
                 Catch::StartsWith(std::string("VGPU_CONNECT_TIMEOUT_MS=") + bad + " is not"));
    }
  }
  SECTION("unknown transport") {
    EnvVar transport("VGPU_TRANSPORT", "carrier-pigeon");
    auto t = connect_transport();
    REQUIRE_FALSE(t.ok());
    CHECK_THAT(t.error().message, Catch::StartsWith("VGPU_TRANSPORT=carrier-pigeon"));
  }
}

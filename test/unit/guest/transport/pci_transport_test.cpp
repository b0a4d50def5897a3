#include "guest/transport/pci_transport.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "test/unit/guest/transport/fake_stub.h"

using namespace vgpu;
using namespace vgpu::guest;
using vgpu::proto::SlotState;
using vgpu::test::FakeSysfs;
using vgpu::test::FakeVgpud;
using Answer = FakeVgpud::Answer;

namespace {

constexpr uint32_t raw(SlotState s) { return static_cast<uint32_t>(s); }

struct Fixture {
  FakeSysfs sysfs;
  std::string stub = sysfs.add_device("0000:00:04.0", 0x1af4, 0x1110, test::kTestRegionSize);
  FakeVgpud vgpud{stub};

  PciOptions options() const {
    PciOptions o;
    o.sysfs_root = sysfs.root();
    o.claim.ready_timeout = std::chrono::milliseconds(5000);
    return o;
  }
};

}  // namespace

TEST_CASE("pci transport claims a slot and uses it as its channel", "[guest][pci]") {
  Fixture f;
  f.vgpud.start(Answer::Ready);
  auto t = connect_pci(f.options());
  REQUIRE(t.ok());
  Transport& transport = **t;

  CHECK(transport.describe() == "pci:0000:00:04.0 slot 0");
  CHECK(f.vgpud.state(0) == raw(SlotState::Ready));
  CHECK(f.vgpud.slot(0).guest_pid == static_cast<uint32_t>(getpid()));
  CHECK(f.vgpud.slot(0).claim_nonce != 0);
  // The claim was announced on the control vector.
  CHECK(f.vgpud.doorbell() == FakeVgpud::doorbell_value(proto::kVmControlVector));

  // The region is the slot's channel, exactly as vgpud laid it out.
  const std::span<uint8_t> region = transport.region();
  REQUIRE(region.size() == f.vgpud.geometry().channel.region_size);
  uint32_t magic;
  std::memcpy(&magic, region.data(), sizeof magic);
  CHECK(magic == proto::kChannelMagic);
  region[proto::kChannelHeaderArea] = 0xa5;
  CHECK(f.vgpud.slot_base(0)[proto::kChannelHeaderArea] == 0xa5);

  transport.notify_host();
  CHECK(f.vgpud.doorbell() == FakeVgpud::doorbell_value(proto::vm_slot_vector(0)));
  CHECK(transport.wait_for_host(1));
  CHECK(transport.wait_for_host(0));
}

TEST_CASE("pci transport skips slots that are taken", "[guest][pci]") {
  Fixture f;
  f.vgpud.slot(0).state = raw(SlotState::Ready);    // another process's channel
  f.vgpud.slot(1).state = raw(SlotState::Claimed);  // another process, still waiting
  f.vgpud.start(Answer::Ready);
  auto t = connect_pci(f.options());
  REQUIRE(t.ok());
  CHECK((*t)->describe() == "pci:0000:00:04.0 slot 2");
  (*t)->region()[proto::kChannelHeaderArea] = 0x3c;
  CHECK(f.vgpud.slot_base(2)[proto::kChannelHeaderArea] == 0x3c);

  // The slot's region can be mapped again from resource2, at the slot's offset in it.
  const BackingFile file = (*t)->backing_file();
  REQUIRE(file.fd >= 0);
  CHECK(file.offset == f.vgpud.geometry().slot_offset + 2 * f.vgpud.geometry().slot_size);
  const size_t size = (*t)->region().size();
  void* again = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, file.fd, static_cast<off_t>(file.offset));
  REQUIRE(again != MAP_FAILED);
  CHECK(static_cast<uint8_t*>(again)[proto::kChannelHeaderArea] == 0x3c);
  static_cast<uint8_t*>(again)[proto::kChannelHeaderArea + 1] = 0x4d;
  CHECK((*t)->region()[proto::kChannelHeaderArea + 1] == 0x4d);
  munmap(again, size);
  (*t)->notify_host();
  CHECK(f.vgpud.doorbell() == FakeVgpud::doorbell_value(proto::vm_slot_vector(2)));
  // The others were not touched.
  CHECK(f.vgpud.state(0) == raw(SlotState::Ready));
  CHECK(f.vgpud.state(1) == raw(SlotState::Claimed));

  // A second transport (another process) gets the next free slot.
  auto second = connect_pci(f.options());
  REQUIRE(second.ok());
  CHECK((*second)->describe() == "pci:0000:00:04.0 slot 3");
}

TEST_CASE("pci transport reports a VM whose slots are all in use", "[guest][pci]") {
  Fixture f;
  for (uint32_t i = 0; i < test::kTestSlots; ++i) f.vgpud.slot(i).state = raw(SlotState::Ready);
  auto t = connect_pci(f.options());
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().code == ConnectError::Refused);
  CHECK_THAT(t.error().message, Catch::Contains("all 4 vgpu channel slots"));
}

TEST_CASE("pci transport gives a refused slot back", "[guest][pci]") {
  Fixture f;
  f.vgpud.start(Answer::Refuse);
  auto t = connect_pci(f.options());
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().code == ConnectError::Refused);
  CHECK(t.error().message ==
        "vgpud refused this process a channel (the tenant's limits or a failed worker; vgpud's "
        "log on the host says which)");
  f.vgpud.stop();
  CHECK(f.vgpud.state(0) == raw(SlotState::Free));
}

TEST_CASE("pci transport stops waiting for a silent vgpud and closes its claim", "[guest][pci]") {
  Fixture f;
  f.vgpud.start(Answer::Ignore);
  PciOptions o = f.options();
  o.claim.ready_timeout = std::chrono::milliseconds(50);
  auto t = connect_pci(o);
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().code == ConnectError::Refused);
  CHECK_THAT(t.error().message, Catch::Contains("did not answer within 50 ms"));
  CHECK(f.vgpud.state(0) == raw(SlotState::Closing));
  CHECK(f.vgpud.doorbell() == FakeVgpud::doorbell_value(proto::kVmControlVector));
}

TEST_CASE("pci transport keeps its lease alive and closes its slot", "[guest][pci]") {
  Fixture f;
  f.vgpud.start(Answer::Ready);
  PciOptions o = f.options();
  o.claim.lease_interval = std::chrono::milliseconds(2);
  auto t = connect_pci(o);
  REQUIRE(t.ok());
  (*t)->notify_host();
  const uint64_t first = f.vgpud.slot(0).lease.load();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (f.vgpud.slot(0).lease.load() < first + 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(f.vgpud.slot(0).lease.load() >= first + 3);

  t = Err{ConnectFailure{}};  // destroys the transport
  CHECK(f.vgpud.state(0) == raw(SlotState::Closing));
  CHECK(f.vgpud.doorbell() == FakeVgpud::doorbell_value(proto::kVmControlVector));
  // The lease thread is gone with it.
  const uint64_t last = f.vgpud.slot(0).lease.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(f.vgpud.slot(0).lease.load() == last);
}

TEST_CASE("pci transport notices that vgpud is gone", "[guest][pci]") {
  Fixture f;
  f.vgpud.start(Answer::Ready);
  auto t = connect_pci(f.options());
  REQUIRE(t.ok());
  f.vgpud.stop();
  REQUIRE((*t)->wait_for_host(1));

  SECTION("vgpud stopped serving the region") {
    f.vgpud.header()->host_state = 0;
    CHECK_FALSE((*t)->wait_for_host(1));
  }
  SECTION("vgpud reclaimed the slot") {
    f.vgpud.slot(0).state = raw(SlotState::Free);
    CHECK_FALSE((*t)->wait_for_host(1));
  }
  SECTION("vgpud reclaimed it and laid it out for another process") {
    f.vgpud.slot(0).epoch.fetch_add(1);
    CHECK_FALSE((*t)->wait_for_host(1));
    t = Err{ConnectFailure{}};
    // Not ours any more: the transport must not close someone else's channel.
    CHECK(f.vgpud.state(0) == raw(SlotState::Ready));
  }
}

TEST_CASE("pci transport refuses a corrupt region", "[guest][pci]") {
  Fixture f;
  proto::VmHeader* h = f.vgpud.header();
  SECTION("wrong magic: not a vgpu stub at all") {
    h->magic = 0x12345678;
    auto t = connect_pci(f.options());
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().code == ConnectError::NoEndpoint);
  }
  SECTION("wrong region size") {
    h->region_size = test::kTestRegionSize * 2;
    auto t = connect_pci(f.options());
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().code == ConnectError::BadRegion);
    CHECK_THAT(t.error().message, Catch::Contains("not usable"));
  }
  SECTION("slot count out of range") {
    h->slot_count = GENERATE(0u, proto::kMaxVmSlots + 1);
    auto t = connect_pci(f.options());
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().code == ConnectError::BadRegion);
  }
  SECTION("slots past the end of the region") {
    h->slot_size = test::kTestRegionSize;
    auto t = connect_pci(f.options());
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().code == ConnectError::BadRegion);
  }
  SECTION("wrong header size") {
    h->header_size = 64;
    CHECK(connect_pci(f.options()).error().code == ConnectError::BadRegion);
  }
  SECTION("vgpud not serving") {
    h->host_state = 0;
    CHECK(connect_pci(f.options()).error().code == ConnectError::Refused);
  }
  // Nothing was claimed.
  for (uint32_t i = 0; i < test::kTestSlots; ++i) CHECK(f.vgpud.state(i) == raw(SlotState::Free));
}

TEST_CASE("pci transport refuses a channel larger than its slot", "[guest][pci]") {
  Fixture f;
  const uint64_t slot_size = f.vgpud.geometry().slot_size;
  f.vgpud.after_layout = [slot_size](uint8_t* slot) {
    reinterpret_cast<proto::ChannelHeader*>(slot)->geometry.region_size = slot_size + 4096;
  };
  f.vgpud.start(Answer::Ready);
  auto t = connect_pci(f.options());
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().code == ConnectError::BadRegion);
  // The slot is handed back.
  CHECK(f.vgpud.state(0) == raw(SlotState::Closing));
}

TEST_CASE("a forked child dropping the transport leaves the parent's slot alone", "[guest][pci]") {
  Fixture f;
  f.vgpud.start(Answer::Ready);
  auto t = connect_pci(f.options());
  REQUIRE(t.ok());
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    t = Err{ConnectFailure{}};  // must neither join a thread it lacks nor close the slot
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(f.vgpud.state(0) == raw(SlotState::Ready));
  CHECK((*t)->wait_for_host(1));
}

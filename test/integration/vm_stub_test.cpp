// vgpud's VM endpoint and ivshmem server (vgpud/transport/ivshmem/), driven by a stand-in for
// QEMU's ivshmem-doorbell device (fake_qemu.h) that plays guest processes on the slot table
// (docs/protocol.md §7).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstring>
#include <random>
#include <vector>

#include "test/integration/fake_qemu.h"
#include "test/integration/vgpud_process.h"
#include "vgpu/protocol/vm_layout.h"

using namespace vgpu::test;
namespace proto = vgpu::proto;

TEST_CASE("QEMU gets the VM region and doorbells; slots open, close and expire", "[vm]") {
  VgpudProcess vgpud({{"vm1", "", true}});
  FakeQemu q;
  connect_qemu(q, vgpud.vm_socket("vm1"), 5);
  // Our peer id, vgpud's vectors (5) and ours (5).
  CHECK(q.own_id == 1);
  auto geometry = proto::read_vm_geometry(q.region, q.region_size);
  REQUIRE(geometry.ok());
  CHECK(geometry->slot_count == 4);
  CHECK(q.region_size == (64u << 20));
  CHECK(q.header().vgpud_peer_id == 0);
  CHECK(q.header().host_state.load() == 1);

  // A process claims slot 2: vgpud lays out its channel and serves it.
  claim(q, 2, 4242);
  REQUIRE(eventually([&] { return state_of(q, 2) == proto::SlotState::Ready; }));
  CHECK(q.slot(2).epoch.load() == 1);
  const auto* channel = reinterpret_cast<const proto::ChannelHeader*>(q.region + geometry->slot_offset +
                                                                      2 * geometry->slot_size);
  CHECK(channel->magic == proto::kChannelMagic);
  REQUIRE(eventually([&] { return vgpud.read_log().find("vm=vm1/4242 slot 2 connected") != std::string::npos; }));

  // Closing frees it once the worker is gone.
  q.slot(2).state.store(static_cast<uint32_t>(proto::SlotState::Closing));
  REQUIRE(q.ring(proto::kVmControlVector));
  REQUIRE(eventually([&] { return state_of(q, 2) == proto::SlotState::Free; }));

  // A process that stops bumping its lease (it died) loses the slot.
  claim(q, 0, 7);
  REQUIRE(eventually([&] { return state_of(q, 0) == proto::SlotState::Ready; }));
  REQUIRE(eventually([&] { return state_of(q, 0) == proto::SlotState::Free; }, 5000));
  CHECK(vgpud.read_log().find("its lease expired") != std::string::npos);

  // QEMU going away ends the VM's channels; vgpud goes on and takes the VM back.
  close(q.socket);
  q.socket = -1;
  REQUIRE(eventually([&] { return vgpud.read_log().find("QEMU disconnected") != std::string::npos; }));
  FakeQemu again;
  connect_qemu(again, vgpud.vm_socket("vm1"), 5);
  CHECK(again.slot(0).state.load() == 0);
  REQUIRE(vgpud.alive());
  REQUIRE(vgpud.stop() == 0);
}

TEST_CASE("a VM that scribbles over its slot table gets nothing and disturbs nobody", "[vm][hostile]") {
  VgpudProcess vgpud({{"vm1", "", true}, {"other", ""}});
  FakeQemu q;
  connect_qemu(q, vgpud.vm_socket("vm1"), 5);
  std::mt19937_64 random(42);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  while (std::chrono::steady_clock::now() < deadline) {
    // Random words over the header's slot table and geometry, doorbells on every vector.
    for (size_t off = 0; off < 4096; off += 8) {
      uint64_t word = random();
      std::memcpy(q.region + off, &word, sizeof word);
    }
    for (uint32_t v = 0; v < 5; ++v) (void)q.ring(v);
  }
  // The other tenant is served as usual.
  auto r = run_program(guest_program("memory_roundtrip"), {}, {{"VGPU_SOCKET", vgpud.socket("other")}});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  REQUIRE(vgpud.alive());
  REQUIRE(vgpud.stop() == 0);
}

TEST_CASE("vgpud counters and qemu-args", "[vm]") {
  VgpudProcess vgpud({{"vm1", "", true}});
  auto counters = [&] {
    auto c = run_program(VGPU_VGPUD_PATH, {"--config", vgpud.config_file(), "counters"}, {});
    INFO(c.output);
    REQUIRE(c.exit_code == 0);
    REQUIRE(c.output.find("doorbells") != std::string::npos);
    return c.output.substr(c.output.find("\nvm1"));
  };
  const std::string before = counters();
  auto r = run_program(guest_program("memory_roundtrip"), {}, {{"VGPU_SOCKET", vgpud.socket("vm1")}});
  REQUIRE(r.exit_code == 0);
  const std::string after = counters();
  CHECK(before != after);  // the program's calls were counted at every hop

  auto args = run_program(VGPU_VGPUD_PATH, {"--config", vgpud.config_file(), "qemu-args", "vm1"}, {});
  REQUIRE(args.exit_code == 0);
  CHECK(args.output.find("-device ivshmem-doorbell,chardev=vgpu-vm1,vectors=5") != std::string::npos);
  CHECK(args.output.find("path=" + vgpud.vm_socket("vm1")) != std::string::npos);
}

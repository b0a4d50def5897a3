// A tenant's VM endpoint (vgpud/transport/ivshmem/vm_endpoint.h): the one read of the guest's
// slot words, and the endpoint driving slots with a test playing QEMU and the guest, and a
// start_worker that starts no process.
#include "vgpud/transport/ivshmem/vm_endpoint.h"

#include <catch2/catch.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "test/unit/vgpud/transport/ivshmem/ivshmem_test_client.h"

using namespace vgpud;
using namespace vgpud::ivshmem;
using namespace vgpud::ivshmem::test;
using vgpu::proto::SlotState;

namespace {

constexpr uint32_t word(SlotState s) { return static_cast<uint32_t>(s); }

}  // namespace

TEST_CASE("read_slot reads what the guest wrote", "[vm_endpoint]") {
  vgpu::proto::SlotControl c{};
  c.state.store(word(SlotState::Closing));
  c.guest_pid = 4242;
  c.lease.store(0x123456789aull);
  c.claim_nonce = 77;
  const SlotSnapshot s = read_slot(c);
  CHECK(s.state == word(SlotState::Closing));
  CHECK(s.guest_pid == 4242);
  CHECK(s.lease == 0x123456789aull);

  SECTION("a word that is no SlotState is kept as the guest wrote it, for the table to judge") {
    c.state.store(0xdeadbeef);
    CHECK(read_slot(c).state == 0xdeadbeef);
  }
}

TEST_CASE("read_slots reads vgpud's count of slots, whatever the header says", "[vm_endpoint]") {
  vgpu::proto::VmHeader header{};
  for (uint32_t i = 0; i < vgpu::proto::kMaxVmSlots; ++i) {
    header.slots[i].state.store(word(SlotState::Claimed));
    header.slots[i].guest_pid = 100 + i;
    header.slots[i].lease.store(i);
  }
  header.slot_count = 1;  // the guest can write the header: never looked at

  std::vector<SlotSnapshot> guest(3, SlotSnapshot{9, 9, 9});
  read_slots(header, guest);
  for (uint32_t i = 0; i < 3; ++i) {
    CHECK(guest[i].state == word(SlotState::Claimed));
    CHECK(guest[i].guest_pid == 100 + i);
    CHECK(guest[i].lease == i);
  }

  SECTION("never past the header's slot array") {
    std::vector<SlotSnapshot> more(vgpu::proto::kMaxVmSlots + 2, SlotSnapshot{9, 9, 9});
    read_slots(header, more);
    CHECK(more[vgpu::proto::kMaxVmSlots - 1].guest_pid == 100 + vgpu::proto::kMaxVmSlots - 1);
    CHECK(more[vgpu::proto::kMaxVmSlots].guest_pid == 9);  // left alone
  }
}

TEST_CASE("qemu_args attaches the VM's vgpu-stub to the endpoint's socket, one vector per slot and one", "[vm_endpoint]") {
  config::VmEndpoint vm;
  vm.socket_path = "/run/vgpu/vm1.ivshmem";
  vm.slots = 4;
  CHECK(VmEndpoint::qemu_args("vm1", vm) ==
        "-chardev socket,path=/run/vgpu/vm1.ivshmem,id=vgpu-vm1 -device ivshmem-doorbell,chardev=vgpu-vm1,vectors=5");
}

namespace {

constexpr uint32_t kSlots = 2;
constexpr uint32_t kVectors = kSlots + 1;

// The endpoint of tenant "t" with a start_worker that records what it was given and starts
// nothing; the test plays the guest through `qemu`.
struct Fixture {
  struct Started {
    int guest_pid;
    uint64_t offset;
    WorkerFds fds;
    int lifeline = -1;  // the worker's end, kept open here
  };

  TempDir dir;
  HopCounters counters;
  size_t room = 16;
  bool fail_start = false;
  pid_t next_pid = 1000;
  std::vector<Started> started;
  std::unique_ptr<VmEndpoint> vm;
  vgpu::proto::VmGeometry geometry{};
  std::unique_ptr<IvshmemClient> qemu;
  uint8_t* region = nullptr;

  Fixture() {
    VmEndpointOptions options{.tenant = "t", .vm = {}, .sizes = {4096, 4096, 4096, 4096, 0}, .max_processes = 16};
    options.vm.socket_path = dir.path + "/vm.sock";
    options.vm.mode = 0600;
    options.vm.region_size = 8 << 20;
    options.vm.slots = kSlots;
    options.vm.lease_timeout_ms = 3000;
    geometry = *vgpu::proto::compute_vm_geometry(options.sizes, kSlots, options.vm.region_size);
    auto endpoint = VmEndpoint::listen(
        options, &counters,
        [this](int guest_pid, uint64_t offset, const WorkerFds& fds) -> vgpu::Result<pid_t, std::string> {
          if (fail_start) return vgpu::Err{std::string("no worker today")};
          started.push_back({guest_pid, offset, fds, dup(fds.guest_socket)});
          return next_pid++;
        },
        [this] { return room; });
    REQUIRE(endpoint.ok());
    vm = std::move(endpoint).value();
  }
  ~Fixture() {
    if (region != nullptr) munmap(region, geometry.region_size);
    for (const Started& s : started) close(s.lifeline);
  }

  void connect_qemu() {
    qemu = std::make_unique<IvshmemClient>(vm->socket_path());
    REQUIRE(readable(vm->poll_fds()[0]));
    vm->handle(vm->poll_fds()[0]);
    REQUIRE(vm->connected());
    qemu->receive(3 + 2 * kVectors);
    void* p = mmap(nullptr, geometry.region_size, PROT_READ | PROT_WRITE, MAP_SHARED, qemu->messages[2].second, 0);
    REQUIRE(p != MAP_FAILED);
    region = static_cast<uint8_t*>(p);
  }
  vgpu::proto::VmHeader& header() const { return *reinterpret_cast<vgpu::proto::VmHeader*>(region); }
  vgpu::proto::SlotControl& slot(uint32_t i) const { return header().slots[i]; }
  // The guest rings vgpud's vector 0, and the daemon's loop hands the endpoint the wake-up.
  void ring_control() {
    REQUIRE(signal_eventfd(qemu->messages[3].second));
    const int fd = vm->poll_fds()[2];
    REQUIRE(readable(fd));
    vm->handle(fd);
  }
  void claim(uint32_t i, uint32_t guest_pid) {
    slot(i).guest_pid = guest_pid;
    slot(i).state.store(word(SlotState::Claimed));
    ring_control();
  }
};

}  // namespace

TEST_CASE("a VM endpoint serves QEMU's region and starts a worker for each claimed slot", "[vm_endpoint]") {
  Fixture f;
  CHECK(!f.vm->connected());
  CHECK(f.vm->poll_fds().size() == 1);
  f.connect_qemu();
  CHECK(f.vm->poll_fds().size() == 3);  // the socket, QEMU, vgpud's vector 0

  // The header was written before QEMU got the region.
  auto geometry = vgpu::proto::read_vm_geometry(f.region, f.geometry.region_size);
  REQUIRE(geometry.ok());
  CHECK(geometry->slot_count == kSlots);
  CHECK(f.header().vgpud_peer_id == kVgpudPeerId);
  CHECK(f.header().host_state.load() == 1);

  f.claim(1, 4242);
  REQUIRE(f.started.size() == 1);
  const auto& s = f.started[0];
  CHECK(s.guest_pid == 4242);
  CHECK(s.offset == f.geometry.slot_offset + f.geometry.slot_size);
  CHECK(s.fds.doorbell >= 0);
  CHECK(s.fds.notify >= 0);
  CHECK(s.fds.region >= 0);
  CHECK(f.slot(1).state.load() == word(SlotState::Ready));
  CHECK(f.slot(1).epoch.load() == 1);
  const auto* channel = reinterpret_cast<const vgpu::proto::ChannelHeader*>(f.region + s.offset);
  CHECK(channel->magic == vgpu::proto::kChannelMagic);
  CHECK(f.vm->active_slots() == 1);
  CHECK(f.counters.doorbells.load() == 1);
  CHECK(f.counters.channels_opened.load() == 1);

  SECTION("the slot's doorbell is vgpud's vector 1 + i: the guest's ring reaches the worker") {
    REQUIRE(signal_eventfd(f.qemu->messages[3 + vgpu::proto::vm_slot_vector(1)].second));
    CHECK(take_count(s.fds.doorbell) == 1);
  }

  SECTION("Closing ends the slot: the worker's lifeline closes; its exit frees the slot") {
    f.slot(1).state.store(word(SlotState::Closing));
    f.ring_control();
    CHECK(readable(s.lifeline));  // end of file: the daemon's end is closed
    CHECK(f.vm->active_slots() == 1);  // draining
    CHECK(!f.vm->worker_exited(999));
    CHECK(f.vm->worker_exited(1000));
    CHECK(f.slot(1).state.load() == word(SlotState::Free));
    CHECK(f.slot(1).epoch.load() == 2);
    CHECK(f.vm->active_slots() == 0);
    CHECK(f.counters.channels_closed.load() == 1);
    CHECK(!f.vm->worker_exited(1000));
  }

  SECTION("a tenant without room gets Refused, and it is counted") {
    f.room = 0;
    f.claim(0, 7);
    CHECK(f.started.size() == 1);
    CHECK(f.slot(0).state.load() == word(SlotState::Refused));
    CHECK(f.counters.rejected.load() == 1);
  }

  SECTION("a worker that cannot start gets the slot Refused, and it is counted") {
    f.fail_start = true;
    f.claim(0, 7);
    CHECK(f.slot(0).state.load() == word(SlotState::Refused));
    CHECK(f.counters.rejected.load() == 1);
    CHECK(f.vm->active_slots() == 1);
  }

  SECTION("QEMU going away ends every slot and tells the region vgpud stopped") {
    f.qemu->hang_up();
    const int qemu_fd = f.vm->poll_fds()[1];
    REQUIRE(readable(qemu_fd));
    f.vm->handle(qemu_fd);
    CHECK(!f.vm->connected());
    CHECK(f.header().host_state.load() == 0);
    CHECK(readable(s.lifeline));
    // The worker drains and exits after QEMU is gone: the region is not touched any more.
    CHECK(f.vm->worker_exited(1000));
    CHECK(f.slot(1).state.load() == word(SlotState::Ready));
    CHECK(f.vm->active_slots() == 0);

    SECTION("a QEMU that comes back gets a fresh region") {
      munmap(f.region, f.geometry.region_size);
      f.region = nullptr;
      f.connect_qemu();
      CHECK(f.slot(1).state.load() == word(SlotState::Free));
      CHECK(f.slot(1).epoch.load() == 0);
      CHECK(f.header().host_state.load() == 1);
    }
  }
}

#include "guest/cuda/integrity.h"

#include <bit>
#include <catch2/catch.hpp>
#include <cstring>
#include <functional>
#include <vector>

#include "guest/cuda/md2.h"

using namespace vgpu::cuda;

namespace {

// The runtime's fixed answers (research notes, section 4).
constexpr IntegrityAnswer kFixed0 = {0x3341181C03CB675Cull, 0x8ED383AA1F4CD1E8ull};
constexpr IntegrityAnswer kFixed1 = {0x1841181C03CB675Cull, 0x8ED383AA1F4CD1E8ull};

IntegrityDevice make_device(uint8_t fill, int32_t domain, int32_t bus, int32_t dev) {
  IntegrityDevice d;
  d.uuid.fill(fill);
  d.uuid[15] = static_cast<uint8_t>(fill + 1);
  d.pci_domain = domain;
  d.pci_bus = bus;
  d.pci_device = dev;
  return d;
}

struct Example {
  std::vector<IntegrityDevice> devices{make_device(0x42, 0, 0x19, 0),
                                       make_device(0x77, 1, 0x3b, 2)};
  IntegrityInputs in;
  Example() {
    in.driver_version = 13000;
    in.version = 13002;
    in.pid = 4242;
    in.thread = 0x0e316350;
    in.cudart_interface_table = 0x7f4f0e3b9000;
    in.integrity_table = 0x7f4f0e3b9100;
    in.integrity_function = 0x7f4f0e2a0010;
    in.unix_seconds = 0x6b0df2de;
    in.devices = devices;
  }
};

// The construction written out a second way: a packed struct's memory image for the message,
// plain HMAC over MD2 (RFC 2104 with MD2's 16-byte block) from the primitive.
struct [[gnu::packed]] Message {
  uint32_t driver_version, version, pid, thread;
  uint64_t cudart_interface_table, integrity_table, integrity_function, unix_seconds;
};
struct [[gnu::packed]] DeviceRecord {
  uint8_t uuid[16];
  int32_t domain, bus, device;
};
static_assert(sizeof(Message) == 48 && sizeof(DeviceRecord) == 28);
static_assert(std::endian::native == std::endian::little,
              "the memory images below are the wire order");

IntegrityAnswer reference_answer(const IntegrityInputs& in) {
  const uint8_t key[16] = {0x14, 0x6A, 0xDD, 0xAE, 0x53, 0xA9, 0xA7, 0x52,
                           0xAA, 0x08, 0x41, 0x36, 0x0B, 0xF5, 0x5A, 0x9F};
  std::vector<uint8_t> text;
  auto append = [&](const void* p, std::size_t n) {
    text.insert(text.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n);
  };
  Message m;
  m.driver_version = in.driver_version;
  m.version = in.version;
  m.pid = in.pid;
  m.thread = in.thread;
  m.cudart_interface_table = in.cudart_interface_table;
  m.integrity_table = in.integrity_table;
  m.integrity_function = in.integrity_function;
  m.unix_seconds = in.unix_seconds;
  append(&m, sizeof m);
  for (const IntegrityDevice& d : in.devices) {
    DeviceRecord r;
    std::memcpy(r.uuid, d.uuid.data(), 16);
    r.domain = d.pci_domain;
    r.bus = d.pci_bus;
    r.device = d.pci_device;
    append(&r, sizeof r);
  }

  std::vector<uint8_t> inner_text(16), outer_text(16);
  for (int i = 0; i < 16; ++i) {
    inner_text[i] = key[i] ^ 0x36;
    outer_text[i] = key[i] ^ 0x5c;
  }
  inner_text.insert(inner_text.end(), text.begin(), text.end());
  const Md2::Digest inner = md2(inner_text.data(), inner_text.size());
  outer_text.insert(outer_text.end(), inner.begin(), inner.end());
  const Md2::Digest outer = md2(outer_text.data(), outer_text.size());
  IntegrityAnswer answer;
  std::memcpy(answer.data(), outer.data(), 16);
  return answer;
}

}  // namespace

TEST_CASE("integrity check: fixed answers for version % 10 == 0 and 1", "[cuda][integrity]") {
  Example e;
  for (uint32_t version : {12080u, 13000u, 13010u, 0u}) {
    e.in.version = version;
    CHECK(integrity_answer(e.in) == kFixed0);
  }
  for (uint32_t version : {12081u, 13001u, 13011u, 1u}) {
    e.in.version = version;
    CHECK(integrity_answer(e.in) == kFixed1);
  }
  // Nothing else matters for them.
  e.in.version = 13000;
  e.in.pid = 1;
  e.in.devices = {};
  CHECK(integrity_answer(e.in) == kFixed0);
}

TEST_CASE("integrity check: the keyed answer is HMAC-MD2 over the inputs", "[cuda][integrity]") {
  Example e;
  for (uint32_t version : {13002u, 12082u, 13005u, 13009u}) {
    e.in.version = version;
    CHECK(integrity_answer(e.in) == reference_answer(e.in));
  }
  e.in.devices = {};
  CHECK(integrity_answer(e.in) == reference_answer(e.in));
}

// Inputs and answers from runs of NVIDIA's cudart 13.0.96 against a logging fake libcuda.so.1
// answering with integrity_answer: the runtime accepted both (the program's cudaMalloc,
// copies and launch returned 0), and failed with 103 when the pid hashed was off by one. One
// device as the fake described it: UUID 16 x 0x42, PCI 0000:19:00.
TEST_CASE("integrity check: answers NVIDIA's runtime accepted", "[cuda][integrity]") {
  struct Accepted {
    uint32_t pid, thread;
    uint64_t cudart_interface, integrity, function, seconds;
    IntegrityAnswer answer;
  };
  // clang-format off
  const Accepted accepted[] = {
      // static cudart (libcudart_static.a)
      {24306, 0x126a4000, 0x7f601269dce0, 0x7f601269e348, 0x7f601268410b, 1796077912,
       {0x1dc25c77c2ae9342ull, 0xb3d015a4a2cc59eaull}},
      // shared cudart (libcudart.so.13)
      {24328, 0x33f1e000, 0x7f5233f17ce0, 0x7f5233f18348, 0x7f5233efe10b, 1796077916,
       {0x1320131156ab4fb3ull, 0x8fc1d9e6f5fd8103ull}},
  };
  // clang-format on
  IntegrityDevice device;
  device.uuid.fill(0x42);
  device.pci_domain = 0;
  device.pci_bus = 0x19;
  device.pci_device = 0;
  for (const Accepted& a : accepted) {
    IntegrityInputs in;
    in.driver_version = 13000;
    in.version = 13002;  // runtime 13.0 (0x32c8) + 2
    in.pid = a.pid;
    in.thread = a.thread;
    in.cudart_interface_table = a.cudart_interface;
    in.integrity_table = a.integrity;
    in.integrity_function = a.function;
    in.unix_seconds = a.seconds;
    in.devices = std::span(&device, 1);
    CHECK(integrity_answer(in) == a.answer);
    CHECK(reference_answer(in) == a.answer);
  }
}

TEST_CASE("integrity check: the keyed answer changes with every input", "[cuda][integrity]") {
  const IntegrityAnswer base = integrity_answer(Example().in);
  CHECK(base != kFixed0);
  CHECK(base != kFixed1);
  const std::vector<std::pair<const char*, std::function<void(Example&)>>> changes = {
      {"driver version", [](Example& e) { e.in.driver_version = 13010; }},
      {"version", [](Example& e) { e.in.version = 13012; }},
      {"pid", [](Example& e) { e.in.pid += 1; }},
      {"thread", [](Example& e) { e.in.thread ^= 0x80000000u; }},
      {"CUDART_INTERFACE address", [](Example& e) { e.in.cudart_interface_table += 8; }},
      {"INTEGRITY address", [](Example& e) { e.in.integrity_table += 8; }},
      {"INTEGRITY slot 1", [](Example& e) { e.in.integrity_function += 1; }},
      {"unix time", [](Example& e) { e.in.unix_seconds += 1; }},
      {"a UUID byte", [](Example& e) { e.devices[1].uuid[7] ^= 1; }},
      {"a PCI domain", [](Example& e) { e.devices[0].pci_domain = 2; }},
      {"a PCI bus", [](Example& e) { e.devices[1].pci_bus += 1; }},
      {"a PCI device", [](Example& e) { e.devices[0].pci_device = 1; }},
      {"device order", [](Example& e) { std::swap(e.devices[0], e.devices[1]); }},
      {"one device fewer", [](Example& e) { e.in.devices = std::span(e.devices.data(), 1); }},
      {"no device", [](Example& e) { e.in.devices = {}; }},
  };
  for (const auto& [what, change] : changes) {
    INFO("changed: " << what);
    Example e;
    change(e);
    CHECK(integrity_answer(e.in) != base);
  }
}

TEST_CASE("integrity check: a device counts as the shim reports it", "[cuda][integrity]") {
  DeviceSnapshot snapshot{};
  for (int i = 0; i < 16; ++i) snapshot.info.uuid[i] = static_cast<uint8_t>(0xa0 + i);
  snapshot.info.attribute_count = vgpu::limits::kMaxDeviceAttributes;
  snapshot.info.attributes[CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID] = 3;
  snapshot.info.attributes[CU_DEVICE_ATTRIBUTE_PCI_BUS_ID] = 0x19;
  snapshot.info.attributes[CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID] = 4;
  IntegrityDevice d = integrity_device(snapshot);
  CHECK(d.uuid[0] == 0xa0);
  CHECK(d.uuid[15] == 0xaf);
  CHECK(d.pci_domain == 3);
  CHECK(d.pci_bus == 0x19);
  CHECK(d.pci_device == 4);

  snapshot.info.attribute_count = CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID;  // the domain is missing
  d = integrity_device(snapshot);
  CHECK(d.pci_domain == 0);
  CHECK(d.pci_bus == 0x19);
}

TEST_CASE("integrity check: out must not be null", "[cuda][integrity]") {
  CHECK(answer_integrity_check(13002, 1, nullptr, {}) == CUDA_ERROR_INVALID_VALUE);
}

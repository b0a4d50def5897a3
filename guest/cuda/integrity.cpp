#include "guest/cuda/integrity.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "guest/cuda/driver_state.h"
#include "guest/cuda/md2.h"
#include "vgpu/protocol/limits.h"

namespace vgpu::cuda {
namespace {

// The runtime's fixed answers for the first two of its three calls (version % 10 == 0, 1).
constexpr IntegrityAnswer kAnswerForVersion0 = {0x3341181C03CB675Cull, 0x8ED383AA1F4CD1E8ull};
constexpr IntegrityAnswer kAnswerForVersion1 = {0x1841181C03CB675Cull, 0x8ED383AA1F4CD1E8ull};

// The HMAC key; 16 bytes, MD2's block size, so HMAC uses it unpadded.
constexpr uint8_t kKey[Md2::kBlockSize] = {0x14, 0x6A, 0xDD, 0xAE, 0x53, 0xA9, 0xA7, 0x52,
                                           0xAA, 0x08, 0x41, 0x36, 0x0B, 0xF5, 0x5A, 0x9F};
constexpr uint8_t kInnerPad = 0x36;
constexpr uint8_t kOuterPad = 0x5C;

constexpr std::size_t kMessageSize = 48;  // 4 x u32 + 4 x u64, packed
constexpr std::size_t kDeviceSize = 28;   // 16-byte UUID + 3 x i32, packed

// Appends `value`'s low `bytes` bytes, least significant first: the runtime hashes the
// little-endian memory image of its fields, so the layout is spelled out rather than left to
// a struct's padding and the host's byte order.
void put_le(uint8_t*& out, uint64_t value, std::size_t bytes) {
  for (std::size_t i = 0; i < bytes; ++i) *out++ = static_cast<uint8_t>(value >> (8 * i));
}

uint64_t load_le64(const uint8_t* in) {
  uint64_t value = 0;
  for (std::size_t i = 0; i < 8; ++i) value |= static_cast<uint64_t>(in[i]) << (8 * i);
  return value;
}

void keyed_start(Md2& h, uint8_t pad) {
  uint8_t block[Md2::kBlockSize];
  for (std::size_t i = 0; i < sizeof block; ++i) block[i] = kKey[i] ^ pad;
  h.update(block, sizeof block);
}

}  // namespace

IntegrityAnswer integrity_answer(const IntegrityInputs& in) noexcept {
  if (in.version % 10 == 0) return kAnswerForVersion0;
  if (in.version % 10 == 1) return kAnswerForVersion1;

  uint8_t message[kMessageSize];
  uint8_t* p = message;
  put_le(p, in.driver_version, 4);
  put_le(p, in.version, 4);
  put_le(p, in.pid, 4);
  put_le(p, in.thread, 4);
  put_le(p, in.cudart_interface_table, 8);
  put_le(p, in.integrity_table, 8);
  put_le(p, in.integrity_function, 8);
  put_le(p, in.unix_seconds, 8);

  Md2 inner;
  keyed_start(inner, kInnerPad);
  inner.update(message, sizeof message);
  for (const IntegrityDevice& d : in.devices) {
    uint8_t record[kDeviceSize];
    std::memcpy(record, d.uuid.data(), d.uuid.size());
    p = record + d.uuid.size();
    put_le(p, static_cast<uint32_t>(d.pci_domain), 4);
    put_le(p, static_cast<uint32_t>(d.pci_bus), 4);
    put_le(p, static_cast<uint32_t>(d.pci_device), 4);
    inner.update(record, sizeof record);
  }
  const Md2::Digest inner_digest = inner.finish();

  Md2 outer;
  keyed_start(outer, kOuterPad);
  outer.update(inner_digest.data(), inner_digest.size());
  const Md2::Digest answer = outer.finish();
  return {load_le64(answer.data()), load_le64(answer.data() + 8)};
}

IntegrityDevice integrity_device(const DeviceSnapshot& device) noexcept {
  IntegrityDevice d;
  std::memcpy(d.uuid.data(), device.uuid(), d.uuid.size());
  d.pci_domain = device.attribute(CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID).value_or(0);
  d.pci_bus = device.attribute(CU_DEVICE_ATTRIBUTE_PCI_BUS_ID).value_or(0);
  d.pci_device = device.attribute(CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID).value_or(0);
  return d;
}

CUresult answer_integrity_check(uint32_t version, uint64_t unix_seconds, uint64_t* out,
                                const IntegrityTables& tables) noexcept {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;

  // pthread_t is an integer on glibc and a pointer elsewhere: take its low 32 bits either way.
  const pthread_t self = pthread_self();
  uint64_t thread = 0;
  std::memcpy(&thread, &self, std::min(sizeof self, sizeof thread));

  IntegrityDevice devices[limits::kMaxDevices];
  const uint32_t count = std::min<uint32_t>(device_count(), limits::kMaxDevices);
  for (uint32_t i = 0; i < count; ++i) {
    if (const DeviceSnapshot* d = device(i)) devices[i] = integrity_device(*d);
  }

  IntegrityInputs in;
  in.driver_version = static_cast<uint32_t>(reported_driver_version());
  in.version = version;
  in.pid = static_cast<uint32_t>(getpid());
  in.thread = static_cast<uint32_t>(thread);
  in.cudart_interface_table = reinterpret_cast<uintptr_t>(tables.cudart_interface);
  in.integrity_table = reinterpret_cast<uintptr_t>(tables.integrity);
  in.integrity_function = reinterpret_cast<uintptr_t>(tables.integrity_function);
  in.unix_seconds = unix_seconds;
  in.devices = std::span<const IntegrityDevice>(devices, count);

  const IntegrityAnswer answer = integrity_answer(in);
  out[0] = answer[0];
  out[1] = answer[1];
  return CUDA_SUCCESS;
}

}  // namespace vgpu::cuda

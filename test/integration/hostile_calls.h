// What the hostile-guest tests share: one answered call on a raw channel, the check that vgpud
// itself refused a request before its driver saw it, and the few set-up calls they all make.
#pragma once
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "test/integration/raw_channel.h"
#include "test/integration/vgpud_process.h"
#include "vgpu/protocol/graph_edge.h"

namespace vgpu::test::hostile {

using proto::CallId;

// A well-behaved round trip on a fresh channel: the proof that vgpud still serves.
inline void expect_healthy(const VgpudProcess& vgpud, const std::string& tenant) {
  RawChannel ch(vgpud.socket(tenant));
  ch.send(CallId::MemAlloc, proto::MemAllocRequest{4096}, 1);
  auto r = ch.receive();
  REQUIRE(r.has_value());
  REQUIRE(r->header.status == 0);
  REQUIRE(r->payload.size() == sizeof(proto::MemAllocReply));
}

inline std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

// Plain edges (from, to) as GRAPH_ADD_DEPENDENCIES and GRAPH_REMOVE_DEPENDENCIES carry them.
inline std::string edges(const std::vector<std::pair<uint32_t, uint32_t>>& list) {
  std::string bytes;
  for (const auto& [from, to] : list) {
    const proto::GraphEdge e = proto::plain_edge(from, to);
    bytes.append(reinterpret_cast<const char*>(&e), sizeof e);
  }
  return bytes;
}
inline constexpr uint32_t kEdge = sizeof(proto::GraphEdge);

inline constexpr int32_t kInvalidValue = 1;         // CUDA_ERROR_INVALID_VALUE
inline constexpr int32_t kInvalidHandle = 400;      // CUDA_ERROR_INVALID_HANDLE
inline constexpr int32_t kNotReady = 600;           // CUDA_ERROR_NOT_READY (the fake's unmet wait)
inline constexpr int32_t kUnsupportedLimit = 215;   // CUDA_ERROR_UNSUPPORTED_LIMIT
inline constexpr int32_t kInvalidClusterSize = 912; // CUDA_ERROR_INVALID_CLUSTER_SIZE
inline const int32_t kMalformed = static_cast<int32_t>(proto::Status::MalformedMessage);
// cuda.h's values, which the wire carries as they are.
inline constexpr uint32_t kWaitGeq = 0, kWaitEq = 1;                          // CU_STREAM_WAIT_VALUE_*
inline constexpr uint32_t kLimitStack = 0, kLimitMallocHeap = 2, kLimitShmem = 7;  // CU_LIMIT_*

// One answered call; its reply (the test fails without one).
template <typename Payload>
RawReply call(RawChannel& ch, CallId id, const Payload& p, uint64_t& seq, const std::string& tail = {}) {
  const uint64_t s = seq++;
  ch.send(id, p, s, proto::kFlagNeedsReply, tail);
  auto r = ch.receive();
  REQUIRE(r.has_value());
  REQUIRE(r->header.seq == s);
  return *r;
}

// Requests that vgpud itself must refuse, before the driver sees them: their driver functions
// never appear in the executor's debug trace ("seq=N cuX → …", driver_trace.cpp). The fake driver
// refuses most of these too, so the trace is what shows that vgpud's own check did.
struct RefusedByVgpud {
  std::vector<uint64_t> seqs;

  template <typename Payload>
  void expect(RawChannel& ch, CallId id, const Payload& p, uint64_t& seq, int32_t status, const std::string& tail = {}) {
    seqs.push_back(seq);
    const RawReply r = call(ch, id, p, seq, tail);
    CHECK(r.header.status == status);
    CHECK(r.payload.empty());
  }

  // `last_seq` is a later request of the same channel whose driver call `last_function` is
  // traced: once its line is in the log, every earlier line is too.
  void check_never_traced(const VgpudProcess& vgpud, const std::string& function_prefix, uint64_t last_seq,
                          const std::string& last_function) const {
    REQUIRE(eventually([&] {
      return vgpud.read_log().find("seq=" + std::to_string(last_seq) + " " + last_function) != std::string::npos;
    }));
    const std::string log = vgpud.read_log();
    for (uint64_t s : seqs) {
      INFO("seq " << s);
      CHECK(log.find("seq=" + std::to_string(s) + " " + function_prefix) == std::string::npos);
    }
  }
};

inline uint64_t alloc(RawChannel& ch, uint64_t size, uint64_t& seq) {
  const RawReply r = call(ch, CallId::MemAlloc, proto::MemAllocRequest{size}, seq);
  REQUIRE(r.header.status == 0);
  uint64_t ptr;
  std::memcpy(&ptr, r.payload.data(), sizeof ptr);
  return ptr;
}

inline std::vector<uint8_t> read_back(RawChannel& ch, uint64_t ptr, uint64_t size, uint64_t& seq) {
  const RawReply r = call(ch, CallId::MemcpyDtoHInline, proto::MemcpyDtoHRequest{ptr, size, 0}, seq);
  REQUIRE(r.header.status == 0);
  REQUIRE(r.payload.size() == size);
  return r.payload;
}

inline uint32_t load(RawChannel& ch, const std::string& text, uint64_t& seq) {
  std::vector<uint8_t> image = bytes_of(text);
  image.push_back(0);
  auto r = ch.load_module(image, seq);
  seq += 2;
  REQUIRE(r.has_value());
  REQUIRE(r->header.status == 0);
  proto::ModuleLoadReply m;
  std::memcpy(&m, r->payload.data(), sizeof m);
  return m.module;
}

inline uint32_t function(RawChannel& ch, uint32_t module, const std::string& name, uint64_t& seq) {
  const RawReply r = call(ch, CallId::ModuleGetFunction,
                          proto::ModuleSymbolRequest{module, static_cast<uint32_t>(name.size())}, seq, name);
  REQUIRE(r.header.status == 0);
  proto::ModuleGetFunctionReply f;
  std::memcpy(&f, r.payload.data(), sizeof f);
  return f.function;
}

inline proto::Memset2DRequest memset_2d(uint64_t dst, uint64_t pitch, uint64_t width, uint64_t height, uint32_t value,
                                 uint32_t element_size) {
  proto::Memset2DRequest m{};
  m.dst = dst;
  m.pitch = pitch;
  m.width = width;
  m.height = height;
  m.value = value;
  m.element_size = element_size;
  return m;
}

inline proto::StreamValueRequest stream_value(uint64_t address, uint64_t value, uint32_t width, uint32_t flags = 0,
                                       uint64_t stream = 0) {
  return proto::StreamValueRequest{stream, address, value, flags, width};
}

}  // namespace vgpu::test::hostile

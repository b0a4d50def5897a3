#include "guest/cudart/stream_handle.h"

#include <catch2/catch.hpp>

#include "vgpu/protocol/messages.h"

using vgpu::cudart::classify_stream;
using vgpu::cudart::stream_handle;
using vgpu::cudart::StreamKind;

TEST_CASE("the null stream is the legacy stream, or the per-thread one in _ptsz calls", "[cudart][stream]") {
  CHECK(classify_stream(nullptr, false).kind == StreamKind::Legacy);
  CHECK(classify_stream(nullptr, true).kind == StreamKind::PerThread);
}

TEST_CASE("the special handles keep their meaning in every entry point", "[cudart][stream]") {
  for (bool ptsz : {false, true}) {
    CHECK(classify_stream(cudaStreamLegacy, ptsz).kind == StreamKind::Legacy);
    CHECK(classify_stream(cudaStreamPerThread, ptsz).kind == StreamKind::PerThread);
  }
}

TEST_CASE("created streams carry vgpud's id both ways", "[cudart][stream]") {
  for (uint64_t id : {vgpu::proto::kFirstStreamId, uint64_t{0x1234}, uint64_t{0xffffffffull}}) {
    auto ref = classify_stream(stream_handle(id), false);
    CHECK(ref.kind == StreamKind::Created);
    CHECK(ref.id == id);
    CHECK(classify_stream(stream_handle(id), true).id == id);  // _ptsz does not change real streams
  }
}

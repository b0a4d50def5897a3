// The pure pieces of the LINK_* handlers (vgpud/executor/link_state.h) and the input an
// UploadedImage becomes when it joins a link (terminate_text, moves).
#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "vgpu/protocol/limits.h"
#include "vgpud/executor/image_upload.h"
#include "vgpud/executor/link_state.h"

using vgpud::BudgetRef;
using vgpud::UploadedImage;
namespace limits = vgpu::limits;

namespace {

std::string text(std::span<const uint8_t> bytes) { return {reinterpret_cast<const char*>(bytes.data()), bytes.size()}; }

}  // namespace

TEST_CASE("a link read returns a bounded window, nothing past the end", "[executor][link]") {
  const std::vector<uint8_t> whole(100, 7);
  CHECK(vgpud::link_read_window(whole, 0, 10).size() == 10);
  CHECK(vgpud::link_read_window(whole, 95, 10).size() == 5);
  CHECK(vgpud::link_read_window(whole, 95, 10).data() == whole.data() + 95);
  CHECK(vgpud::link_read_window(whole, 99, 0).empty());
  CHECK(vgpud::link_read_window(whole, 100, 10).empty());
  CHECK(vgpud::link_read_window(whole, UINT64_MAX, UINT32_MAX).empty());
  CHECK(vgpud::link_read_window({}, 0, 10).empty());
  // The bound holds even for a length the parser would have refused.
  const std::vector<uint8_t> large(limits::kMaxLinkRead * 2 + 5);
  CHECK(vgpud::link_read_window(large, 1, UINT32_MAX).size() == limits::kMaxLinkRead);
  CHECK(vgpud::link_read_window(large, limits::kMaxLinkRead * 2, UINT32_MAX).size() == 5);
}

TEST_CASE("only the five linkable input types pass", "[executor][link]") {
  for (uint32_t type : {CU_JIT_INPUT_CUBIN, CU_JIT_INPUT_PTX, CU_JIT_INPUT_FATBINARY, CU_JIT_INPUT_OBJECT,
                        CU_JIT_INPUT_LIBRARY})
    CHECK(vgpud::link_input_type_ok(type));
  CHECK_FALSE(vgpud::link_input_type_ok(CU_JIT_INPUT_NVVM));
  CHECK_FALSE(vgpud::link_input_type_ok(CU_JIT_NUM_INPUT_TYPES));
  CHECK_FALSE(vgpud::link_input_type_ok(UINT32_MAX));
}

TEST_CASE("the linker's options point at vgpud's own log buffers", "[executor][link]") {
  auto jit = std::make_unique<vgpud::LinkJitOptions>();
  REQUIRE(jit->count() == 5);
  char* info = nullptr;
  char* error = nullptr;
  for (unsigned i = 0; i < jit->count(); ++i) {
    const auto value = reinterpret_cast<uintptr_t>(jit->values()[i]);
    switch (jit->options()[i]) {
      case CU_JIT_INFO_LOG_BUFFER: info = static_cast<char*>(jit->values()[i]); break;
      case CU_JIT_ERROR_LOG_BUFFER: error = static_cast<char*>(jit->values()[i]); break;
      case CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES:
      case CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES: CHECK(value == vgpud::kLinkLogBytes); break;
      case CU_JIT_LOG_VERBOSE: CHECK(value == 1); break;
      default: FAIL("an option vgpud does not set");
    }
  }
  REQUIRE((info != nullptr && error != nullptr));
  CHECK(jit->info_log().empty());
  std::strcpy(info, "linked");
  CHECK(text(jit->info_log()) == "linked");
  // A log filled to its last byte, without a NUL, is read to the buffer's end and no further.
  std::memset(error, 'e', vgpud::kLinkLogBytes);
  CHECK(jit->error_log().size() == vgpud::kLinkLogBytes);

  vgpud::Link link;
  link.jit = std::move(jit);
  CHECK(text(link.output(vgpud::LinkOutput::InfoLog)) == "linked");
  CHECK(link.output(vgpud::LinkOutput::Cubin).empty());  // until a complete succeeds
  CHECK(link.output(static_cast<vgpud::LinkOutput>(3)).empty());
}

TEST_CASE("a PTX input gets its NUL, charged like the rest", "[executor][link][upload]") {
  std::atomic<uint64_t> used{0};
  const BudgetRef budget{&used, nullptr, 0};
  {
    std::vector<uint8_t> bytes{'p', 't', 'x'};
    bytes.shrink_to_fit();
    used = bytes.capacity();
    UploadedImage image(std::move(bytes), budget, used.load());
    REQUIRE(image.terminate_text());
    CHECK(image.bytes() == std::vector<uint8_t>{'p', 't', 'x', 0});
    CHECK(used.load() == 4);
    REQUIRE(image.terminate_text());  // already ends with its NUL
    CHECK(image.bytes().size() == 4);
    // Moved into a link's inputs: the bytes stay where they are, the charge goes along.
    const uint8_t* where = image.bytes().data();
    std::vector<UploadedImage> inputs;
    inputs.push_back(std::move(image));
    CHECK(inputs.back().bytes().data() == where);
    CHECK(used.load() == 4);
  }
  CHECK(used.load() == 0);

  // Without room in the budget, nothing changes.
  const BudgetRef full{&used, nullptr, 3};
  std::vector<uint8_t> bytes{'p', 't', 'x'};
  bytes.shrink_to_fit();
  used = 3;
  {
    UploadedImage image(std::move(bytes), full, 3);
    CHECK_FALSE(image.terminate_text());
    CHECK(image.bytes().size() == 3);
    CHECK(used.load() == 3);
  }
  CHECK(used.load() == 0);
}

// Handlers for JIT linking (docs/protocol.md, "Linking"): a guest's cuLinkCreate, cuLinkAddData,
// cuLinkComplete and cuLinkDestroy run on the host's driver. Each input arrives as a pending
// image (BLOB_APPEND pieces through the upload ring, as a module image does); the linked cubin
// and the linker's logs go back in LINK_READ pieces, and the guest loads the cubin like any
// other module image (MODULE_LOAD), so that it gets the same checks and accounting.
//
// A link belongs to the context it was made in (the current device's, at its first LINK_ADD):
// every later driver call on it runs there, and it is destroyed there before that context goes
// (DEVICE_RESET, the channel's end).
#include <fmt/format.h>

#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "vgpu/common/corpus_recorder.h"
#include "vgpu/protocol/limits.h"
#include "vgpud/executor/channel_executor.h"
#include "vgpud/executor/link_state.h"
#include "vgpud/executor/module_image.h"
#include "vgpud/executor/reply_payload.h"
#include "vgpud/log/channel_log.h"
#include "vgpud/log/guest_text.h"
#include "vgpud/log/log.h"

namespace vgpud {

namespace {

// The image kind an input type must have, where vgpud can read that type (module_image.h);
// none for objects and libraries, which the driver takes within the size it is given.
std::optional<ModuleImageKind> expected_kind(uint32_t input_type) {
  switch (input_type) {
    case CU_JIT_INPUT_CUBIN: return ModuleImageKind::Elf;
    case CU_JIT_INPUT_PTX: return ModuleImageKind::Text;
    case CU_JIT_INPUT_FATBINARY: return ModuleImageKind::FatBinary;
    default: return std::nullopt;
  }
}

}  // namespace

int32_t ChannelExecutor::check_link_input(const LinkAddCmd& cmd, UploadedImage& input) {
  std::vector<uint8_t>& bytes = input.bytes();
  // Not counted as a rejection: a size that does not match usually follows a BLOB_APPEND that
  // was refused, and counted, already (MODULE_LOAD answers the same).
  if (bytes.size() != cmd.size) return CUDA_ERROR_INVALID_VALUE;
  if (!link_input_type_ok(cmd.input_type)) {
    HopCounters::bump(setup_.counters->rejected);
    return CUDA_ERROR_INVALID_VALUE;
  }
  // cuLinkAddData is given the size, but a fat binary's or an ELF's own sizes are what a parser
  // believes: the same check as a module image's, where vgpud can make it.
  if (const std::optional<ModuleImageKind> kind = expected_kind(cmd.input_type)) {
    vgpu::corpus::record("module_image", bytes);
    const auto checked = check_module_image(bytes);
    if (!checked || *checked != *kind) {
      HopCounters::bump(setup_.counters->rejected);
      log::guest_warn(log::executor(), "vm={} seq={} link input of {} bytes (type {}) rejected: {}", setup_.name,
                      trace_.seq(), bytes.size(), cmd.input_type,
                      checked ? "not an image of its type" : module_image_error_message(checked.error()));
      return CUDA_ERROR_INVALID_IMAGE;
    }
  }
  // PTX is read up to its NUL, as a text module image is.
  if (cmd.input_type == CU_JIT_INPUT_PTX && !input.terminate_text()) return limit_exceeded();
  return 0;
}

int32_t ChannelExecutor::handle(const LinkAddCmd& cmd, Reply& reply) {
  // Taken whatever happens below, as MODULE_LOAD takes it: a refused input is dropped here and
  // its host memory given back.
  UploadedImage input = image_upload_.take();
  Link* link = nullptr;
  if (cmd.link != 0) {
    link = objects_.links.find(cmd.link);
    // Inputs join a link until cuLinkComplete was called on it, whatever that answered.
    if (link == nullptr || link->completion.has_value()) return CUDA_ERROR_INVALID_HANDLE;
  }
  if (int32_t st = require_context()) return st;
  if (int32_t st = check_link_input(cmd, input)) return st;

  uint32_t id = cmd.link;
  if (link == nullptr) {
    if (objects_.links.full()) return limit_exceeded();
    auto jit = std::make_unique<LinkJitOptions>();
    CUlinkState state = nullptr;
    const CUresult r = traced("cuLinkCreate", cu_.cuLinkCreate(jit->count(), jit->options(), jit->values(), &state));
    if (r != CUDA_SUCCESS) return r;
    id = objects_.links.insert(Link{state, contexts_.current(), std::move(jit), {}, std::nullopt, {}});
    link = objects_.links.find(id);
  }

  std::vector<uint8_t>& bytes = input.bytes();
  const char* name = cmd.name.empty() ? nullptr : cmd.name.c_str();
  const CUresult r = contexts_.in_existing_context_of(link->device, [&] {
    return traced("cuLinkAddData",
                  cu_.cuLinkAddData(link->state, static_cast<CUjitInputType>(cmd.input_type), bytes.data(),
                                    bytes.size(), name, 0, nullptr, nullptr),
                  fmt::format("link={} type={} bytes={} name='{}'", id, cmd.input_type, cmd.size,
                              log::guest_text(cmd.name)));
  });
  if (r != CUDA_SUCCESS) {
    // The link stays, with the linker's error log for LINK_READ. A new link's id travels in the
    // failed reply's payload (replies carry their payload whatever the status), so the guest
    // can read the log and destroy it; if the guest never does, channel teardown does.
    put(reply.payload, proto::LinkAddReply{id, 0});
    return r;
  }
  link->inputs.push_back(std::move(input));
  put(reply.payload, proto::LinkAddReply{id, 0});
  return 0;
}

int32_t ChannelExecutor::handle(const LinkCompleteCmd& cmd, Reply& reply) {
  Link* link = objects_.links.find(cmd.link);
  if (link == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  // The driver says nothing of a second cuLinkComplete on one state: it is called once, and a
  // second LINK_COMPLETE answers what the first did.
  if (!link->completion.has_value()) {
    bool called = false;
    void* cubin = nullptr;
    size_t size = 0;
    const CUresult r = contexts_.in_existing_context_of(link->device, [&] {
      called = true;
      return traced("cuLinkComplete", cu_.cuLinkComplete(link->state, &cubin, &size), fmt::format("link={}", cmd.link));
    });
    if (!called) return r;  // the link's context could not be made current: nothing happened
    link->completion = r;
    if (r == CUDA_SUCCESS && cubin != nullptr) link->cubin = {static_cast<const uint8_t*>(cubin), size};
  }
  if (*link->completion != CUDA_SUCCESS) return *link->completion;
  put(reply.payload, proto::LinkCompleteReply{link->cubin.size()});
  return 0;
}

int32_t ChannelExecutor::handle(const LinkReadCmd& cmd, Reply& reply) {
  Link* link = objects_.links.find(cmd.link);
  if (link == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  const std::span<const uint8_t> whole = link->output(static_cast<LinkOutput>(cmd.what));
  const std::span<const uint8_t> piece = link_read_window(whole, cmd.offset, cmd.length);
  put(reply.payload, proto::LinkReadReply{whole.size(), static_cast<uint32_t>(piece.size()), 0});
  reply.payload.insert(reply.payload.end(), piece.begin(), piece.end());
  return 0;
}

int32_t ChannelExecutor::handle(const LinkDestroyCmd& cmd, Reply&) {
  if (objects_.links.find(cmd.link) == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  return destroy_link(cmd.link);
}

CUresult ChannelExecutor::destroy_link(uint32_t id) {
  Link* link = objects_.links.find(id);
  if (link == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  const CUresult r = contexts_.in_existing_context_of(link->device, [&] {
    return traced("cuLinkDestroy", cu_.cuLinkDestroy(link->state), fmt::format("link={}", id));
  });
  objects_.links.erase(id);
  return r;
}

void ChannelExecutor::destroy_links_on(uint32_t device) {
  std::vector<uint32_t> ids;
  objects_.links.for_each([&](uint32_t id, const Link& link) {
    if (link.device == device) ids.push_back(id);
  });
  for (uint32_t id : ids) destroy_link(id);
}

}  // namespace vgpud

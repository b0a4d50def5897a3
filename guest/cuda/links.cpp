#include "guest/cuda/links.h"

#include <algorithm>
#include <cstring>

#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/jit_logs.h"

namespace vgpu::cuda {
namespace {

enum class LinkOutput : uint32_t { Image = 0, InfoLog = 1, ErrorLog = 2 };

// One of a link's outputs, read back in pieces.
CUresult read_output(guest::Channel& channel, uint32_t wire, LinkOutput what, std::vector<uint8_t>* out) {
  out->clear();
  std::vector<uint8_t> piece(limits::kMaxLinkRead);
  for (;;) {
    const proto::LinkReadRequest request{wire, static_cast<uint32_t>(what), out->size(), limits::kMaxLinkRead, 0};
    proto::LinkReadReply reply{};
    const guest::CallResult r = guest::call<proto::CallId::LinkRead>(channel, request, {}, &reply, piece);
    if (r.status != 0) return to_cu_result(r.status);
    if (r.payload_size < sizeof reply || reply.returned > r.payload_size - sizeof reply ||
        reply.total > limits::kMaxModuleImage)
      return CUDA_ERROR_UNKNOWN;
    out->insert(out->end(), piece.begin(), piece.begin() + reply.returned);
    if (out->size() >= reply.total || reply.returned == 0) return CUDA_SUCCESS;
  }
}

std::string read_log(guest::Channel& channel, uint32_t wire, LinkOutput what) {
  std::vector<uint8_t> bytes;
  if (wire == 0 || read_output(channel, wire, what, &bytes) != CUDA_SUCCESS) return {};
  return std::string(bytes.begin(), bytes.end());
}

void answer_logs(guest::Channel& channel, LinkObject& link) {
  if (link.option_count == 0) return;
  answer_jit_options(link.option_count, link.options, link.values, read_log(channel, link.wire, LinkOutput::InfoLog),
                     read_log(channel, link.wire, LinkOutput::ErrorLog));
}

}  // namespace

CUresult link_add(guest::Channel& channel, LinkObject& link, CUjitInputType type, const void* data, size_t size,
                  const char* name) {
  if (link.completed) return CUDA_ERROR_INVALID_VALUE;
  const size_t name_length = name == nullptr ? 0 : strnlen(name, limits::kMaxSymbolName);
  const proto::LinkAddRequest request{link.wire, static_cast<uint32_t>(type), size,
                                      static_cast<uint32_t>(name_length), 0};
  proto::LinkAddReply reply{};
  guest::Channel::set_thread_device(link.device);
  const guest::CallResult r =
      channel.call_with_blob(proto::CallId::LinkAdd, {{&request, sizeof request}, {name, static_cast<uint32_t>(name_length)}},
                             data, size, {reinterpret_cast<uint8_t*>(&reply), sizeof reply});
  // A first input makes the link even when the linker refuses it: its log is there to read.
  if (link.wire == 0 && r.payload_size >= sizeof reply) link.wire = reply.link;
  if (r.status != 0) answer_logs(channel, link);
  return to_cu_result(r.status);
}

CUresult link_complete(guest::Channel& channel, LinkObject& link) {
  if (link.wire == 0) return CUDA_ERROR_INVALID_VALUE;  // nothing was added
  guest::Channel::set_thread_device(link.device);
  proto::LinkCompleteReply reply{};
  const guest::CallResult r = guest::call<proto::CallId::LinkComplete>(channel, {link.wire, 0}, &reply);
  CUresult result = to_cu_result(r.status);
  if (result == CUDA_SUCCESS) {
    result = read_output(channel, link.wire, LinkOutput::Image, &link.image);
    if (result == CUDA_SUCCESS && link.image.size() != reply.image_size) result = CUDA_ERROR_UNKNOWN;
    link.completed = result == CUDA_SUCCESS;
  }
  answer_logs(channel, link);
  return result;
}

void link_destroy(guest::Channel& channel, LinkObject& link) {
  if (link.wire == 0) return;
  guest::Channel::set_thread_device(link.device);
  (void)guest::post<proto::CallId::LinkDestroy>(channel, {link.wire, 0});
  link.wire = 0;
}

std::string ptx_error_log(guest::Channel& channel, const void* ptx, size_t size) {
  LinkObject probe;
  probe.device = guest::Channel::thread_device();
  if (link_add(channel, probe, CU_JIT_INPUT_PTX, ptx, size, "ptx") == CUDA_SUCCESS) {
    // It compiles alone; what failed is the load (an unresolved reference, say): the linker
    // says which at completion.
    (void)guest::call<proto::CallId::LinkComplete>(channel, {probe.wire, 0}, nullptr);
  }
  std::string log = read_log(channel, probe.wire, LinkOutput::ErrorLog);
  link_destroy(channel, probe);
  return log;
}

}  // namespace vgpu::cuda

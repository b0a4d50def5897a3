#include "guest/cuda/modules.h"

#include <cstring>
#include <memory>

#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/context.h"
#include "guest/cuda/param_pack.h"

namespace vgpu::cuda {

CUresult load_module(guest::Channel& channel, const ImageExtent& image, uint32_t device, ModuleObject** out) {
  guest::Channel::set_thread_device(device);
  uint32_t id = 0;
  if (int32_t status = channel.load_module(image.data, image.size, &id); status != 0) return to_cu_result(status);
  auto* m = new ModuleObject;
  m->wire = id;
  m->device = device;
  *out = m;
  return CUDA_SUCCESS;
}

CUresult get_function(guest::Channel& channel, ModuleObject& module, const char* name, FunctionObject** out) {
  if (name == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const size_t length = strnlen(name, limits::kMaxSymbolName + 1);
  if (length == 0 || length > limits::kMaxSymbolName) return CUDA_ERROR_INVALID_VALUE;
  guest::Channel::set_thread_device(module.device);
  const proto::ModuleSymbolRequest request{module.wire, static_cast<uint32_t>(length)};
  std::vector<uint8_t> reply(sizeof(proto::ModuleGetFunctionReply) +
                             limits::kMaxKernelParams * sizeof(proto::KernelParamInfo));
  const guest::CallResult r = channel.call(proto::CallId::ModuleGetFunction,
                                           {{&request, sizeof request}, {name, request.name_length}}, reply);
  if (r.status != 0) return to_cu_result(r.status);
  proto::ModuleGetFunctionReply head;
  if (r.payload_size < sizeof head) return CUDA_ERROR_UNKNOWN;
  std::memcpy(&head, reply.data(), sizeof head);
  if (head.param_count > (r.payload_size - sizeof head) / sizeof(proto::KernelParamInfo)) return CUDA_ERROR_UNKNOWN;
  auto f = std::make_unique<FunctionObject>();
  f->wire = head.function;
  f->device = module.device;
  f->param_buffer_size = head.param_buffer_size;
  f->params.resize(head.param_count);
  if (head.param_count > 0)
    std::memcpy(f->params.data(), reply.data() + sizeof head, head.param_count * sizeof(proto::KernelParamInfo));
  if (!cuda::param_layout_valid(f->params, f->param_buffer_size)) return CUDA_ERROR_UNKNOWN;
  f->module = &module;
  f->name = name;
  register_function(f.get());  // a captured kernel node names it by id
  *out = f.get();
  std::lock_guard lock(module.mutex);
  module.functions.push_back(std::move(f));
  return CUDA_SUCCESS;
}

CUresult list_functions(guest::Channel& channel, ModuleObject& module, std::vector<std::string>* names) {
  names->clear();
  guest::Channel::set_thread_device(module.device);
  std::vector<uint8_t> tail(limits::kMaxFunctionListBytes);
  for (;;) {
    proto::ModuleListFunctionsReply reply{};
    const guest::CallResult r = guest::call<proto::CallId::ModuleListFunctions>(
        channel, {module.wire, static_cast<uint32_t>(names->size())}, {}, &reply, tail);
    if (r.status != 0) return to_cu_result(r.status);
    if (r.payload_size < sizeof reply || reply.names_bytes > r.payload_size - sizeof reply) return CUDA_ERROR_UNKNOWN;
    // `returned` NUL-terminated names, exactly filling names_bytes.
    size_t at = 0;
    for (uint32_t i = 0; i < reply.returned; ++i) {
      const auto* start = reinterpret_cast<const char*>(tail.data()) + at;
      const size_t length = strnlen(start, reply.names_bytes - at);
      if (at + length >= reply.names_bytes) return CUDA_ERROR_UNKNOWN;  // no terminator inside
      names->emplace_back(start, length);
      at += length + 1;
    }
    if (names->size() >= reply.total || reply.returned == 0) return CUDA_SUCCESS;
  }
}

CUresult library_module(guest::Channel& channel, LibraryObject& library, uint32_t device, ModuleObject** out) {
  if (device >= limits::kMaxDevices) return CUDA_ERROR_INVALID_DEVICE;
  std::lock_guard lock(library.mutex);
  const uint64_t generation = device_generation(device);
  if (library.modules[device] != nullptr && library.generations[device] != generation) {
    // The device was reset since: vgpud has forgotten the module. Its object is kept, dead:
    // the program may still hold handles of its functions, which must read as stale.
    ModuleObject* stale = library.modules[device];
    stale->kind = HandleKind::Dead;
    for (auto& f : stale->functions) f->kind = HandleKind::Dead;
    library.retired.emplace_back(stale);
    library.modules[device] = nullptr;
  }
  if (library.modules[device] == nullptr) {
    ModuleObject* m = nullptr;
    if (CUresult r = load_module(channel, library.extent, device, &m); r != CUDA_SUCCESS) return r;
    m->library = &library;
    library.modules[device] = m;
    library.generations[device] = generation;
  }
  *out = library.modules[device];
  return CUDA_SUCCESS;
}

CUresult function_on(guest::Channel& channel, CUfunction handle, uint32_t device, FunctionObject** out) {
  if (FunctionObject* f = object_of<FunctionObject>(handle, HandleKind::Function)) {
    *out = f;
    return CUDA_SUCCESS;
  }
  KernelObject* k = object_of<KernelObject>(handle, HandleKind::Kernel);
  if (k == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (device >= limits::kMaxDevices) return CUDA_ERROR_INVALID_DEVICE;
  std::lock_guard lock(k->mutex);
  const uint64_t generation = device_generation(device);
  if (k->functions[device] == nullptr || k->generations[device] != generation) {
    ModuleObject* m = nullptr;
    if (CUresult r = library_module(channel, *k->library, device, &m); r != CUDA_SUCCESS) return r;
    FunctionObject* f = nullptr;
    if (CUresult r = get_function(channel, *m, k->name.c_str(), &f); r != CUDA_SUCCESS) return r;
    k->functions[device] = f;
    k->generations[device] = generation;
  }
  *out = k->functions[device];
  return CUDA_SUCCESS;
}

}  // namespace vgpu::cuda

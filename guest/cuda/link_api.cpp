// cuLinkCreate, cuLinkAddData, cuLinkAddFile, cuLinkComplete, cuLinkDestroy: the driver's JIT
// linker, run on the host (links.h). The unsuffixed names are the CUDA 5.5 ABI, which has the
// same arguments.
#include <fstream>
#include <iterator>
#include <memory>
#include <vector>

#include "guest/cuda/api.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/jit_logs.h"
#include "guest/cuda/links.h"

using namespace vgpu::cuda;
namespace guest = vgpu::guest;

namespace {

constexpr bool known_input(CUjitInputType type) {
  switch (type) {
    case CU_JIT_INPUT_CUBIN:
    case CU_JIT_INPUT_PTX:
    case CU_JIT_INPUT_FATBINARY:
    case CU_JIT_INPUT_OBJECT:
    case CU_JIT_INPUT_LIBRARY:
      return true;
    default:
      return false;  // NVVM IR needs the driver's LTO support, which vgpu does not offer
  }
}

CUresult create(unsigned count, CUjit_option* options, void** values, CUlinkState* out) {
  if (out == nullptr || (count > 0 && (options == nullptr || values == nullptr))) return CUDA_ERROR_INVALID_VALUE;
  guest::Channel* ch = nullptr;
  Context* c = nullptr;
  if (CUresult r = enter_context(&ch, &c); r != CUDA_SUCCESS) return r;
  auto link = std::make_unique<LinkObject>();
  link->device = c->device;
  link->option_count = count;
  link->options = options;
  link->values = values;
  *out = reinterpret_cast<CUlinkState>(link.release());
  return CUDA_SUCCESS;
}

CUresult add_data(CUlinkState state, CUjitInputType type, const void* data, size_t size, const char* name) {
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  LinkObject* link = object_of<LinkObject>(state, HandleKind::Link);
  if (link == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (data == nullptr || size == 0 || !known_input(type)) return CUDA_ERROR_INVALID_VALUE;
  return link_add(*ch, *link, type, data, size, name);
}

CUresult add_file(CUlinkState state, CUjitInputType type, const char* path) {
  if (path == nullptr) return CUDA_ERROR_INVALID_VALUE;
  std::ifstream file(path, std::ios::binary);
  if (!file) return CUDA_ERROR_FILE_NOT_FOUND;
  std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (type == CU_JIT_INPUT_PTX) bytes.push_back('\0');  // a PTX file has no NUL of its own
  if (bytes.empty()) return CUDA_ERROR_INVALID_VALUE;
  return add_data(state, type, bytes.data(), bytes.size(), path);
}

}  // namespace

VGPU_DRIVER_API CUresult cuLinkCreate_v2(unsigned int numOptions, CUjit_option* options, void** optionValues,
                                         CUlinkState* stateOut) {
  return guarded([&] { return create(numOptions, options, optionValues, stateOut); });
}
VGPU_DRIVER_API CUresult cuLinkCreate(unsigned int numOptions, CUjit_option* options, void** optionValues,
                                      CUlinkState* stateOut) {
  return cuLinkCreate_v2(numOptions, options, optionValues, stateOut);
}

// Options given per input tune the host's compilation of that input; it uses the driver's
// defaults (as the link's own options do, but for the logs).
VGPU_DRIVER_API CUresult cuLinkAddData_v2(CUlinkState state, CUjitInputType type, void* data, size_t size,
                                          const char* name, unsigned int, CUjit_option*, void**) {
  return guarded([&] { return add_data(state, type, data, size, name); });
}
VGPU_DRIVER_API CUresult cuLinkAddData(CUlinkState state, CUjitInputType type, void* data, size_t size,
                                       const char* name, unsigned int numOptions, CUjit_option* options,
                                       void** optionValues) {
  return cuLinkAddData_v2(state, type, data, size, name, numOptions, options, optionValues);
}

VGPU_DRIVER_API CUresult cuLinkAddFile_v2(CUlinkState state, CUjitInputType type, const char* path, unsigned int,
                                          CUjit_option*, void**) {
  return guarded([&] { return add_file(state, type, path); });
}
VGPU_DRIVER_API CUresult cuLinkAddFile(CUlinkState state, CUjitInputType type, const char* path,
                                       unsigned int numOptions, CUjit_option* options, void** optionValues) {
  return cuLinkAddFile_v2(state, type, path, numOptions, options, optionValues);
}

// The cubin lives in the link state until cuLinkDestroy, as the driver's does.
VGPU_DRIVER_API CUresult cuLinkComplete(CUlinkState state, void** cubinOut, size_t* sizeOut) {
  if (cubinOut == nullptr || sizeOut == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    LinkObject* link = object_of<LinkObject>(state, HandleKind::Link);
    if (link == nullptr) return CUDA_ERROR_INVALID_HANDLE;
    if (CUresult r = link_complete(*ch, *link); r != CUDA_SUCCESS) return r;
    *cubinOut = link->image.data();
    *sizeOut = link->image.size();
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuLinkDestroy(CUlinkState state) {
  return guarded([&] {
    LinkObject* link = object_of<LinkObject>(state, HandleKind::Link);
    if (link == nullptr) return CUDA_ERROR_INVALID_HANDLE;
    if (guest::Channel* ch = channel()) link_destroy(*ch, *link);
    link->kind = HandleKind::Dead;
    delete link;
    return CUDA_SUCCESS;
  });
}

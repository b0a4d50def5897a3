// cuGetErrorName and cuGetErrorString, answered in the guest. The names come from the CUDA
// headers (error_names.inc). The texts are the driver's: since CUDA 10 a CUresult and the
// cudaError_t of the same number mean the same, and the driver's text is the runtime's
// (guest/cudart/error_table.h); a value the runtime lacks is described by its name in words.
#include <array>
#include <cctype>
#include <cstring>
#include <mutex>
#include <string>

#include "guest/cuda/api.h"
#include "guest/cudart/error_table.h"

namespace {

struct ErrorName {
  int value;
  const char* name;
};

constexpr ErrorName kErrorNames[] = {
#include "error_names.inc"
};

const ErrorName* find(CUresult error) {
  for (const ErrorName& e : kErrorNames)
    if (e.value == static_cast<int>(error)) return &e;
  return nullptr;
}

// "CUDA_ERROR_INVALID_VALUE" -> "invalid value", made once per error and kept for the life of
// the process (the driver's strings are static too).
const char* describe(const ErrorName& e) {
  if (const char* text = vgpu::cudart::cuda_error_text(e.value)) return text;
  static std::array<std::string, std::size(kErrorNames)>* texts = new std::array<std::string, std::size(kErrorNames)>;
  std::string& text = (*texts)[static_cast<size_t>(&e - kErrorNames)];
  if (text.empty()) {
    const char* words = std::strncmp(e.name, "CUDA_ERROR_", 11) == 0 ? e.name + 11 : "no error";
    for (const char* p = words; *p != '\0'; ++p)
      text += *p == '_' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(*p)));
  }
  return text.c_str();
}

}  // namespace

VGPU_DRIVER_API CUresult cuGetErrorName(CUresult error, const char** name) {
  if (name == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const ErrorName* e = find(error);
  *name = e == nullptr ? nullptr : e->name;
  return e == nullptr ? CUDA_ERROR_INVALID_VALUE : CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuGetErrorString(CUresult error, const char** text) {
  if (text == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return vgpu::cuda::guarded([&] {
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    const ErrorName* e = find(error);
    *text = e == nullptr ? nullptr : describe(*e);
    return e == nullptr ? CUDA_ERROR_INVALID_VALUE : CUDA_SUCCESS;
  });
}

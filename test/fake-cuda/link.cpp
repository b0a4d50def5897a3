// fake-cuda (test double, never ships): the JIT linker (cuLinkCreate_v2, cuLinkAddData_v2,
// cuLinkComplete, cuLinkDestroy). Every input, whatever its type, is a fake module image; the
// linked "cubin" is one fake image holding every input's kernels and globals, which
// cuModuleLoadData loads. Logs go into the caller's buffers, as the driver writes them.
#include "internal.h"

#include <string_view>

#include "image.h"

using namespace vgpu::fake;

namespace {

// A buffer the caller gave cuLinkCreate for a log, and the option value the driver writes the
// bytes used into (CU_JIT_*_LOG_BUFFER_SIZE_BYTES is in/out; it must outlive the link).
struct LogBuffer {
  char* data = nullptr;
  std::size_t size = 0;
  void** size_out = nullptr;
  std::size_t used = 0;

  // Appends one line, cut where the buffer ends; the text stays NUL-terminated.
  void line(const std::string& text) {
    if (data == nullptr || size == 0) return;
    const std::string with_newline = text + "\n";
    const std::size_t room = size - 1 - used;
    const std::size_t n = with_newline.size() < room ? with_newline.size() : room;
    std::memcpy(data + used, with_newline.data(), n);
    used += n;
    data[used] = '\0';
    if (size_out != nullptr) *size_out = reinterpret_cast<void*>(static_cast<std::uintptr_t>(used));
  }
};

struct Link {
  LogBuffer info;
  LogBuffer error;
  bool verbose = false;
  std::size_t inputs = 0;
  std::string bodies;    // every input's lines after its magic line, in order
  bool completed = false;
  std::string output;    // the linked image, NUL included; owned by the link, as in CUDA
};

std::mutex g_links_mu;
std::unordered_map<CUlinkState, Link> g_links;

const char* type_name(int type) {
  static const char* const kNames[] = {"cubin", "PTX", "fatbinary", "object", "library"};
  return type >= 0 && type < 5 ? kNames[type] : "?";
}

// A failed input's error: PTX fails to compile, anything else is not an image.
CUresult input_error(int type) { return type == CU_JIT_INPUT_PTX ? CUDA_ERROR_INVALID_PTX : CUDA_ERROR_INVALID_IMAGE; }

}  // namespace

FAKE_CUDA_API CUresult CUDAAPI cuLinkCreate_v2(unsigned int numOptions, CUjit_option* options, void** optionValues,
                                              CUlinkState* stateOut) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  l.lock.unlock();  // a link belongs to no context here: only a live one is needed
  if (stateOut == nullptr || (numOptions > 0 && (options == nullptr || optionValues == nullptr)))
    return CUDA_ERROR_INVALID_VALUE;
  Link link;
  for (unsigned i = 0; i < numOptions; ++i) {
    void* value = optionValues[i];
    const auto count = static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(value));
    switch (raw_enum(&options[i])) {
      case CU_JIT_INFO_LOG_BUFFER: link.info.data = static_cast<char*>(value); break;
      case CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES: link.info.size = count; link.info.size_out = &optionValues[i]; break;
      case CU_JIT_ERROR_LOG_BUFFER: link.error.data = static_cast<char*>(value); break;
      case CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES: link.error.size = count; link.error.size_out = &optionValues[i]; break;
      case CU_JIT_LOG_VERBOSE: link.verbose = value != nullptr; break;
      default:
        if (raw_enum(&options[i]) < 0 || raw_enum(&options[i]) >= CU_JIT_NUM_OPTIONS) return CUDA_ERROR_INVALID_VALUE;
        break;  // a real option the fake does not model
    }
  }
  for (LogBuffer* log : {&link.info, &link.error}) {
    if (log->data == nullptr) log->size = 0;
    if (log->size > 0) log->data[0] = '\0';
    if (log->size_out != nullptr) *log->size_out = nullptr;  // nothing written yet
  }
  const auto handle = new_handle<CUlinkState>();
  {
    std::lock_guard<std::mutex> g(g_links_mu);
    g_links.emplace(handle, std::move(link));
  }
  count_link(+1);
  write_state_file();
  *stateOut = handle;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuLinkAddData_v2(CUlinkState state, CUjitInputType type, void* data, size_t size,
                                               const char* name, unsigned int numOptions, CUjit_option* options,
                                               void** optionValues) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  l.lock.unlock();
  std::lock_guard<std::mutex> g(g_links_mu);
  auto it = g_links.find(state);
  // The fake's choice: a completed link takes no more inputs.
  if (it == g_links.end() || it->second.completed) return CUDA_ERROR_INVALID_HANDLE;
  Link& link = it->second;
  const int kind = raw_enum(&type);
  if (data == nullptr || size == 0 || kind < CU_JIT_INPUT_CUBIN || kind > CU_JIT_INPUT_LIBRARY ||
      (numOptions > 0 && (options == nullptr || optionValues == nullptr)))
    return CUDA_ERROR_INVALID_VALUE;
  const char* bytes = static_cast<const char*>(data);
  const std::string label = name != nullptr ? name : "<unnamed>";
  // The text ends at its first NUL; PTX must have one (cuda.h: "PTX must be NULL-terminated").
  const void* nul = std::memchr(bytes, '\0', size);
  if (kind == CU_JIT_INPUT_PTX && nul == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const std::string_view text(bytes, nul != nullptr ? static_cast<const char*>(nul) - bytes : size);
  if (text.find("BROKEN") != std::string_view::npos) {
    link.error.line("error   : fake linker: input '" + label + "' is BROKEN");
    return input_error(kind);
  }
  std::string why;
  const auto parsed = parse_image(text, &why);
  if (!parsed) {
    link.error.line("error   : fake linker: input '" + label + "' is no fake image: " + why);
    return input_error(kind);
  }
  const std::size_t body = text.find('\n');
  if (body != std::string_view::npos) {
    link.bodies.append(text.substr(body + 1));
    if (link.bodies.back() != '\n') link.bodies += '\n';
  }
  ++link.inputs;
  if (link.verbose)
    link.info.line("info    : fake linker: added " + std::string(type_name(kind)) + " input '" + label + "': " +
                   std::to_string(parsed->kernels.size()) + " kernel(s), " + std::to_string(parsed->globals.size()) +
                   " global(s)");
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuLinkComplete(CUlinkState state, void** cubinOut, size_t* sizeOut) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  l.lock.unlock();
  std::lock_guard<std::mutex> g(g_links_mu);
  auto it = g_links.find(state);
  if (it == g_links.end()) return CUDA_ERROR_INVALID_HANDLE;
  if (cubinOut == nullptr) return CUDA_ERROR_INVALID_VALUE;
  Link& link = it->second;
  if (!link.completed) {
    if (link.inputs == 0) {
      link.error.line("error   : fake linker: no inputs to link");
      return CUDA_ERROR_INVALID_VALUE;
    }
    // Names are global across inputs, as in relocatable device code: one defined twice is a
    // link error.
    const std::string merged = std::string(kImageMagic) + "\n" + link.bodies;
    std::string why;
    const auto parsed = parse_image(merged, &why);
    if (!parsed) {
      link.error.line("error   : fake linker: " + why);
      return CUDA_ERROR_INVALID_IMAGE;
    }
    link.output = merged;
    link.output.push_back('\0');  // cuModuleLoadData reads the image up to its NUL
    link.completed = true;
    if (link.verbose)
      link.info.line("info    : fake linker: linked " + std::to_string(link.inputs) + " input(s) into " +
                     std::to_string(parsed->kernels.size()) + " kernel(s), " + std::to_string(parsed->globals.size()) +
                     " global(s), " + std::to_string(link.output.size()) + " bytes");
  }
  *cubinOut = link.output.data();
  if (sizeOut != nullptr) *sizeOut = link.output.size();
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuLinkDestroy(CUlinkState state) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  {
    std::lock_guard<std::mutex> g(g_links_mu);
    if (g_links.erase(state) == 0) return CUDA_ERROR_INVALID_HANDLE;
  }
  count_link(-1);
  write_state_file();
  return CUDA_SUCCESS;
}

// fake-cuda (test double, never ships): self-check of the JIT linker (cuLinkCreate_v2,
// cuLinkAddData_v2, cuLinkComplete, cuLinkDestroy) over fake images.
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "fake_module.h"
#include "selftest.h"

namespace vgpu::fake::selftest {

namespace {

std::string read_all(const char* path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A link with vgpud's options: both logs, verbose.
struct Logs {
  char info[4096] = {};
  char error[4096] = {};
  CUjit_option options[5] = {CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES, CU_JIT_ERROR_LOG_BUFFER,
                             CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES, CU_JIT_LOG_VERBOSE};
  void* values[5] = {info, reinterpret_cast<void*>(uintptr_t{sizeof info}), error,
                     reinterpret_cast<void*>(uintptr_t{sizeof error}), reinterpret_cast<void*>(uintptr_t{1})};
};

CUresult add(CUlinkState link, CUjitInputType type, const std::string& text, const char* name) {
  // With its NUL, as PTX must be given.
  return api.cuLinkAddData_v2(link, type, const_cast<char*>(text.c_str()), text.size() + 1, name, 0, nullptr,
                              nullptr);
}

}  // namespace

void link_checks(const char* state_file) {
  CUcontext before = nullptr, ctx = nullptr;
  OK(api.cuCtxGetCurrent(&before));
  OK(api.cuCtxCreate_v2(&ctx, 0, 0));

  Logs logs;
  CUlinkState link = nullptr;
  EXPECT_RC(api.cuLinkCreate_v2(5, logs.options, logs.values, nullptr), CUDA_ERROR_INVALID_VALUE);
  OK(api.cuLinkCreate_v2(5, logs.options, logs.values, &link));
  CHECK(read_all(state_file).find("links=1\n") != std::string::npos);

  // Two inputs, each with a kernel; the output holds both and loads as a module.
  OK(add(link, CU_JIT_INPUT_PTX, fake::module_image({"kernel first_part 8"}), "first.ptx"));
  OK(add(link, CU_JIT_INPUT_CUBIN, fake::module_image({"kernel second_part", "global table 16"}), "second.cubin"));
  EXPECT_RC(add(link, static_cast<CUjitInputType>(CU_JIT_INPUT_NVVM), fake::module_image({}), "x"),
            CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuLinkAddData_v2(link, CU_JIT_INPUT_PTX, const_cast<char*>("FAKECUBIN 1"), 11, "no-nul", 0, nullptr,
                                 nullptr),
            CUDA_ERROR_INVALID_VALUE);  // PTX without its NUL
  // A broken input fails with a line naming it; the link goes on.
  EXPECT_RC(add(link, CU_JIT_INPUT_PTX, fake::module_image({"# BROKEN"}), "bad.ptx"), CUDA_ERROR_INVALID_PTX);
  CHECK(std::strstr(logs.error, "'bad.ptx'") != nullptr);
  CHECK(reinterpret_cast<uintptr_t>(logs.values[3]) == std::strlen(logs.error));  // bytes used, written back
  EXPECT_RC(add(link, CU_JIT_INPUT_FATBINARY, "not an image", "junk.fatbin"), CUDA_ERROR_INVALID_IMAGE);

  void* cubin = nullptr;
  size_t size = 0;
  OK(api.cuLinkComplete(link, &cubin, &size));
  const std::string linked(static_cast<const char*>(cubin), size);
  CHECK(size > 0 && linked.back() == '\0');
  CHECK(linked.find("kernel first_part 8\n") != std::string::npos);
  CHECK(linked.find("kernel second_part\n") != std::string::npos);
  CHECK(std::strstr(logs.info, "linked 2 input(s) into 2 kernel(s)") != nullptr);
  CUmodule mod = nullptr;
  OK(api.cuModuleLoadData(&mod, cubin));
  CUfunction f = nullptr;
  OK(api.cuModuleGetFunction(&f, mod, "first_part"));
  OK(api.cuModuleGetFunction(&f, mod, "second_part"));
  CUdeviceptr table = 0;
  size_t table_size = 0;
  OK(api.cuModuleGetGlobal_v2(&table, &table_size, mod, "table"));
  CHECK(table_size == 16);
  OK(api.cuModuleUnload(mod));
  // Completed: no more inputs; completing again gives the same image.
  EXPECT_RC(add(link, CU_JIT_INPUT_PTX, fake::module_image({"kernel late"}), "late.ptx"), CUDA_ERROR_INVALID_HANDLE);
  void* again = nullptr;
  OK(api.cuLinkComplete(link, &again, nullptr));
  CHECK(again == cubin);
  OK(api.cuLinkDestroy(link));
  EXPECT_RC(api.cuLinkDestroy(link), CUDA_ERROR_INVALID_HANDLE);
  EXPECT_RC(api.cuLinkComplete(link, &cubin, &size), CUDA_ERROR_INVALID_HANDLE);

  // Nothing to link, and one name defined twice, fail at completion.
  OK(api.cuLinkCreate_v2(5, logs.options, logs.values, &link));
  EXPECT_RC(api.cuLinkComplete(link, &cubin, &size), CUDA_ERROR_INVALID_VALUE);
  CHECK(std::strstr(logs.error, "no inputs") != nullptr);
  OK(add(link, CU_JIT_INPUT_PTX, fake::module_image({"kernel twice"}), "a.ptx"));
  OK(add(link, CU_JIT_INPUT_PTX, fake::module_image({"kernel twice"}), "b.ptx"));
  EXPECT_RC(api.cuLinkComplete(link, &cubin, &size), CUDA_ERROR_INVALID_IMAGE);
  CHECK(std::strstr(logs.error, "duplicate kernel 'twice'") != nullptr);
  // A link outlives its context, as on the driver: it is destroyed on its own.
  OK(api.cuCtxDestroy_v2(ctx));
  CHECK(read_all(state_file).find("links=1\n") != std::string::npos);
  OK(api.cuLinkDestroy(link));
  CHECK(read_all(state_file).find("links=0\n") != std::string::npos);
  OK(api.cuCtxSetCurrent(before));
}

}  // namespace vgpu::fake::selftest

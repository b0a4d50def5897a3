// Registers a fake-driver module the way nvcc's generated code registers a fat binary, so the
// shim's registration, lazy loading and launch paths run in CI.
#pragma once
#include <cuda_runtime_api.h>

#include <string>

extern "C" {
void** __cudaRegisterFatBinary(void* fat_cubin);
void __cudaRegisterFatBinaryEnd(void** handle);
void __cudaUnregisterFatBinary(void** handle);
void __cudaRegisterFunction(void** handle, const char* host_fun, char* device_fun,
                            const char* device_name, int thread_limit, uint3* tid, uint3* bid,
                            dim3* block, dim3* grid, int* warp_size);
void __cudaRegisterVar(void** handle, char* host_var, char* device_address, const char* device_name,
                       int ext, size_t size, int constant, int global);
}

namespace guest_test {

struct FatbinWrapper {
  int magic;
  int version;
  const unsigned long long* data;
  void* filename_or_fatbins;
};

// The image must outlive the program (the shim loads it lazily).
inline void** register_image(const std::string& image) {
  static std::string keep;
  keep = image;
  static FatbinWrapper wrapper{0x466243b1, 1, nullptr, nullptr};
  wrapper.data = reinterpret_cast<const unsigned long long*>(keep.c_str());
  void** handle = __cudaRegisterFatBinary(&wrapper);
  return handle;
}

inline void register_kernel(void** handle, const void* host_stub, const char* name) {
  __cudaRegisterFunction(handle, static_cast<const char*>(host_stub), const_cast<char*>(name), name,
                         -1, nullptr, nullptr, nullptr, nullptr, nullptr);
}

}  // namespace guest_test

#include "guest/cudart/status_map.h"

#include <catch2/catch.hpp>
#include <cuda.h>
#include <cuda_runtime_api.h>

#include <cstring>

#include "guest/cudart/error_table.h"

using vgpu::cudart::to_cuda_error;

TEST_CASE("success maps to cudaSuccess", "[cudart][status]") { CHECK(to_cuda_error(CUDA_SUCCESS) == cudaSuccess); }

TEST_CASE("driver results map to the equal runtime error", "[cudart][status]") {
  struct Pair {
    CUresult driver;
    cudaError_t runtime;
  };
  const Pair pairs[] = {
      {CUDA_ERROR_INVALID_VALUE, cudaErrorInvalidValue},
      {CUDA_ERROR_OUT_OF_MEMORY, cudaErrorMemoryAllocation},
      {CUDA_ERROR_NOT_INITIALIZED, cudaErrorInitializationError},
      {CUDA_ERROR_NO_DEVICE, cudaErrorNoDevice},
      {CUDA_ERROR_INVALID_DEVICE, cudaErrorInvalidDevice},
      {CUDA_ERROR_INVALID_IMAGE, cudaErrorInvalidKernelImage},
      {CUDA_ERROR_INVALID_CONTEXT, cudaErrorDeviceUninitialized},
      {CUDA_ERROR_INVALID_HANDLE, cudaErrorInvalidResourceHandle},
      {CUDA_ERROR_NOT_FOUND, cudaErrorSymbolNotFound},
      {CUDA_ERROR_NOT_READY, cudaErrorNotReady},
      {CUDA_ERROR_ILLEGAL_ADDRESS, cudaErrorIllegalAddress},
      {CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, cudaErrorLaunchOutOfResources},
      {CUDA_ERROR_LAUNCH_FAILED, cudaErrorLaunchFailure},
      {CUDA_ERROR_NOT_SUPPORTED, cudaErrorNotSupported},
      {CUDA_ERROR_UNKNOWN, cudaErrorUnknown},
  };
  for (const Pair& p : pairs) {
    INFO("CUresult " << p.driver);
    CHECK(to_cuda_error(p.driver) == p.runtime);
  }
}

TEST_CASE("driver results without a runtime twin become cudaErrorUnknown", "[cudart][status]") {
  CHECK(to_cuda_error(CUDA_ERROR_CONTEXT_ALREADY_CURRENT) == cudaErrorUnknown);  // 202
  CHECK(to_cuda_error(static_cast<CUresult>(12345)) == cudaErrorUnknown);
  CHECK(to_cuda_error(static_cast<CUresult>(-1)) == cudaErrorUnknown);
  CHECK(to_cuda_error(static_cast<CUresult>(0x10099)) == cudaErrorUnknown);
}

TEST_CASE("the error table covers the cudaError enum", "[cudart][status]") {
  CHECK(std::strcmp(vgpu::cudart::cuda_error_name(cudaSuccess), "cudaSuccess") == 0);
  CHECK(std::strcmp(vgpu::cudart::cuda_error_text(cudaSuccess), "no error") == 0);
  CHECK(std::strcmp(vgpu::cudart::cuda_error_name(cudaErrorIllegalAddress), "cudaErrorIllegalAddress") == 0);
  CHECK(std::strcmp(vgpu::cudart::cuda_error_text(cudaErrorMemoryAllocation), "out of memory") == 0);
  CHECK(std::strcmp(vgpu::cudart::cuda_error_name(cudaErrorApiFailureBase), "cudaErrorApiFailureBase") == 0);
  CHECK(vgpu::cudart::cuda_error_name(10) == nullptr);  // a gap in the enum
  CHECK_FALSE(vgpu::cudart::is_cuda_error(202));
  CHECK(vgpu::cudart::is_cuda_error(cudaErrorInvalidResourceConfiguration));
}

TEST_CASE("cudaGetErrorName and cudaGetErrorString", "[cudart][status]") {
  CHECK(std::strcmp(cudaGetErrorName(cudaErrorInvalidConfiguration), "cudaErrorInvalidConfiguration") == 0);
  CHECK(std::strcmp(cudaGetErrorString(cudaErrorInvalidConfiguration), "invalid configuration argument") == 0);
  CHECK(std::strcmp(cudaGetErrorString(cudaErrorNoDevice), "no CUDA-capable device is detected") == 0);
  CHECK(std::strcmp(cudaGetErrorName(static_cast<cudaError_t>(4242)), "unrecognized error code") == 0);
  CHECK(std::strcmp(cudaGetErrorString(static_cast<cudaError_t>(-7)), "unrecognized error code") == 0);
}

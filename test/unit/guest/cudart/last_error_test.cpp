#include <catch2/catch.hpp>

#include <thread>

#include "guest/cudart/entry.h"

using namespace vgpu::cudart;

namespace {

// Each test starts from a clean slate on its thread.
void reset() { (void)take_last_error(); }

}  // namespace

TEST_CASE("failing calls set the last error; cudaGetLastError resets it", "[cudart][last_error]") {
  reset();
  CHECK(finish_call(cudaErrorInvalidValue) == cudaErrorInvalidValue);
  CHECK(cudaPeekAtLastError() == cudaErrorInvalidValue);
  CHECK(cudaPeekAtLastError() == cudaErrorInvalidValue);  // peeking does not reset
  CHECK(finish_call(cudaSuccess) == cudaSuccess);
  CHECK(cudaPeekAtLastError() == cudaErrorInvalidValue);  // success does not clear it
  CHECK(finish_call(cudaErrorInvalidDevice) == cudaErrorInvalidDevice);
  CHECK(cudaGetLastError() == cudaErrorInvalidDevice);  // the latest failure wins
  CHECK(cudaGetLastError() == cudaSuccess);
}

TEST_CASE("cudaErrorNotReady from a query is not recorded", "[cudart][last_error]") {
  reset();
  CHECK(finish_call(cudaErrorNotReady) == cudaErrorNotReady);
  CHECK(cudaGetLastError() == cudaSuccess);
  record_error(cudaErrorNotReady);
  CHECK(cudaPeekAtLastError() == cudaSuccess);
}

TEST_CASE("the last error is per thread", "[cudart][last_error]") {
  reset();
  record_error(cudaErrorLaunchFailure);
  cudaError_t seen_there = cudaErrorUnknown;
  std::thread([&] { seen_there = cudaGetLastError(); }).join();
  CHECK(seen_there == cudaSuccess);
  CHECK(cudaGetLastError() == cudaErrorLaunchFailure);
}

TEST_CASE("exceptions never leave an entry point", "[cudart][last_error]") {
  reset();
  CHECK(offline_call([]() -> cudaError_t { throw std::bad_alloc(); }) == cudaErrorMemoryAllocation);
  CHECK(offline_call([]() -> cudaError_t { throw 42; }) == cudaErrorUnknown);
  CHECK(cudaGetLastError() == cudaErrorUnknown);
}

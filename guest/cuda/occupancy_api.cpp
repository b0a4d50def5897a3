// The occupancy calculators. How many blocks of a kernel fit on a multiprocessor is the host
// driver's answer (it knows the kernel's registers and shared memory); the searches over block
// sizes (cuOccupancyMaxPotentialBlockSize*) run here over that answer, as CUDA's runtime
// headers run them.
#include <algorithm>

#include "guest/client/log.h"
#include "guest/cuda/api.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/modules.h"
#include "guest/client/typed_call.h"

using namespace vgpu::cuda;
namespace proto = vgpu::proto;
namespace guest = vgpu::guest;

namespace {

// The function a handle names in the calling thread's context, and the channel.
CUresult function_here(CUfunction f, guest::Channel** ch, FunctionObject** fn) {
  Context* c = nullptr;
  if (CUresult r = enter_context(ch, &c); r != CUDA_SUCCESS) return r;
  return function_on(**ch, f, c->device, fn);
}

CUresult max_active_blocks(int* blocks, CUfunction f, int block_size, size_t dynamic_shared, unsigned flags) {
  if (blocks == nullptr) return CUDA_ERROR_INVALID_VALUE;
  guest::Channel* ch = nullptr;
  FunctionObject* fn = nullptr;
  if (CUresult r = function_here(f, &ch, &fn); r != CUDA_SUCCESS) return r;
  const proto::OccupancyMaxBlocksRequest request{fn->wire, block_size, dynamic_shared, flags, 0};
  proto::OccupancyMaxBlocksReply reply{};
  const guest::CallResult r = ch->call(proto::CallId::OccupancyMaxBlocks, {{&request, sizeof request}},
                                       std::span(reinterpret_cast<uint8_t*>(&reply), sizeof reply));
  if (r.status != 0) return to_cu_result(r.status);
  *blocks = reply.blocks;
  return CUDA_SUCCESS;
}

// The block size with the most resident threads per multiprocessor, trying every multiple of
// the warp size from the largest the kernel and device allow down, and stopping early at full
// occupancy; the smallest grid that fills the device with it. Shared memory per block is
// `shared_of(block size)` or, without that, `dynamic_shared`.
CUresult max_potential_block_size(int* min_grid, int* block_size, CUfunction f, CUoccupancyB2DSize shared_of,
                                  size_t dynamic_shared, int limit, unsigned flags) {
  if (min_grid == nullptr || block_size == nullptr) return CUDA_ERROR_INVALID_VALUE;
  Context* c = current_context();
  if (c == nullptr) return init_status() == CUDA_SUCCESS ? CUDA_ERROR_INVALID_CONTEXT : init_status();
  const DeviceSnapshot* d = device(c->device);
  if (d == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  const int threads_per_sm = d->attribute(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR).value_or(0);
  const int warp = std::max(1, d->attribute(CU_DEVICE_ATTRIBUTE_WARP_SIZE).value_or(32));
  const int sms = d->attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT).value_or(0);
  int kernel_max = 0;
  if (CUresult r = cuFuncGetAttribute(&kernel_max, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, f); r != CUDA_SUCCESS)
    return r;
  int largest = d->attribute(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK).value_or(0);
  if (limit > 0) largest = std::min(largest, limit);
  largest = std::min(largest, kernel_max);

  int best_threads = 0, best_block = 0, best_blocks = 0;
  for (int aligned = (largest + warp - 1) / warp * warp; aligned > 0; aligned -= warp) {
    const int tried = std::min(largest, aligned);
    const size_t shared = shared_of != nullptr ? shared_of(tried) : dynamic_shared;
    int blocks = 0;
    if (CUresult r = max_active_blocks(&blocks, f, tried, shared, flags); r != CUDA_SUCCESS) return r;
    if (blocks * tried > best_threads) {
      best_threads = blocks * tried;
      best_block = tried;
      best_blocks = blocks;
    }
    if (best_threads == threads_per_sm) break;
  }
  *min_grid = best_blocks * sms;
  *block_size = best_block;
  return CUDA_SUCCESS;
}

CUresult available_shared(size_t* bytes, CUfunction f, int num_blocks, int block_size) {
  if (bytes == nullptr || num_blocks <= 0 || block_size <= 0) return CUDA_ERROR_INVALID_VALUE;
  guest::Channel* ch = nullptr;
  FunctionObject* fn = nullptr;
  if (CUresult r = function_here(f, &ch, &fn); r != CUDA_SUCCESS) return r;
  proto::OccupancyAvailableSharedMemReply reply{};
  const guest::CallResult r = guest::call<proto::CallId::OccupancyAvailableSharedMem>(
      *ch, {fn->wire, num_blocks, block_size, 0}, &reply);
  if (r.status != 0) return to_cu_result(r.status);
  *bytes = reply.bytes;
  return CUDA_SUCCESS;
}

// The cluster calculators take a whole launch configuration; of its attributes only the cluster
// dimension changes the answer.
template <proto::CallId Id>
CUresult cluster_occupancy(int* out, CUfunction f, const CUlaunchConfig* config) {
  if (out == nullptr || config == nullptr || (config->numAttrs != 0 && config->attrs == nullptr))
    return CUDA_ERROR_INVALID_VALUE;
  guest::Channel* ch = nullptr;
  FunctionObject* fn = nullptr;
  if (CUresult r = function_here(f, &ch, &fn); r != CUDA_SUCCESS) return r;
  proto::ClusterOccupancyRequest request{};
  request.function = fn->wire;
  request.shared_mem_bytes = config->sharedMemBytes;
  request.grid[0] = config->gridDimX, request.grid[1] = config->gridDimY, request.grid[2] = config->gridDimZ;
  request.block[0] = config->blockDimX, request.block[1] = config->blockDimY, request.block[2] = config->blockDimZ;
  for (unsigned i = 0; i < config->numAttrs; ++i) {
    const CUlaunchAttribute& a = config->attrs[i];
    if (a.id != CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION) continue;
    request.cluster[0] = a.value.clusterDim.x, request.cluster[1] = a.value.clusterDim.y;
    request.cluster[2] = a.value.clusterDim.z;
  }
  proto::OccupancyValueReply reply{};
  const guest::CallResult r = guest::call<Id>(*ch, request, &reply);
  guest::log(guest::LogLevel::Debug, "%.*s %s grid=%ux%ux%u block=%ux%ux%u cluster=%ux%ux%u smem=%u -> status %d value %d",
             static_cast<int>(proto::call_name(Id).size()), proto::call_name(Id).data(), fn->name.c_str(), request.grid[0], request.grid[1], request.grid[2], request.block[0],
             request.block[1], request.block[2], request.cluster[0], request.cluster[1], request.cluster[2],
             request.shared_mem_bytes, r.status, reply.value);
  if (r.status != 0) return to_cu_result(r.status);
  *out = reply.value;
  return CUDA_SUCCESS;
}

}  // namespace

VGPU_DRIVER_API CUresult cuOccupancyAvailableDynamicSMemPerBlock(size_t* bytes, CUfunction f, int num_blocks,
                                                                 int block_size) {
  return guarded([&] { return available_shared(bytes, f, num_blocks, block_size); });
}
VGPU_DRIVER_API CUresult cuOccupancyMaxActiveClusters(int* clusters, CUfunction f, const CUlaunchConfig* config) {
  return guarded([&] { return cluster_occupancy<proto::CallId::OccupancyMaxActiveClusters>(clusters, f, config); });
}
VGPU_DRIVER_API CUresult cuOccupancyMaxPotentialClusterSize(int* size, CUfunction f, const CUlaunchConfig* config) {
  return guarded([&] { return cluster_occupancy<proto::CallId::OccupancyMaxClusterSize>(size, f, config); });
}

VGPU_DRIVER_API CUresult cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(int* blocks, CUfunction f, int block_size,
                                                                              size_t dynamic_shared, unsigned int flags) {
  return guarded([&] { return max_active_blocks(blocks, f, block_size, dynamic_shared, flags); });
}
VGPU_DRIVER_API CUresult cuOccupancyMaxActiveBlocksPerMultiprocessor(int* blocks, CUfunction f, int block_size,
                                                                     size_t dynamic_shared) {
  return guarded([&] { return max_active_blocks(blocks, f, block_size, dynamic_shared, 0); });
}
VGPU_DRIVER_API CUresult cuOccupancyMaxPotentialBlockSizeWithFlags(int* min_grid, int* block_size, CUfunction f,
                                                                   CUoccupancyB2DSize shared_of, size_t dynamic_shared,
                                                                   int limit, unsigned int flags) {
  return guarded([&] { return max_potential_block_size(min_grid, block_size, f, shared_of, dynamic_shared, limit, flags); });
}
VGPU_DRIVER_API CUresult cuOccupancyMaxPotentialBlockSize(int* min_grid, int* block_size, CUfunction f,
                                                          CUoccupancyB2DSize shared_of, size_t dynamic_shared, int limit) {
  return guarded([&] { return max_potential_block_size(min_grid, block_size, f, shared_of, dynamic_shared, limit, 0); });
}

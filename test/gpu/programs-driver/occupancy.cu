// occupancy: function attributes and the occupancy calculators through the driver API.
// Proves cuFuncGetAttribute for every stable attribute of two kernels (max threads from
// __launch_bounds__, static shared/const/local sizes, registers, PTX/binary versions, max dynamic
// shared memory, carveout, cluster attributes); cuOccupancyMaxActiveBlocksPerMultiprocessor and
// ...WithFlags for several block and shared sizes; cuOccupancyMaxPotentialBlockSize with a NULL
// and with a non-NULL block-size-to-shared-memory callback (which must be called on the caller's
// side), and ...WithFlags; cuOccupancyAvailableDynamicSMemPerBlock; cuOccupancyMaxActiveClusters
// for clusters of 2 and 4; cuOccupancyMaxPotentialClusterSize before and after
// NON_PORTABLE_CLUSTER_SIZE_ALLOWED. The same binary on the same GPU gives the same numbers.
// blobs: cubin
#if defined(__CUDACC__)
__constant__ float occ_coeffs[64];

extern "C" __global__ void __launch_bounds__(1024) occ_light(float* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = occ_coeffs[i % 64] * 2.0f;
}

// Static shared memory, a local array indexed dynamically, and dynamic shared memory.
extern "C" __global__ void occ_heavy(float* out, const int* idx, int n) {
  __shared__ float tile[2048];
  extern __shared__ float dyn[];
  float local[32];
  for (int k = 0; k < 32; ++k) local[k] = static_cast<float>(k * threadIdx.x);
  tile[threadIdx.x % 2048] = local[idx[threadIdx.x % 32] & 31];
  dyn[threadIdx.x] = tile[(threadIdx.x * 7) % 2048];
  __syncthreads();
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = dyn[threadIdx.x] + tile[threadIdx.x % 2048];
}
#else
#include "driver_common.h"
#include "drv_blobs.h"

static int g_callback_calls = 0;

// Dynamic shared memory wanted for a block size: 16 bytes per thread.
static size_t CUDA_CB smem_for_block(int block_size) {
  ++g_callback_calls;
  return static_cast<size_t>(block_size) * 16;
}

static void print_attrs(const char* name, CUfunction f) {
  const struct { CUfunction_attribute a; const char* n; } attrs[] = {
      {CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, "max_threads_per_block"},
      {CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, "shared_size_bytes"},
      {CU_FUNC_ATTRIBUTE_CONST_SIZE_BYTES, "const_size_bytes"},
      {CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES, "local_size_bytes"},
      {CU_FUNC_ATTRIBUTE_NUM_REGS, "num_regs"},
      {CU_FUNC_ATTRIBUTE_PTX_VERSION, "ptx_version"},
      {CU_FUNC_ATTRIBUTE_BINARY_VERSION, "binary_version"},
      {CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, "max_dynamic_shared_size_bytes"},
      {CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT, "preferred_carveout"},
      {CU_FUNC_ATTRIBUTE_CLUSTER_SIZE_MUST_BE_SET, "cluster_size_must_be_set"},
      {CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED, "non_portable_cluster_size_allowed"},
  };
  for (const auto& at : attrs) {
    int v = 0;
    CHECK(cuFuncGetAttribute(&v, at.a, f));
    std::printf("%s %s=%d\n", name, at.n, v);
  }
}

static CUlaunchConfig config(unsigned int grid, unsigned int block, unsigned int smem,
                             CUlaunchAttribute* attrs, unsigned int nattrs) {
  CUlaunchConfig c;
  std::memset(&c, 0, sizeof c);
  c.gridDimX = grid, c.gridDimY = 1, c.gridDimZ = 1;
  c.blockDimX = block, c.blockDimY = 1, c.blockDimZ = 1;
  c.sharedMemBytes = smem;
  c.attrs = attrs;
  c.numAttrs = nattrs;
  return c;
}

int main() {
  CUdevice dev;
  init_primary(&dev);
  CUmodule mod;
  CHECK(cuModuleLoadData(&mod, drv_cubin));
  CUfunction light, heavy;
  CHECK(cuModuleGetFunction(&light, mod, "occ_light"));
  CHECK(cuModuleGetFunction(&heavy, mod, "occ_heavy"));
  print_attrs("occ_light", light);
  print_attrs("occ_heavy", heavy);

  for (int block : {32, 128, 256, 1024}) {
    for (size_t smem : {static_cast<size_t>(0), static_cast<size_t>(16384)}) {
      int a = -1, b = -1;
      CHECK(cuOccupancyMaxActiveBlocksPerMultiprocessor(&a, heavy, block, smem));
      CHECK(cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(&b, heavy, block, smem,
                                                                 CU_OCCUPANCY_DISABLE_CACHING_OVERRIDE));
      std::printf("heavy block=%d smem=%zu max_active=%d with_flags=%d\n", block, smem, a, b);
    }
    int a = -1;
    CHECK(cuOccupancyMaxActiveBlocksPerMultiprocessor(&a, light, block, 0));
    std::printf("light block=%d max_active=%d\n", block, a);
  }

  int min_grid = 0, block = 0;
  CHECK(cuOccupancyMaxPotentialBlockSize(&min_grid, &block, light, nullptr, 0, 0));
  std::printf("potential light (no callback): min_grid=%d block=%d\n", min_grid, block);
  CHECK(cuOccupancyMaxPotentialBlockSize(&min_grid, &block, heavy, nullptr, 4096, 512));
  std::printf("potential heavy (4096 B, limit 512): min_grid=%d block=%d\n", min_grid, block);
  CHECK(cuOccupancyMaxPotentialBlockSize(&min_grid, &block, heavy, smem_for_block, 0, 0));
  std::printf("potential heavy (callback): min_grid=%d block=%d callback_called=%d\n", min_grid,
              block, g_callback_calls > 0 ? 1 : 0);
  EXPECT(g_callback_calls > 0);
  CHECK(cuOccupancyMaxPotentialBlockSizeWithFlags(&min_grid, &block, heavy, smem_for_block, 0, 0,
                                                  CU_OCCUPANCY_DISABLE_CACHING_OVERRIDE));
  std::printf("potential heavy (callback, flags): min_grid=%d block=%d\n", min_grid, block);

  for (int nb : {1, 2, 4}) {
    size_t avail = 0;
    CHECK(cuOccupancyAvailableDynamicSMemPerBlock(&avail, heavy, nb, 256));
    std::printf("heavy available dynamic smem, %d blocks of 256: %zu\n", nb, avail);
  }

  for (unsigned int cl : {2u, 4u}) {
    CUlaunchAttribute at[1];
    std::memset(at, 0, sizeof at);
    at[0].id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
    at[0].value.clusterDim.x = cl, at[0].value.clusterDim.y = 1, at[0].value.clusterDim.z = 1;
    CUlaunchConfig c = config(64, 256, 0, at, 1);
    int clusters = -1;
    CHECK(cuOccupancyMaxActiveClusters(&clusters, light, &c));
    std::printf("light max active clusters of %u: %d\n", cl, clusters);
  }
  CUlaunchConfig c = config(64, 128, 0, nullptr, 0);
  int cluster_size = -1;
  CHECK(cuOccupancyMaxPotentialClusterSize(&cluster_size, light, &c));
  std::printf("light max potential cluster size: %d\n", cluster_size);
  CHECK(cuFuncSetAttribute(light, CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED, 1));
  CHECK(cuOccupancyMaxPotentialClusterSize(&cluster_size, light, &c));
  std::printf("light max potential cluster size (non-portable allowed): %d\n", cluster_size);

  CHECK(cuModuleUnload(mod));
  CHECK(cuDevicePrimaryCtxRelease(dev));
  std::printf("occupancy PASS\n");
  return 0;
}
#endif

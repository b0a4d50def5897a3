// fake-cuda (test double, never ships): self-check of memcpy nodes added by hand
// (cuGraphAddMemcpyNode): host memory kept by address, so each launch reads and writes what the
// host buffers hold then; 2D and 3D copies with pitches and offsets, compared byte by byte with
// a model of cuMemcpy3D; the refusals. See selftest.cpp.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "fake_module.h"
#include "selftest.h"

namespace vgpu::fake::selftest {
namespace {

using Bytes = std::vector<unsigned char>;

constexpr int kN = 64;
constexpr size_t kBytes = kN * sizeof(float);

// A copy of `width` bytes between two device addresses; each check changes what it tests.
CUDA_MEMCPY3D device_copy(CUdeviceptr dst, CUdeviceptr src, size_t width) {
  CUDA_MEMCPY3D p{};
  p.srcMemoryType = CU_MEMORYTYPE_DEVICE;
  p.srcDevice = src;
  p.dstMemoryType = CU_MEMORYTYPE_DEVICE;
  p.dstDevice = dst;
  p.WidthInBytes = width;
  p.Height = 1;
  p.Depth = 1;
  return p;
}

// Bytes that differ from their neighbours and from the row above (a pitch is never 251).
Bytes pattern(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<unsigned char>(i % 251 + 1);
  return b;
}

// What cuMemcpy3D does to `dst` given `src`, the buffers standing for each side from its base
// (srcHost / srcDevice, dstHost / dstDevice): the model the fake's nodes are compared with.
void model_copy(const CUDA_MEMCPY3D& p, const Bytes& src, Bytes& dst) {
  for (size_t z = 0; z < p.Depth; ++z) {
    for (size_t y = 0; y < p.Height; ++y) {
      const size_t from = ((p.srcZ + z) * p.srcHeight + p.srcY + y) * p.srcPitch + p.srcXInBytes;
      const size_t to = ((p.dstZ + z) * p.dstHeight + p.dstY + y) * p.dstPitch + p.dstXInBytes;
      for (size_t x = 0; x < p.WidthInBytes; ++x) dst.at(to + x) = src.at(from + x);
    }
  }
}

// Builds a graph of the one node, runs it once in the current context, and destroys both.
void run_alone(const CUDA_MEMCPY3D& p) {
  CUgraph g = nullptr;
  CUgraphNode node = nullptr;
  CUgraphExec exec = nullptr;
  OK(api.cuGraphCreate(&g, 0));
  OK(api.cuGraphAddMemcpyNode(&node, g, nullptr, 0, &p, nullptr));
  OK(api.cuGraphInstantiateWithFlags(&exec, g, 0));
  OK(api.cuGraphLaunch(exec, nullptr));
  OK(api.cuGraphExecDestroy(exec));
  OK(api.cuGraphDestroy(g));
}

Bytes read_bytes(CUdeviceptr p, size_t n) {
  Bytes b(n);
  OK(api.cuMemcpyDtoHAsync_v2(b.data(), p, n, nullptr));
  return b;
}

}  // namespace

void graph_memcpy_checks() {
  CUcontext before = nullptr, ctx = nullptr;
  OK(api.cuCtxGetCurrent(&before));
  OK(api.cuCtxCreate_v2(&ctx, 0, 0));
  CUmodule mod = nullptr;
  const std::string image = module_image({"kernel fake_vector_add 8,8,8,4"});
  OK(api.cuModuleLoadData(&mod, image.c_str()));
  CUfunction vadd = nullptr;
  OK(api.cuModuleGetFunction(&vadd, mod, "fake_vector_add"));
  CUstream s = nullptr;
  OK(api.cuStreamCreateWithPriority(&s, CU_STREAM_NON_BLOCKING, 0));

  // ---- host in -> up -> K (out = in + in) -> down -> host out; the host buffers change between
  // launches, and each launch copies what they hold then ----
  CUdeviceptr in = 0, out = 0;
  OK(api.cuMemAlloc_v2(&in, kBytes));
  OK(api.cuMemAlloc_v2(&out, kBytes));
  std::vector<float> host_in(kN), host_out(kN);
  CUDA_MEMCPY3D up = device_copy(in, 0, kBytes);
  up.srcMemoryType = CU_MEMORYTYPE_HOST;
  up.srcHost = host_in.data();
  CUDA_MEMCPY3D down = device_copy(0, out, kBytes);
  down.dstMemoryType = CU_MEMORYTYPE_HOST;
  down.dstHost = host_out.data();
  CUgraph graph = nullptr;
  OK(api.cuGraphCreate(&graph, 0));
  CUgraphNode up_node = nullptr, k = nullptr, down_node = nullptr;
  OK(api.cuGraphAddMemcpyNode(&up_node, graph, nullptr, 0, &up, ctx));
  CUdeviceptr pa = in, pb = in, pc = out;
  int n = kN;
  void* params[] = {&pa, &pb, &pc, &n};
  CUDA_KERNEL_NODE_PARAMS kp{};
  kp.func = vadd;
  kp.gridDimX = 2;
  kp.gridDimY = kp.gridDimZ = 1;
  kp.blockDimX = 32;
  kp.blockDimY = kp.blockDimZ = 1;
  kp.kernelParams = params;
  OK(api.cuGraphAddKernelNode_v2(&k, graph, &up_node, 1, &kp));
  OK(api.cuGraphAddMemcpyNode(&down_node, graph, &k, 1, &down, nullptr));  // null: the current context
  CUgraphNodeType t = CU_GRAPH_NODE_TYPE_HOST;
  OK(api.cuGraphNodeGetType(up_node, &t));
  CHECK(t == CU_GRAPH_NODE_TYPE_MEMCPY);
  OK(api.cuGraphNodeGetType(down_node, &t));
  CHECK(t == CU_GRAPH_NODE_TYPE_MEMCPY);
  CUgraphExec exec = nullptr;
  OK(api.cuGraphInstantiateWithFlags(&exec, graph, 0));
  for (int round = 0; round < 2; ++round) {
    const float base = round == 0 ? 0.0f : 100.0f;
    for (int i = 0; i < kN; ++i) host_in[i] = base + static_cast<float>(i);
    std::fill(host_out.begin(), host_out.end(), -1.0f);
    OK(api.cuGraphLaunch(exec, s));
    bool doubled = true;
    for (int i = 0; i < kN; ++i) doubled = doubled && host_out[i] == 2.0f * (base + static_cast<float>(i));
    CHECK(doubled);
  }
  OK(api.cuGraphExecDestroy(exec));

  // ---- a 2D copy between device buffers, with pitches and offsets, byte by byte ----
  constexpr size_t kSrcPitch = 32, kSrcRows = 6, kDstPitch = 24, kDstRows = 7;
  CUdeviceptr src2d = 0, dst2d = 0;
  OK(api.cuMemAlloc_v2(&src2d, kSrcPitch * kSrcRows));
  OK(api.cuMemAlloc_v2(&dst2d, kDstPitch * kDstRows));
  const Bytes src_bytes = pattern(kSrcPitch * kSrcRows);
  OK(api.cuMemcpyHtoDAsync_v2(src2d, src_bytes.data(), src_bytes.size(), nullptr));
  OK(api.cuMemsetD8Async(dst2d, 0xEE, kDstPitch * kDstRows, nullptr));
  CUDA_MEMCPY3D p2 = device_copy(dst2d, src2d, 10);
  p2.Height = 4;
  p2.srcXInBytes = 3;
  p2.srcY = 1;
  p2.srcPitch = kSrcPitch;
  p2.dstXInBytes = 5;
  p2.dstY = 2;
  p2.dstPitch = kDstPitch;
  run_alone(p2);
  Bytes want(kDstPitch * kDstRows, 0xEE);
  model_copy(p2, src_bytes, want);
  CHECK(read_bytes(dst2d, want.size()) == want);
  // The last byte of the allocation is the last byte copied: accepted (rows 2..5, x 22..31).
  CUDA_MEMCPY3D edge = p2;
  edge.srcY = 2;
  edge.srcXInBytes = kSrcPitch - edge.WidthInBytes;
  run_alone(edge);
  model_copy(edge, src_bytes, want);
  CHECK(read_bytes(dst2d, want.size()) == want);

  // ---- a 3D copy from device slices to host slices, offsets on both sides ----
  constexpr size_t kSrcSliceRows = 5, kSlices = 3, kHostPitch = 20, kHostRows = 6;
  CUdeviceptr src3d = 0;
  OK(api.cuMemAlloc_v2(&src3d, 16 * kSrcSliceRows * kSlices));
  const Bytes src3d_bytes = pattern(16 * kSrcSliceRows * kSlices);
  OK(api.cuMemcpyHtoDAsync_v2(src3d, src3d_bytes.data(), src3d_bytes.size(), nullptr));
  Bytes host3d(kHostPitch * kHostRows * kSlices, 0xEE);
  CUDA_MEMCPY3D p3 = device_copy(0, src3d, 9);
  p3.Height = 3;
  p3.Depth = 2;
  p3.srcXInBytes = 2;
  p3.srcY = 1;
  p3.srcZ = 1;
  p3.srcPitch = 16;
  p3.srcHeight = kSrcSliceRows;
  p3.dstMemoryType = CU_MEMORYTYPE_HOST;
  p3.dstHost = host3d.data();
  p3.dstXInBytes = 4;
  p3.dstY = 2;
  p3.dstZ = 1;
  p3.dstPitch = kHostPitch;
  p3.dstHeight = kHostRows;
  run_alone(p3);
  Bytes want3d(host3d.size(), 0xEE);
  model_copy(p3, src3d_bytes, want3d);
  CHECK(host3d == want3d);
  // UNIFIED names device memory, as the fake's other copies do.
  CUDA_MEMCPY3D unified = device_copy(dst2d, src2d, 16);
  unified.srcMemoryType = CU_MEMORYTYPE_UNIFIED;
  run_alone(unified);
  CHECK(read_bytes(dst2d, 16) == Bytes(src_bytes.begin(), src_bytes.begin() + 16));

  // ---- refusals, none of which adds a node ----
  CUdeviceptr freed = 0;
  OK(api.cuMemAlloc_v2(&freed, 64));
  OK(api.cuMemFree_v2(freed));
  Bytes host(kBytes);
  std::vector<CUDA_MEMCPY3D> invalid;
  auto bad = [&](CUDA_MEMCPY3D p) { invalid.push_back(p); };
  bad(device_copy(out, in, kBytes + 1));                 // source past its allocation
  bad(device_copy(out + 1, in, kBytes));                 // destination past its allocation
  bad(device_copy(out, freed, 16));                      // no longer device memory
  CUDA_MEMCPY3D p = p2;
  p.srcY = 3;  // rows 3..6 of a 6-row source
  bad(p);
  p = p2;
  p.dstY = 4;  // rows 4..7 of a 7-row destination
  bad(p);
  for (size_t CUDA_MEMCPY3D::*dim : {&CUDA_MEMCPY3D::WidthInBytes, &CUDA_MEMCPY3D::Height, &CUDA_MEMCPY3D::Depth}) {
    p = p2;
    p.*dim = 0;  // a copy of nothing
    bad(p);
  }
  p = p2;
  p.srcPitch = p.WidthInBytes - 1;  // rows that overlap
  bad(p);
  p = p2;
  p.srcPitch = p.WidthInBytes;  // holds the width but not the offset (3 + 10 > 10)
  bad(p);
  p = p2;
  p.dstPitch = 8;
  bad(p);
  p = p3;
  p.srcHeight = p.Height;  // slices of 3 rows from row 1
  bad(p);
  p = device_copy(out, 0, 16);
  p.srcMemoryType = CU_MEMORYTYPE_HOST;  // and srcHost null
  bad(p);
  bad(device_copy(out, reinterpret_cast<CUdeviceptr>(host.data()), 16));  // host memory named as device
  p = unified;
  p.srcDevice = reinterpret_cast<CUdeviceptr>(host.data());  // ... or as unified
  bad(p);
  p = device_copy(out, in, 16);
  p.srcMemoryType = static_cast<CUmemorytype>(0);  // no memory type
  bad(p);
  p = device_copy(out, in, 16);
  p.reserved0 = &host;
  bad(p);
  const size_t nodes_before = 3;
  CUgraphNode z = nullptr;
  for (const CUDA_MEMCPY3D& q : invalid) {
    EXPECT_RC(api.cuGraphAddMemcpyNode(&z, graph, nullptr, 0, &q, ctx), CUDA_ERROR_INVALID_VALUE);
  }
  for (CUmemorytype CUDA_MEMCPY3D::*type : {&CUDA_MEMCPY3D::srcMemoryType, &CUDA_MEMCPY3D::dstMemoryType}) {
    p = device_copy(out, in, 16);
    p.*type = CU_MEMORYTYPE_ARRAY;  // the fake has no arrays
    EXPECT_RC(api.cuGraphAddMemcpyNode(&z, graph, nullptr, 0, &p, ctx), CUDA_ERROR_NOT_SUPPORTED);
  }
  p = device_copy(out, in, 16);
  EXPECT_RC(api.cuGraphAddMemcpyNode(&z, graph, nullptr, 0, nullptr, ctx), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddMemcpyNode(nullptr, graph, nullptr, 0, &p, ctx), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddMemcpyNode(&z, graph, nullptr, 1, &p, ctx), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddMemcpyNode(&z, graph, nullptr, 0, &p, reinterpret_cast<CUcontext>(0x5678)),
            CUDA_ERROR_INVALID_CONTEXT);
  CUcontext ctx2 = nullptr;
  OK(api.cuCtxCreate_v2(&ctx2, 0, 0));  // now current; the graph is ctx's
  EXPECT_RC(api.cuGraphAddMemcpyNode(&z, graph, nullptr, 0, &p, nullptr), CUDA_ERROR_INVALID_CONTEXT);
  OK(api.cuCtxSetCurrent(ctx));
  OK(api.cuCtxDestroy_v2(ctx2));
  size_t count = 0;
  OK(api.cuGraphGetNodes(graph, nullptr, &count));
  CHECK(count == nodes_before);

  OK(api.cuGraphDestroy(graph));
  OK(api.cuStreamDestroy_v2(s));
  OK(api.cuModuleUnload(mod));
  for (CUdeviceptr q : {in, out, src2d, dst2d, src3d}) OK(api.cuMemFree_v2(q));
  OK(api.cuCtxDestroy_v2(ctx));
  OK(api.cuCtxSetCurrent(before));
}

}  // namespace vgpu::fake::selftest

// The runtime shim's graph structure, capture graph, graph memory, conditional node and user
// object calls (guest/cudart/graph_queries.cpp, graph_objects.cpp) against a real vgpud and the
// fake driver's built-in kernels. Each is the driver shim's call (graph_structure and
// graph_objects test those through and through); this checks the runtime's side: its types,
// kernels named by their host stubs, and error codes. Prints "graph_runtime ok".
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "test/integration/guest_programs/fake_module.h"
#include "test/integration/guest_programs/guest_check.h"

namespace {

void fill_stub() {}
void set_stub() {}
void countdown_stub() {}

cudaGraphNode_t fill(cudaGraph_t g, unsigned* p, unsigned v, const cudaGraphNode_t* deps, size_t n) {
  static unsigned long long one = 1;
  unsigned value = v;
  void* args[] = {&p, &value, &one};
  cudaKernelNodeParams k{};
  k.func = reinterpret_cast<void*>(&fill_stub);
  k.gridDim = dim3(1);
  k.blockDim = dim3(1);
  k.kernelParams = args;
  cudaGraphNode_t node;
  CHECK(cudaGraphAddKernelNode(&node, g, deps, n, &k));
  return node;
}

unsigned word(const unsigned* p) {
  unsigned w = 0;
  CHECK(cudaMemcpy(&w, p, sizeof w, cudaMemcpyDeviceToHost));
  return w;
}

void run(cudaGraph_t g, cudaStream_t s) {
  cudaGraphExec_t exec;
  CHECK(cudaGraphInstantiate(&exec, g, 0));
  CHECK(cudaGraphLaunch(exec, s));
  CHECK(cudaStreamSynchronize(s));
  CHECK(cudaGraphExecDestroy(exec));
}

std::atomic<int> g_destroyed{0};
void CUDART_CB destroyed(void*) { ++g_destroyed; }

}  // namespace

int main() {
  void** handle = guest_test::register_image(
      "FAKECUBIN 1\n"
      "kernel fake_fill_u32 8,4,8\n"
      "kernel fake_set_conditional 8,4\n"
      "kernel fake_countdown 8,8\n");
  guest_test::register_kernel(handle, reinterpret_cast<const void*>(&fill_stub), "fake_fill_u32");
  guest_test::register_kernel(handle, reinterpret_cast<const void*>(&set_stub), "fake_set_conditional");
  guest_test::register_kernel(handle, reinterpret_cast<const void*>(&countdown_stub), "fake_countdown");
  __cudaRegisterFatBinaryEnd(handle);
  unsigned* buf = nullptr;
  CHECK(cudaMalloc(reinterpret_cast<void**>(&buf), 64));
  cudaStream_t s;
  CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));

  // ---- structure
  cudaGraph_t g;
  CHECK(cudaGraphCreate(&g, 0));
  const cudaGraphNode_t a = fill(g, buf, 1, nullptr, 0);
  const cudaGraphNode_t b = fill(g, buf + 1, 2, &a, 1);
  size_t n = 0;
  CHECK(cudaGraphGetEdges(g, nullptr, nullptr, nullptr, &n));
  EXPECT(n == 1);
  cudaGraphNode_t root = nullptr, dep = nullptr, dependent = nullptr;
  n = 1;
  CHECK(cudaGraphGetRootNodes(g, &root, &n));
  EXPECT(n == 1 && root == a);
  n = 1;
  CHECK(cudaGraphNodeGetDependencies(b, &dep, nullptr, &n));
  EXPECT(n == 1 && dep == a);
  n = 1;
  CHECK(cudaGraphNodeGetDependentNodes(a, &dependent, nullptr, &n));
  EXPECT(n == 1 && dependent == b);
  cudaGraph_t clone;
  CHECK(cudaGraphClone(&clone, g));
  cudaGraphNode_t b2 = nullptr;
  CHECK(cudaGraphNodeFindInClone(&b2, b, clone));
  EXPECT(b2 != nullptr && b2 != b);
  CHECK(cudaGraphDestroy(clone));
  CHECK(cudaGraphRemoveDependencies(g, &a, &b, nullptr, 1));
  EXPECT(cudaGraphRemoveDependencies(g, &a, &b, nullptr, 1) == cudaErrorInvalidValue);
  CHECK(cudaGraphDestroyNode(a));
  cudaGraph_t parent;
  CHECK(cudaGraphCreate(&parent, 0));
  cudaGraphNode_t child_node;
  CHECK(cudaGraphAddChildGraphNode(&child_node, parent, nullptr, 0, g));
  CHECK(cudaGraphDestroy(g));
  cudaGraph_t child;
  CHECK(cudaGraphChildGraphNodeGetGraph(child_node, &child));
  fill(child, buf + 2, 3, nullptr, 0);
  CHECK(cudaMemset(buf, 0, 64));
  run(parent, s);
  EXPECT(word(buf) == 0 && word(buf + 1) == 2 && word(buf + 2) == 3);
  CHECK(cudaGraphDebugDotPrint(parent, "/dev/null", 0));
  CHECK(cudaGraphDestroy(parent));

  // ---- cudaGraphAddNode given edge data: a programmatic edge, listed with its data
  {
    cudaGraph_t pg;
    CHECK(cudaGraphCreate(&pg, 0));
    const cudaGraphNode_t producer = fill(pg, buf, 4, nullptr, 0);
    unsigned* second = buf + 1;
    unsigned five = 5;
    uint64_t one = 1;
    void* args[] = {&second, &five, &one};
    cudaGraphNodeParams kp{};
    kp.type = cudaGraphNodeTypeKernel;
    kp.kernel.func = reinterpret_cast<void*>(&fill_stub);
    kp.kernel.gridDim = dim3(1);
    kp.kernel.blockDim = dim3(1);
    kp.kernel.kernelParams = args;
    cudaGraphEdgeData pdl{};
    pdl.type = cudaGraphDependencyTypeProgrammatic;
    pdl.from_port = cudaGraphKernelNodePortProgrammatic;
    cudaGraphNode_t consumer = nullptr;
    CHECK(cudaGraphAddNode(&consumer, pg, &producer, &pdl, 1, &kp));
    cudaGraphEdgeData listed{};
    n = 1;
    CHECK(cudaGraphNodeGetDependencies(consumer, &dep, &listed, &n));
    EXPECT(n == 1 && dep == producer && listed.type == cudaGraphDependencyTypeProgrammatic &&
           listed.from_port == cudaGraphKernelNodePortProgrammatic);
    n = 1;
    EXPECT(cudaGraphNodeGetDependencies(consumer, &dep, nullptr, &n) == cudaErrorLossyQuery);
    CHECK(cudaMemset(buf, 0, 64));
    run(pg, s);
    EXPECT(word(buf) == 4 && word(buf + 1) == 5);
    CHECK(cudaGraphDestroy(pg));
  }

  // ---- a capture's graph and dependencies
  CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  CHECK(cudaMemsetAsync(buf, 0, 16, s));
  cudaStreamCaptureStatus status;
  cudaGraph_t capturing = nullptr;
  const cudaGraphNode_t* deps = nullptr;
  size_t count = 0;
  CHECK(cudaStreamGetCaptureInfo(s, &status, nullptr, &capturing, &deps, nullptr, &count));
  EXPECT(status == cudaStreamCaptureStatusActive && capturing != nullptr && count == 1);
  cudaGraphNode_t added = fill(capturing, buf, 4, deps, count);
  CHECK(cudaStreamUpdateCaptureDependencies(s, &added, nullptr, 1, cudaStreamSetCaptureDependencies));
  cudaGraph_t captured;
  CHECK(cudaStreamEndCapture(s, &captured));
  EXPECT(captured == capturing);
  run(captured, s);
  EXPECT(word(buf) == 4);
  CHECK(cudaGraphDestroy(captured));
  CHECK(cudaGraphCreate(&g, 0));
  const cudaGraphNode_t head = fill(g, buf, 5, nullptr, 0);
  CHECK(cudaStreamBeginCaptureToGraph(s, g, &head, nullptr, 1, cudaStreamCaptureModeGlobal));
  CHECK(cudaMemcpyAsync(buf + 1, buf, 4, cudaMemcpyDeviceToDevice, s));
  CHECK(cudaStreamEndCapture(s, &captured));
  EXPECT(captured == g);
  run(g, s);
  EXPECT(word(buf + 1) == 5);
  CHECK(cudaGraphDestroy(g));

  // ---- graph memory, cudaGraphAddNode, a conditional node
  CHECK(cudaGraphCreate(&g, 0));
  cudaGraphNodeParams p{};
  p.type = cudaGraphNodeTypeMemAlloc;
  p.alloc.poolProps.allocType = cudaMemAllocationTypePinned;
  p.alloc.poolProps.location = {cudaMemLocationTypeDevice, 0};
  p.alloc.bytesize = 256;
  cudaGraphNode_t alloc;
  CHECK(cudaGraphAddNode(&alloc, g, nullptr, nullptr, 0, &p));
  unsigned* scratch = static_cast<unsigned*>(p.alloc.dptr);
  EXPECT(scratch != nullptr);
  cudaMemAllocNodeParams back{};
  CHECK(cudaGraphMemAllocNodeGetParams(alloc, &back));
  EXPECT(back.dptr == scratch && back.bytesize == 256);
  cudaGraphConditionalHandle cond;
  CHECK(cudaGraphConditionalHandleCreate(&cond, g, 1, cudaGraphCondAssignDefault));
  cudaGraphNodeParams c{};
  c.type = cudaGraphNodeTypeConditional;
  c.conditional.handle = cond;
  c.conditional.type = cudaGraphCondTypeWhile;
  c.conditional.size = 1;
  cudaGraphNode_t loop;
  CHECK(cudaGraphAddNode(&loop, g, &alloc, nullptr, 1, &c));
  unsigned long long h = cond;
  void* count_args[] = {&scratch, &h};
  cudaKernelNodeParams k{};
  k.func = reinterpret_cast<void*>(&countdown_stub);
  k.gridDim = k.blockDim = dim3(1);
  k.kernelParams = count_args;
  cudaGraphNode_t body_kernel;
  CHECK(cudaGraphAddKernelNode(&body_kernel, c.conditional.phGraph_out[0], nullptr, 0, &k));
  cudaGraphNodeParams copy{};
  copy.type = cudaGraphNodeTypeMemcpy;
  copy.memcpy.copyParams.srcPtr = cudaPitchedPtr{scratch, 4, 4, 1};
  copy.memcpy.copyParams.dstPtr = cudaPitchedPtr{buf + 3, 4, 4, 1};
  copy.memcpy.copyParams.extent = cudaExtent{4, 1, 1};
  copy.memcpy.copyParams.kind = cudaMemcpyDeviceToDevice;
  cudaGraphNode_t copied, freed;
  CHECK(cudaGraphAddNode(&copied, g, &loop, nullptr, 1, &copy));
  CHECK(cudaGraphAddMemFreeNode(&freed, g, &copied, 1, scratch));
  void* dptr = nullptr;
  CHECK(cudaGraphMemFreeNodeGetParams(freed, &dptr));
  EXPECT(dptr == scratch);
  // The counter starts at 3 each launch: a memset node before the loop.
  cudaMemsetParams m{};
  m.dst = scratch;
  m.value = 3;
  m.elementSize = 4;
  m.width = 1;
  m.height = 1;
  cudaGraphNode_t start;
  CHECK(cudaGraphAddMemsetNode(&start, g, &alloc, 1, &m));
  CHECK(cudaGraphAddDependencies(g, &start, &loop, nullptr, 1));
  CHECK(cudaMemset(buf, 0xff, 64));
  run(g, s);
  EXPECT(word(buf + 3) == 0);  // the loop counted down to 0
  size_t used = 0;
  CHECK(cudaDeviceGetGraphMemAttribute(0, cudaGraphMemAttrUsedMemCurrent, &used));
  EXPECT(used >= 256);
  size_t zero = 0;
  CHECK(cudaDeviceSetGraphMemAttribute(0, cudaGraphMemAttrUsedMemHigh, &zero));
  CHECK(cudaDeviceGraphMemTrim(0));
  CHECK(cudaGraphDestroy(g));

  // ---- user objects
  cudaUserObject_t obj;
  CHECK(cudaUserObjectCreate(&obj, nullptr, destroyed, 1, cudaUserObjectNoDestructorSync));
  CHECK(cudaGraphCreate(&g, 0));
  CHECK(cudaGraphRetainUserObject(g, obj, 2, 0));
  CHECK(cudaUserObjectRetain(obj, 1));
  CHECK(cudaUserObjectRelease(obj, 2));
  CHECK(cudaGraphReleaseUserObject(g, obj, 1));
  EXPECT(cudaGraphReleaseUserObject(g, obj, 5) == cudaErrorInvalidValue);
  EXPECT(g_destroyed.load() == 0);
  CHECK(cudaGraphDestroy(g));
  for (int i = 0; i < 400 && g_destroyed.load() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT(g_destroyed.load() == 1);

  CHECK(cudaStreamDestroy(s));
  CHECK(cudaFree(buf));
  std::printf("graph_runtime ok\n");
  return 0;
}

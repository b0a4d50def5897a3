// fake-cuda (test double, never ships): self-check of a graph's structure changed and read
// (cuGraphRemoveDependencies_v2, cuGraphDestroyNode, cuGraphNodeFindInClone,
// cuGraphChildGraphNodeGetGraph), captures that name their graph (cuStreamGetCaptureInfo's
// dependencies, cuStreamUpdateCaptureDependencies_v2, cuStreamBeginCaptureToGraph), graph memory
// (allocation and free nodes, cuMemAllocAsync and cuMemFreeAsync captured, the attributes),
// conditional nodes (cuGraphConditionalHandleCreate, cuGraphAddNode_v2, IF and WHILE replayed)
// and user objects. See selftest.cpp.
#include <dlfcn.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "fake_module.h"
#include "selftest.h"

namespace vgpu::fake::selftest {
namespace {

// The calls of this check, resolved from the library the self-check loaded.
struct StructureApi {
  CUresult (*cuGraphRemoveDependencies_v2)(CUgraph, const CUgraphNode*, const CUgraphNode*, const CUgraphEdgeData*,
                                           size_t);
  CUresult (*cuGraphDestroyNode)(CUgraphNode);
  CUresult (*cuGraphNodeFindInClone)(CUgraphNode*, CUgraphNode, CUgraph);
  CUresult (*cuGraphChildGraphNodeGetGraph)(CUgraphNode, CUgraph*);
  CUresult (*cuGraphAddChildGraphNode)(CUgraphNode*, CUgraph, const CUgraphNode*, size_t, CUgraph);
  CUresult (*cuStreamUpdateCaptureDependencies_v2)(CUstream, CUgraphNode*, const CUgraphEdgeData*, size_t, unsigned);
  CUresult (*cuStreamBeginCaptureToGraph)(CUstream, CUgraph, const CUgraphNode*, const CUgraphEdgeData*, size_t,
                                          CUstreamCaptureMode);
  CUresult (*cuGraphAddMemAllocNode)(CUgraphNode*, CUgraph, const CUgraphNode*, size_t, CUDA_MEM_ALLOC_NODE_PARAMS*);
  CUresult (*cuGraphAddMemFreeNode)(CUgraphNode*, CUgraph, const CUgraphNode*, size_t, CUdeviceptr);
  CUresult (*cuGraphMemAllocNodeGetParams)(CUgraphNode, CUDA_MEM_ALLOC_NODE_PARAMS*);
  CUresult (*cuGraphMemFreeNodeGetParams)(CUgraphNode, CUdeviceptr*);
  CUresult (*cuMemAllocAsync)(CUdeviceptr*, size_t, CUstream);
  CUresult (*cuMemFreeAsync)(CUdeviceptr, CUstream);
  CUresult (*cuDeviceGetGraphMemAttribute)(CUdevice, CUgraphMem_attribute, void*);
  CUresult (*cuDeviceSetGraphMemAttribute)(CUdevice, CUgraphMem_attribute, void*);
  CUresult (*cuDeviceGraphMemTrim)(CUdevice);
  CUresult (*cuGraphConditionalHandleCreate)(CUgraphConditionalHandle*, CUgraph, CUcontext, unsigned, unsigned);
  CUresult (*cuGraphAddNode_v2)(CUgraphNode*, CUgraph, const CUgraphNode*, const CUgraphEdgeData*, size_t,
                                CUgraphNodeParams*);
  CUresult (*cuUserObjectCreate)(CUuserObject*, void*, CUhostFn, unsigned, unsigned);
  CUresult (*cuUserObjectRetain)(CUuserObject, unsigned);
  CUresult (*cuUserObjectRelease)(CUuserObject, unsigned);
  CUresult (*cuGraphRetainUserObject)(CUgraph, CUuserObject, unsigned, unsigned);
  CUresult (*cuGraphReleaseUserObject)(CUgraph, CUuserObject, unsigned);
};

bool resolve(const char* lib_path, StructureApi& a) {
  void* lib = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) return false;
  bool ok = true;
#define VGPU_API(name) ok = (*reinterpret_cast<void**>(&a.name) = dlsym(lib, #name)) != nullptr && ok;
  VGPU_API(cuGraphRemoveDependencies_v2)
  VGPU_API(cuGraphDestroyNode)
  VGPU_API(cuGraphNodeFindInClone)
  VGPU_API(cuGraphChildGraphNodeGetGraph)
  VGPU_API(cuGraphAddChildGraphNode)
  VGPU_API(cuStreamUpdateCaptureDependencies_v2)
  VGPU_API(cuStreamBeginCaptureToGraph)
  VGPU_API(cuGraphAddMemAllocNode)
  VGPU_API(cuGraphAddMemFreeNode)
  VGPU_API(cuGraphMemAllocNodeGetParams)
  VGPU_API(cuGraphMemFreeNodeGetParams)
  VGPU_API(cuMemAllocAsync)
  VGPU_API(cuMemFreeAsync)
  VGPU_API(cuDeviceGetGraphMemAttribute)
  VGPU_API(cuDeviceSetGraphMemAttribute)
  VGPU_API(cuDeviceGraphMemTrim)
  VGPU_API(cuGraphConditionalHandleCreate)
  VGPU_API(cuGraphAddNode_v2)
  VGPU_API(cuUserObjectCreate)
  VGPU_API(cuUserObjectRetain)
  VGPU_API(cuUserObjectRelease)
  VGPU_API(cuGraphRetainUserObject)
  VGPU_API(cuGraphReleaseUserObject)
#undef VGPU_API
  return ok;  // the handle stays open: the self-check loaded the library already
}

StructureApi s;

size_t edge_count(CUgraph g) {
  size_t n = 12345;
  OK(api.cuGraphGetEdges_v2(g, nullptr, nullptr, nullptr, &n));
  return n;
}

size_t node_count(CUgraph g) {
  size_t n = 12345;
  OK(api.cuGraphGetNodes(g, nullptr, &n));
  return n;
}

bool has_edge(CUgraph g, CUgraphNode a, CUgraphNode b) {
  size_t n = edge_count(g);
  std::vector<CUgraphNode> from(n), to(n);
  OK(api.cuGraphGetEdges_v2(g, from.data(), to.data(), nullptr, &n));
  for (size_t i = 0; i < n; ++i)
    if (from[i] == a && to[i] == b) return true;
  return false;
}

uint32_t read_word(CUdeviceptr p) {
  uint32_t w = 0;
  OK(api.cuMemcpyDtoHAsync_v2(&w, p, sizeof w, nullptr));
  return w;
}

CUgraphNode empty(CUgraph g, const CUgraphNode* deps = nullptr, size_t n = 0) {
  CUgraphNode node = nullptr;
  OK(api.cuGraphAddEmptyNode(&node, g, deps, n));
  return node;
}

void launch_once(CUgraph g) {
  CUgraphExec exec = nullptr;
  OK(api.cuGraphInstantiateWithFlags(&exec, g, 0));
  OK(api.cuGraphLaunch(exec, nullptr));
  OK(api.cuGraphExecDestroy(exec));
}

int g_destroyed = 0;
void CUDA_CB count_destroyed(void* p) { g_destroyed += *static_cast<int*>(p); }

void structure(CUcontext) {
  CUgraph g = nullptr;
  OK(api.cuGraphCreate(&g, 0));
  const CUgraphNode a = empty(g), b = empty(g, &a, 1), c = empty(g, &a, 1);
  CHECK(edge_count(g) == 2);
  OK(s.cuGraphRemoveDependencies_v2(g, &a, &c, nullptr, 1));
  CHECK(edge_count(g) == 1 && has_edge(g, a, b) && !has_edge(g, a, c));
  EXPECT_RC(s.cuGraphRemoveDependencies_v2(g, &a, &c, nullptr, 1), CUDA_ERROR_INVALID_VALUE);  // gone already
  OK(s.cuGraphDestroyNode(b));
  CHECK(node_count(g) == 2 && edge_count(g) == 0);
  EXPECT_RC(s.cuGraphDestroyNode(b), CUDA_ERROR_INVALID_VALUE);
  // A clone's node, found from the original's.
  OK(api.cuGraphAddDependencies(g, &a, &c, 1));
  CUgraph clone = nullptr;
  OK(api.cuGraphClone(&clone, g));
  CUgraphNode a2 = nullptr, c2 = nullptr;
  OK(s.cuGraphNodeFindInClone(&a2, a, clone));
  OK(s.cuGraphNodeFindInClone(&c2, c, clone));
  CHECK(a2 != nullptr && a2 != a && has_edge(clone, a2, c2));
  EXPECT_RC(s.cuGraphNodeFindInClone(&a2, a, g), CUDA_ERROR_INVALID_VALUE);  // not a clone of it
  OK(api.cuGraphDestroy(clone));
  OK(api.cuGraphDestroy(g));
}

void child_graph(CUfunction fill, CUdeviceptr buf) {
  CUgraph child = nullptr, parent = nullptr;
  OK(api.cuGraphCreate(&child, 0));
  OK(api.cuGraphCreate(&parent, 0));
  uint32_t one = 1, two = 2;
  uint64_t n = 1;
  CUdeviceptr second = buf + 4;
  void* first_args[] = {&buf, &one, &n};
  kernel_node(child, fill, first_args);
  CUgraphNode node = nullptr;
  OK(s.cuGraphAddChildGraphNode(&node, parent, nullptr, 0, child));
  OK(api.cuGraphDestroy(child));  // the node keeps its own copy
  CUgraph body = nullptr, again = nullptr;
  OK(s.cuGraphChildGraphNodeGetGraph(node, &body));
  OK(s.cuGraphChildGraphNodeGetGraph(node, &again));
  CHECK(body != nullptr && body == again && node_count(body) == 1);
  EXPECT_RC(s.cuGraphChildGraphNodeGetGraph(empty(parent), &again), CUDA_ERROR_INVALID_VALUE);
  // A node added to the node's graph runs with it.
  void* second_args[] = {&second, &two, &n};
  kernel_node(body, fill, second_args);
  OK(api.cuMemsetD8Async(buf, 0, 8, nullptr));
  launch_once(parent);
  CHECK(read_word(buf) == 1 && read_word(buf + 4) == 2);
  OK(api.cuGraphDestroy(parent));  // and the body with it
}

void captures(CUstream st, CUdeviceptr buf) {
  OK(api.cuStreamBeginCapture_v2(st, CU_STREAM_CAPTURE_MODE_RELAXED));
  OK(api.cuMemsetD8Async(buf, 1, 4, st));
  CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
  CUgraph graph = nullptr;
  const CUgraphNode* deps = nullptr;
  size_t count = 0;
  OK(api.cuStreamGetCaptureInfo_v3(st, &status, nullptr, &graph, &deps, nullptr, &count));
  CHECK(status == CU_STREAM_CAPTURE_STATUS_ACTIVE && count == 1 && deps != nullptr);
  const CUgraphNode memset1 = count == 1 ? deps[0] : nullptr;
  // A node added to the graph being captured, and the capture made to go on after it.
  CUgraphNode added = empty(graph, &memset1, 1);
  OK(s.cuStreamUpdateCaptureDependencies_v2(st, &added, nullptr, 1, CU_STREAM_SET_CAPTURE_DEPENDENCIES));
  OK(api.cuStreamGetCaptureInfo_v3(st, &status, nullptr, nullptr, &deps, nullptr, &count));
  CHECK(count == 1 && deps[0] == added);
  EXPECT_RC(s.cuGraphDestroyNode(added), CUDA_ERROR_ILLEGAL_STATE);  // not while capturing
  CUgraph other = nullptr;
  OK(api.cuGraphCreate(&other, 0));
  CUgraphNode foreign = empty(other);
  EXPECT_RC(s.cuStreamUpdateCaptureDependencies_v2(st, &foreign, nullptr, 1, CU_STREAM_ADD_CAPTURE_DEPENDENCIES),
            CUDA_ERROR_INVALID_VALUE);
  OK(api.cuMemsetD8Async(buf, 2, 4, st));
  CUgraph ended = nullptr;
  OK(api.cuStreamEndCapture(st, &ended));
  CHECK(ended == graph && node_count(graph) == 3 && edge_count(graph) == 2 && has_edge(graph, memset1, added));
  OK(api.cuGraphDestroy(graph));
  // Into an existing graph, after one of its nodes.
  OK(s.cuStreamBeginCaptureToGraph(st, other, &foreign, nullptr, 1, CU_STREAM_CAPTURE_MODE_RELAXED));
  EXPECT_RC(api.cuGraphDestroy(other), CUDA_ERROR_ILLEGAL_STATE);
  OK(api.cuMemsetD8Async(buf, 3, 4, st));
  OK(api.cuStreamEndCapture(st, &ended));
  CHECK(ended == other && node_count(other) == 2 && edge_count(other) == 1);
  OK(api.cuGraphDestroy(other));
}

void graph_memory(CUcontext ctx, CUstream st) {
  CUgraph g = nullptr;
  OK(api.cuGraphCreate(&g, 0));
  CUDA_MEM_ALLOC_NODE_PARAMS p{};
  p.poolProps.allocType = CU_MEM_ALLOCATION_TYPE_PINNED;
  p.poolProps.location = {CU_MEM_LOCATION_TYPE_DEVICE, 0};
  p.bytesize = 4096;
  CUgraphNode alloc = nullptr, set = nullptr, freed = nullptr;
  OK(s.cuGraphAddMemAllocNode(&alloc, g, nullptr, 0, &p));
  CHECK(p.dptr != 0);
  CUDA_MEMSET_NODE_PARAMS m{};
  m.dst = p.dptr;
  m.value = 0x7;
  m.elementSize = 1;
  m.width = 4096;
  m.height = 1;
  OK(api.cuGraphAddMemsetNode(&set, g, &alloc, 1, &m, ctx));  // the address is device memory already
  OK(s.cuGraphAddMemFreeNode(&freed, g, &set, 1, p.dptr));
  CUgraphNodeType type = CU_GRAPH_NODE_TYPE_EMPTY;
  OK(api.cuGraphNodeGetType(alloc, &type));
  CHECK(type == CU_GRAPH_NODE_TYPE_MEM_ALLOC);
  CUDA_MEM_ALLOC_NODE_PARAMS back{};
  OK(s.cuGraphMemAllocNodeGetParams(alloc, &back));
  CHECK(back.dptr == p.dptr && back.bytesize == 4096 && back.poolProps.location.id == 0);
  CUdeviceptr freed_ptr = 0;
  OK(s.cuGraphMemFreeNodeGetParams(freed, &freed_ptr));
  CHECK(freed_ptr == p.dptr);
  EXPECT_RC(s.cuGraphMemFreeNodeGetParams(alloc, &freed_ptr), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(s.cuGraphAddMemFreeNode(&freed, g, nullptr, 0, p.dptr + 16), CUDA_ERROR_INVALID_VALUE);
  cuuint64_t used = 0;
  OK(s.cuDeviceGetGraphMemAttribute(0, CU_GRAPH_MEM_ATTR_USED_MEM_CURRENT, &used));
  CHECK(used >= 4096);
  cuuint64_t zero = 0, seven = 7;
  OK(s.cuDeviceSetGraphMemAttribute(0, CU_GRAPH_MEM_ATTR_USED_MEM_HIGH, &zero));
  EXPECT_RC(s.cuDeviceSetGraphMemAttribute(0, CU_GRAPH_MEM_ATTR_USED_MEM_HIGH, &seven), CUDA_ERROR_INVALID_VALUE);
  OK(s.cuDeviceGraphMemTrim(0));
  launch_once(g);
  launch_once(g);
  CHECK(read_word(p.dptr) == 0x07070707u);
  OK(api.cuMemFree_v2(p.dptr));  // ends its lifetime; the node keeps the address
  OK(api.cuGraphDestroy(g));
  // Captured: cuMemAllocAsync and cuMemFreeAsync become nodes.
  OK(api.cuStreamBeginCapture_v2(st, CU_STREAM_CAPTURE_MODE_RELAXED));
  CUdeviceptr captured = 0;
  OK(s.cuMemAllocAsync(&captured, 256, st));
  OK(api.cuMemsetD8Async(captured, 9, 256, st));
  OK(s.cuMemFreeAsync(captured, st));
  OK(api.cuStreamEndCapture(st, &g));
  CUgraphNode nodes[3] = {};
  size_t n = 3;
  OK(api.cuGraphGetNodes(g, nodes, &n));
  CUgraphNodeType first = CU_GRAPH_NODE_TYPE_EMPTY, last = CU_GRAPH_NODE_TYPE_EMPTY;
  OK(api.cuGraphNodeGetType(nodes[0], &first));
  OK(api.cuGraphNodeGetType(nodes[2], &last));
  CHECK(n == 3 && first == CU_GRAPH_NODE_TYPE_MEM_ALLOC && last == CU_GRAPH_NODE_TYPE_MEM_FREE);
  launch_once(g);
  OK(api.cuGraphDestroy(g));
  // Outside a capture they allocate and free at once.
  OK(s.cuMemAllocAsync(&captured, 256, st));
  OK(s.cuMemFreeAsync(captured, st));
}

void conditionals(CUcontext ctx, CUfunction fill, CUfunction set_conditional, CUfunction countdown, CUdeviceptr buf) {
  CUgraph g = nullptr;
  OK(api.cuGraphCreate(&g, 0));
  CUgraphConditionalHandle if_handle = 0, while_handle = 0;
  OK(s.cuGraphConditionalHandleCreate(&if_handle, g, ctx, 0, CU_GRAPH_COND_ASSIGN_DEFAULT));
  OK(s.cuGraphConditionalHandleCreate(&while_handle, g, ctx, 1, CU_GRAPH_COND_ASSIGN_DEFAULT));
  EXPECT_RC(s.cuGraphConditionalHandleCreate(&if_handle, g, ctx, 0, 2), CUDA_ERROR_INVALID_VALUE);
  // IF: a kernel sets the condition; the body runs only when it is set.
  uint32_t value = 1, seven = 7;
  uint64_t one = 1;
  void* set_args[] = {&if_handle, &value};
  const CUgraphNode setter = kernel_node(g, set_conditional, set_args);
  CUgraphNodeParams p{};
  p.type = CU_GRAPH_NODE_TYPE_CONDITIONAL;
  p.conditional.handle = if_handle;
  p.conditional.type = CU_GRAPH_COND_TYPE_IF;
  p.conditional.size = 1;
  p.conditional.ctx = ctx;
  CUgraphNode if_node = nullptr;
  OK(s.cuGraphAddNode_v2(&if_node, g, &setter, nullptr, 1, &p));
  CHECK(p.conditional.phGraph_out != nullptr);
  void* fill_args[] = {&buf, &seven, &one};
  kernel_node(p.conditional.phGraph_out[0], fill, fill_args);
  // WHILE: the body counts down from 5; each round sets the condition to what is left.
  const CUdeviceptr counter = buf + 4;
  void* count_args[] = {const_cast<CUdeviceptr*>(&counter), &while_handle};
  p.conditional.handle = while_handle;
  p.conditional.type = CU_GRAPH_COND_TYPE_WHILE;
  CUgraphNode while_node = nullptr;
  OK(s.cuGraphAddNode_v2(&while_node, g, &if_node, nullptr, 1, &p));
  kernel_node(p.conditional.phGraph_out[0], countdown, count_args);
  p.conditional.size = 3;  // a WHILE has one body
  EXPECT_RC(s.cuGraphAddNode_v2(&while_node, g, nullptr, nullptr, 0, &p), CUDA_ERROR_INVALID_VALUE);
  CUgraph other = nullptr;
  OK(api.cuGraphCreate(&other, 0));
  p.conditional.size = 1;
  EXPECT_RC(s.cuGraphAddNode_v2(&while_node, other, nullptr, nullptr, 0, &p), CUDA_ERROR_INVALID_VALUE);  // not its handle
  OK(api.cuGraphDestroy(other));
  CUgraph clone = nullptr;
  EXPECT_RC(api.cuGraphClone(&clone, g), CUDA_ERROR_NOT_SUPPORTED);
  OK(api.cuMemsetD8Async(buf, 0, 4, nullptr));
  const uint32_t five = 5;
  OK(api.cuMemcpyHtoDAsync_v2(counter, &five, 4, nullptr));
  launch_once(g);
  CHECK(read_word(buf) == 7 && read_word(counter) == 0);
  OK(api.cuGraphDestroy(g));
  // Not set by a kernel: the default (0) holds, and the IF's body does not run.
  OK(api.cuGraphCreate(&g, 0));
  OK(s.cuGraphConditionalHandleCreate(&if_handle, g, ctx, 0, CU_GRAPH_COND_ASSIGN_DEFAULT));
  p.conditional.handle = if_handle;
  p.conditional.type = CU_GRAPH_COND_TYPE_IF;
  OK(s.cuGraphAddNode_v2(&if_node, g, nullptr, nullptr, 0, &p));
  uint32_t nine = 9;
  void* nine_args[] = {&buf, &nine, &one};
  kernel_node(p.conditional.phGraph_out[0], fill, nine_args);
  launch_once(g);
  CHECK(read_word(buf) == 7);
  OK(api.cuGraphDestroy(g));
}

void user_objects() {
  int weight = 1;
  g_destroyed = 0;
  CUuserObject o = nullptr;
  OK(s.cuUserObjectCreate(&o, &weight, &count_destroyed, 1, CU_USER_OBJECT_NO_DESTRUCTOR_SYNC));
  EXPECT_RC(s.cuUserObjectCreate(&o, &weight, &count_destroyed, 1, 0), CUDA_ERROR_INVALID_VALUE);
  OK(s.cuUserObjectRetain(o, 2));
  OK(s.cuUserObjectRelease(o, 2));
  CHECK(g_destroyed == 0);
  EXPECT_RC(s.cuUserObjectRelease(o, 2), CUDA_ERROR_INVALID_VALUE);  // more than it holds
  OK(s.cuUserObjectRelease(o, 1));
  CHECK(g_destroyed == 1);
  // Held by a graph, its clone and an executable graph: destroyed after the last of them.
  OK(s.cuUserObjectCreate(&o, &weight, &count_destroyed, 1, CU_USER_OBJECT_NO_DESTRUCTOR_SYNC));
  CUgraph g = nullptr, clone = nullptr;
  OK(api.cuGraphCreate(&g, 0));
  OK(s.cuGraphRetainUserObject(g, o, 1, CU_GRAPH_USER_OBJECT_MOVE));
  OK(s.cuGraphRetainUserObject(g, o, 1, 0));
  OK(s.cuGraphReleaseUserObject(g, o, 1));
  EXPECT_RC(s.cuGraphReleaseUserObject(g, o, 2), CUDA_ERROR_INVALID_VALUE);
  OK(api.cuGraphClone(&clone, g));
  OK(api.cuGraphDestroy(g));
  CUgraphExec exec = nullptr;
  OK(api.cuGraphInstantiateWithFlags(&exec, clone, 0));
  OK(api.cuGraphDestroy(clone));
  CHECK(g_destroyed == 1);
  OK(api.cuGraphExecDestroy(exec));
  CHECK(g_destroyed == 2);
}

}  // namespace

CUgraphNode kernel_node(CUgraph g, CUfunction f, void** args, const CUgraphNode* deps, size_t n) {
  CUDA_KERNEL_NODE_PARAMS p{};
  p.func = f;
  p.gridDimX = p.gridDimY = p.gridDimZ = 1;
  p.blockDimX = p.blockDimY = p.blockDimZ = 1;
  p.kernelParams = args;
  CUgraphNode node = nullptr;
  OK(api.cuGraphAddKernelNode_v2(&node, g, deps, n, &p));
  return node;
}

void graph_structure_checks(const char* lib_path) {
  CHECK(resolve(lib_path, s));
  if (s.cuGraphDestroyNode == nullptr) return;
  CUcontext prev = nullptr, ctx = nullptr;
  OK(api.cuCtxGetCurrent(&prev));
  OK(api.cuCtxCreate_v2(&ctx, 0, 0));
  const std::string image = module_image({"kernel fake_fill_u32 8,4,8", "kernel fake_set_conditional 8,4",
                                          "kernel fake_countdown 8,8"});
  CUmodule mod = nullptr;
  OK(api.cuModuleLoadData(&mod, image.c_str()));
  CUfunction fill = nullptr, set_conditional = nullptr, countdown = nullptr;
  OK(api.cuModuleGetFunction(&fill, mod, "fake_fill_u32"));
  OK(api.cuModuleGetFunction(&set_conditional, mod, "fake_set_conditional"));
  OK(api.cuModuleGetFunction(&countdown, mod, "fake_countdown"));
  CUstream st = nullptr;
  OK(api.cuStreamCreateWithPriority(&st, CU_STREAM_NON_BLOCKING, 0));
  CUdeviceptr buf = 0;
  OK(api.cuMemAlloc_v2(&buf, 64));

  structure(ctx);
  child_graph(fill, buf);
  captures(st, buf);
  graph_memory(ctx, st);
  conditionals(ctx, fill, set_conditional, countdown, buf);
  user_objects();

  OK(api.cuStreamDestroy_v2(st));
  OK(api.cuCtxDestroy_v2(ctx));
  OK(api.cuCtxSetCurrent(prev));
}

}  // namespace vgpu::fake::selftest

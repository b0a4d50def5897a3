// fake-cuda (test double, never ships): user objects (cuUserObjectCreate, Retain, Release) and the
// references graphs and executable graphs hold on them (cuGraphRetainUserObject, ReleaseUserObject;
// a clone and an instantiation take their graph's, and give them back when they go). When the
// last reference goes, the destructor is called at once on the calling thread with no lock of
// the fake held, as all of the fake's work runs at once; the driver calls it later, on a thread
// of its own. Giving back more references than are held is CUDA_ERROR_INVALID_VALUE here, where
// the driver's behaviour is undefined: a test can tell that vgpud never lets it through.
#include "graph.h"

using namespace vgpu::fake;

namespace {

struct Object {
  void* ptr = nullptr;
  CUhostFn destroy = nullptr;
  std::uint64_t refs = 0;
};
using Refs = std::map<CUuserObject, std::uint64_t>;

std::mutex g_mu;  // a leaf
std::unordered_map<CUuserObject, Object> g_objects;
std::unordered_map<CUgraph, Refs> g_graph_refs;
std::unordered_map<CUgraphExec, Refs> g_exec_refs;

// Destructors to call once g_mu is released.
using Pending = std::vector<std::pair<CUhostFn, void*>>;

void release_locked(CUuserObject o, std::uint64_t count, Pending& pending) {
  auto it = g_objects.find(o);
  if (it == g_objects.end()) return;
  it->second.refs -= std::min(count, it->second.refs);
  if (it->second.refs != 0) return;
  pending.emplace_back(it->second.destroy, it->second.ptr);
  g_objects.erase(it);
}

void run(const Pending& pending) {
  for (const auto& [fn, ptr] : pending) fn(ptr);
}

// Takes `from`'s references for a copy: each object's count grows by what it holds.
void copy_refs(const Refs& from, Refs& to) {
  for (const auto& [o, n] : from) {
    to[o] += n;
    g_objects.at(o).refs += n;
  }
}

}  // namespace

namespace vgpu::fake {

void user_objects_graph_gone(CUgraph g) {
  Pending pending;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_graph_refs.find(g);
    if (it == g_graph_refs.end()) return;
    for (const auto& [o, n] : it->second) release_locked(o, n, pending);
    g_graph_refs.erase(it);
  }
  run(pending);
}

void user_objects_graph_cloned(CUgraph from, CUgraph to) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_graph_refs.find(from);
  if (it != g_graph_refs.end()) copy_refs(Refs(it->second), g_graph_refs[to]);
}

void user_objects_exec_made(CUgraph from, CUgraphExec exec) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_graph_refs.find(from);
  if (it != g_graph_refs.end()) copy_refs(it->second, g_exec_refs[exec]);
}

void user_objects_exec_gone(CUgraphExec exec) {
  Pending pending;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_exec_refs.find(exec);
    if (it == g_exec_refs.end()) return;
    for (const auto& [o, n] : it->second) release_locked(o, n, pending);
    g_exec_refs.erase(it);
  }
  run(pending);
}

}  // namespace vgpu::fake

FAKE_CUDA_API CUresult CUDAAPI cuUserObjectCreate(CUuserObject* object_out, void* ptr, CUhostFn destroy,
                                                  unsigned int initialRefcount, unsigned int flags) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (object_out == nullptr || destroy == nullptr || initialRefcount == 0 || flags != CU_USER_OBJECT_NO_DESTRUCTOR_SYNC)
    return CUDA_ERROR_INVALID_VALUE;
  const auto h = new_handle<CUuserObject>();
  std::lock_guard<std::mutex> lock(g_mu);
  g_objects.emplace(h, Object{ptr, destroy, initialRefcount});
  *object_out = h;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuUserObjectRetain(CUuserObject object, unsigned int count) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_objects.find(object);
  if (it == g_objects.end() || count == 0) return CUDA_ERROR_INVALID_VALUE;
  it->second.refs += count;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuUserObjectRelease(CUuserObject object, unsigned int count) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  Pending pending;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_objects.find(object);
    if (it == g_objects.end() || count == 0 || count > it->second.refs) return CUDA_ERROR_INVALID_VALUE;
    release_locked(object, count, pending);
  }
  run(pending);
  return CUDA_SUCCESS;
}

// The graph takes `count` references: new ones, or (CU_GRAPH_USER_OBJECT_MOVE) the caller's.
FAKE_CUDA_API CUresult CUDAAPI cuGraphRetainUserObject(CUgraph graph, CUuserObject object, unsigned int count,
                                                       unsigned int flags) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  bool capturing = false;
  CUcontext ctx = nullptr;
  if (!graph_state(graph, &capturing, &ctx) || count == 0 || (flags & ~CU_GRAPH_USER_OBJECT_MOVE) != 0)
    return CUDA_ERROR_INVALID_VALUE;
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_objects.find(object);
  if (it == g_objects.end()) return CUDA_ERROR_INVALID_VALUE;
  if (flags == 0) it->second.refs += count;
  g_graph_refs[graph][object] += count;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuGraphReleaseUserObject(CUgraph graph, CUuserObject object, unsigned int count) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  Pending pending;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto g = g_graph_refs.find(graph);
    if (g == g_graph_refs.end() || count == 0) return CUDA_ERROR_INVALID_VALUE;
    auto held = g->second.find(object);
    if (held == g->second.end() || held->second < count) return CUDA_ERROR_INVALID_VALUE;
    held->second -= count;
    if (held->second == 0) g->second.erase(held);
    release_locked(object, count, pending);
  }
  run(pending);
  return CUDA_SUCCESS;
}

// A graph's structure and captures that name their graph, over the driver shim's
// (guest/cuda/graph_query_api.cpp, capture_graph_api.cpp): each cudaGraph* call is the cuGraph*
// one, a cudaGraphNode_t a CUgraphNode, a cudaGraphEdgeData a CUgraphEdgeData.
#include "guest/client/log.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/streams.h"

namespace vgpu::cudart {
namespace {

static_assert(sizeof(cudaGraphEdgeData) == sizeof(CUgraphEdgeData));

CUgraphNode* driver_nodes(cudaGraphNode_t* nodes) { return reinterpret_cast<CUgraphNode*>(nodes); }
const CUgraphNode* driver_nodes(const cudaGraphNode_t* nodes) { return reinterpret_cast<const CUgraphNode*>(nodes); }
CUgraphEdgeData* driver_edges(cudaGraphEdgeData* edges) { return reinterpret_cast<CUgraphEdgeData*>(edges); }
const CUgraphEdgeData* driver_edges(const cudaGraphEdgeData* edges) {
  return reinterpret_cast<const CUgraphEdgeData*>(edges);
}

cudaError_t update_dependencies(cudaStream_t stream, cudaGraphNode_t* deps, const cudaGraphEdgeData* edges,
                                size_t count, unsigned flags, bool per_thread_default) {
  return context_call([&](Runtime&) {
    return to_cuda_error(cuStreamUpdateCaptureDependencies_v2(driver_stream(stream, per_thread_default),
                                                              driver_nodes(deps), driver_edges(edges), count, flags));
  });
}

cudaError_t begin_capture_to_graph(cudaStream_t stream, cudaGraph_t graph, const cudaGraphNode_t* deps,
                                   const cudaGraphEdgeData* edges, size_t count, cudaStreamCaptureMode mode,
                                   bool per_thread_default) {
  return context_call([&](Runtime&) {
    return to_cuda_error(cuStreamBeginCaptureToGraph(driver_stream(stream, per_thread_default), graph,
                                                     driver_nodes(deps), driver_edges(edges), count,
                                                     static_cast<CUstreamCaptureMode>(mode)));
  });
}

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

VGPU_EXPORT cudaError_t cudaGraphGetEdges(cudaGraph_t graph, cudaGraphNode_t* from, cudaGraphNode_t* to,
                                          cudaGraphEdgeData* edgeData, size_t* numEdges) {
  trace_api("cudaGraphGetEdges graph=%p", static_cast<void*>(graph));
  return context_call([&](Runtime&) {
    return to_cuda_error(cuGraphGetEdges_v2(graph, driver_nodes(from), driver_nodes(to), driver_edges(edgeData), numEdges));
  });
}

VGPU_EXPORT cudaError_t cudaGraphGetRootNodes(cudaGraph_t graph, cudaGraphNode_t* pRootNodes, size_t* pNumRootNodes) {
  trace_api("cudaGraphGetRootNodes graph=%p", static_cast<void*>(graph));
  return context_call([&](Runtime&) {
    return to_cuda_error(cuGraphGetRootNodes(graph, driver_nodes(pRootNodes), pNumRootNodes));
  });
}

VGPU_EXPORT cudaError_t cudaGraphNodeGetDependencies(cudaGraphNode_t node, cudaGraphNode_t* pDependencies,
                                                     cudaGraphEdgeData* edgeData, size_t* pNumDependencies) {
  trace_api("cudaGraphNodeGetDependencies node=%p", static_cast<void*>(node));
  return context_call([&](Runtime&) {
    return to_cuda_error(
        cuGraphNodeGetDependencies_v2(node, driver_nodes(pDependencies), driver_edges(edgeData), pNumDependencies));
  });
}

VGPU_EXPORT cudaError_t cudaGraphNodeGetDependentNodes(cudaGraphNode_t node, cudaGraphNode_t* pDependentNodes,
                                                       cudaGraphEdgeData* edgeData, size_t* pNumDependentNodes) {
  trace_api("cudaGraphNodeGetDependentNodes node=%p", static_cast<void*>(node));
  return context_call([&](Runtime&) {
    return to_cuda_error(cuGraphNodeGetDependentNodes_v2(node, driver_nodes(pDependentNodes), driver_edges(edgeData),
                                                         pNumDependentNodes));
  });
}

VGPU_EXPORT cudaError_t cudaGraphRemoveDependencies(cudaGraph_t graph, const cudaGraphNode_t* from,
                                                    const cudaGraphNode_t* to, const cudaGraphEdgeData* edgeData,
                                                    size_t numDependencies) {
  trace_api("cudaGraphRemoveDependencies graph=%p count=%zu", static_cast<void*>(graph), numDependencies);
  return context_call([&](Runtime&) {
    return to_cuda_error(cuGraphRemoveDependencies_v2(graph, driver_nodes(from), driver_nodes(to),
                                                      driver_edges(edgeData), numDependencies));
  });
}

VGPU_EXPORT cudaError_t cudaGraphDestroyNode(cudaGraphNode_t node) {
  trace_api("cudaGraphDestroyNode node=%p", static_cast<void*>(node));
  return context_call([&](Runtime&) { return to_cuda_error(cuGraphDestroyNode(node)); });
}

VGPU_EXPORT cudaError_t cudaGraphNodeFindInClone(cudaGraphNode_t* pNode, cudaGraphNode_t originalNode,
                                                 cudaGraph_t clonedGraph) {
  trace_api("cudaGraphNodeFindInClone node=%p clone=%p", static_cast<void*>(originalNode),
            static_cast<void*>(clonedGraph));
  return context_call([&](Runtime&) {
    return to_cuda_error(cuGraphNodeFindInClone(reinterpret_cast<CUgraphNode*>(pNode), originalNode, clonedGraph));
  });
}

VGPU_EXPORT cudaError_t cudaGraphChildGraphNodeGetGraph(cudaGraphNode_t node, cudaGraph_t* pGraph) {
  trace_api("cudaGraphChildGraphNodeGetGraph node=%p", static_cast<void*>(node));
  return context_call([&](Runtime&) {
    return to_cuda_error(cuGraphChildGraphNodeGetGraph(node, reinterpret_cast<CUgraph*>(pGraph)));
  });
}

VGPU_EXPORT cudaError_t cudaGraphDebugDotPrint(cudaGraph_t graph, const char* path, unsigned int flags) {
  trace_api("cudaGraphDebugDotPrint graph=%p", static_cast<void*>(graph));
  return context_call([&](Runtime&) { return to_cuda_error(cuGraphDebugDotPrint(graph, path, flags)); });
}

VGPU_EXPORT cudaError_t cudaStreamUpdateCaptureDependencies(cudaStream_t stream, cudaGraphNode_t* dependencies,
                                                            const cudaGraphEdgeData* dependencyData,
                                                            size_t numDependencies, unsigned int flags) {
  trace_api("cudaStreamUpdateCaptureDependencies stream=%p", static_cast<void*>(stream));
  return update_dependencies(stream, dependencies, dependencyData, numDependencies, flags, false);
}
VGPU_EXPORT cudaError_t cudaStreamUpdateCaptureDependencies_ptsz(cudaStream_t stream, cudaGraphNode_t* dependencies,
                                                                 const cudaGraphEdgeData* dependencyData,
                                                                 size_t numDependencies, unsigned int flags) {
  trace_api("cudaStreamUpdateCaptureDependencies_ptsz stream=%p", static_cast<void*>(stream));
  return update_dependencies(stream, dependencies, dependencyData, numDependencies, flags, true);
}

VGPU_EXPORT cudaError_t cudaStreamBeginCaptureToGraph(cudaStream_t stream, cudaGraph_t graph,
                                                      const cudaGraphNode_t* dependencies,
                                                      const cudaGraphEdgeData* dependencyData, size_t numDependencies,
                                                      cudaStreamCaptureMode mode) {
  trace_api("cudaStreamBeginCaptureToGraph stream=%p graph=%p", static_cast<void*>(stream), static_cast<void*>(graph));
  return begin_capture_to_graph(stream, graph, dependencies, dependencyData, numDependencies, mode, false);
}
VGPU_EXPORT cudaError_t cudaStreamBeginCaptureToGraph_ptsz(cudaStream_t stream, cudaGraph_t graph,
                                                           const cudaGraphNode_t* dependencies,
                                                           const cudaGraphEdgeData* dependencyData,
                                                           size_t numDependencies, cudaStreamCaptureMode mode) {
  trace_api("cudaStreamBeginCaptureToGraph_ptsz stream=%p graph=%p", static_cast<void*>(stream),
            static_cast<void*>(graph));
  return begin_capture_to_graph(stream, graph, dependencies, dependencyData, numDependencies, mode, true);
}

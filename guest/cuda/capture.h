// Stream capture as the guest keeps it (docs/design.md §19). vgpud captures on the host in
// relaxed mode; the guest knows which of its streams it began capturing, in which mode and on
// which thread, so that
// - a stream query answers "not capturing" without a round trip while no capture is open
//   (cuBLAS asks before every GEMM), and asks vgpud otherwise;
// - the capture modes' rule on "potentially unsafe" calls applies to the program's threads.
#pragma once
#include <cuda.h>

#include <cstdint>

#include "guest/client/channel.h"

namespace vgpu::cuda {

// Whether a capture this process began is open (a stream that joined one through an event
// can only capture while it is).
bool any_capture_open() noexcept;

// For a potentially unsafe call (cuMemAlloc and its kin): CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED
// where the calling thread's capture mode forbids it, having invalidated the captures that
// forbid it, as the driver does; CUDA_SUCCESS where it may go ahead.
CUresult check_unsafe_call_during_capture() noexcept;

// The id of the capture vgpud's stream `stream` takes part in, or 0 when it captures nothing
// (no round trip while no capture is open).
CUresult capture_of_stream(uint64_t stream, uint64_t* capture) noexcept;
// A host function launched into capture `capture`, or a resource (add_graph_resource, `runs`
// false): held for the graph it ends in.
void capture_keeps_host_function(uint64_t capture, uint64_t function, bool runs = true);
// vgpud began capturing its stream `stream` for the calling thread, in `mode` (capture_api.cpp).
void capture_begun(uint64_t stream, CUstreamCaptureMode mode);

// The graphs the program holds of open captures (capture_graph_api.cpp): the one
// cuStreamGetCaptureInfo handed out (`owned`: the capture's until it ends), or the one
// cuStreamBeginCaptureToGraph builds into (the program's).
struct CaptureGraph {
  struct GraphObject* graph = nullptr;
  bool owned = false;
};
bool any_capture_graph() noexcept;
// Forgets capture `capture`'s graph and hands it over (null graph when there is none).
CaptureGraph take_capture_graph(uint64_t capture) noexcept;
// Whether an open capture builds into `graph` (it may not be destroyed then).
bool capture_builds_into(const struct GraphObject* graph) noexcept;
// cuStreamGetCaptureInfo's answer with the graph and the next node's dependencies (vgpud's
// stream `stream`, the channel entered); outputs as capture_api.cpp's queries take them.
CUresult capture_graph_info(guest::Channel& ch, uint64_t stream, CUstreamCaptureStatus* status, cuuint64_t* id,
                            CUgraph* graph, const CUgraphNode** dependencies, const CUgraphEdgeData** edges,
                            size_t* count);

}  // namespace vgpu::cuda

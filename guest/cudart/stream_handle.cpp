#include "guest/cudart/stream_handle.h"

#include <driver_types.h>  // cudaStreamLegacy, cudaStreamPerThread

namespace vgpu::cudart {

StreamRef classify_stream(cudaStream_t stream, bool per_thread_default) {
  if (stream == nullptr) return {per_thread_default ? StreamKind::PerThread : StreamKind::Legacy, 0};
  if (stream == cudaStreamLegacy) return {StreamKind::Legacy, 0};
  if (stream == cudaStreamPerThread) return {StreamKind::PerThread, 0};
  return {StreamKind::Created, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(stream))};
}

}  // namespace vgpu::cudart

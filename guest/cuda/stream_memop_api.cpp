// Stream memory operations: waiting on and writing a 32- or 64-bit value in device memory,
// ordered on a stream (cuStreamWaitValue*, cuStreamWriteValue*, cuStreamBatchMemOp). Each is
// one posted message; vgpud checks the address against the channel's memory.
#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/streams.h"

using namespace vgpu::cuda;
namespace proto = vgpu::proto;
namespace guest = vgpu::guest;

namespace {

template <proto::CallId Id>
CUresult value_op(CUstream stream, CUdeviceptr address, uint64_t value, unsigned flags, uint32_t width) {
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  proto::StreamValueRequest request{0, address, value, flags, width};
  if (!wire_stream(stream, &request.stream)) return CUDA_ERROR_INVALID_HANDLE;
  if (address % width != 0) return CUDA_ERROR_INVALID_VALUE;
  return to_cu_result(guest::post<Id>(*ch, request));
}

CUresult wait_value(CUstream s, CUdeviceptr address, uint64_t value, unsigned flags, uint32_t width) {
  return value_op<proto::CallId::StreamWaitValue>(s, address, value, flags, width);
}
CUresult write_value(CUstream s, CUdeviceptr address, uint64_t value, unsigned flags, uint32_t width) {
  return value_op<proto::CallId::StreamWriteValue>(s, address, value, flags, width);
}

// A batch is its operations in order. A memory barrier orders nothing more than the stream
// already does here (each operation is a separate, stream-ordered driver call on vgpud), and
// there are no remote writes to flush.
CUresult batch(CUstream stream, unsigned count, const CUstreamBatchMemOpParams* ops, unsigned flags) {
  if (flags != 0 || (count != 0 && ops == nullptr)) return CUDA_ERROR_INVALID_VALUE;
  for (unsigned i = 0; i < count; ++i) {
    const CUstreamBatchMemOpParams& op = ops[i];
    CUresult r = CUDA_SUCCESS;
    switch (op.operation) {
      case CU_STREAM_MEM_OP_WAIT_VALUE_32:
        r = wait_value(stream, op.waitValue.address, op.waitValue.value, op.waitValue.flags, 4);
        break;
      case CU_STREAM_MEM_OP_WAIT_VALUE_64:
        r = wait_value(stream, op.waitValue.address, op.waitValue.value64, op.waitValue.flags, 8);
        break;
      case CU_STREAM_MEM_OP_WRITE_VALUE_32:
        r = write_value(stream, op.writeValue.address, op.writeValue.value, op.writeValue.flags, 4);
        break;
      case CU_STREAM_MEM_OP_WRITE_VALUE_64:
        r = write_value(stream, op.writeValue.address, op.writeValue.value64, op.writeValue.flags, 8);
        break;
      case CU_STREAM_MEM_OP_FLUSH_REMOTE_WRITES:
      case CU_STREAM_MEM_OP_BARRIER:
        break;
      default:
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (r != CUDA_SUCCESS) return r;
  }
  return CUDA_SUCCESS;
}

}  // namespace

VGPU_DRIVER_API CUresult cuStreamWaitValue32_v2(CUstream s, CUdeviceptr address, cuuint32_t value, unsigned int flags) {
  return guarded([&] { return wait_value(s, address, value, flags, 4); });
}
VGPU_DRIVER_API CUresult cuStreamWaitValue64_v2(CUstream s, CUdeviceptr address, cuuint64_t value, unsigned int flags) {
  return guarded([&] { return wait_value(s, address, value, flags, 8); });
}
VGPU_DRIVER_API CUresult cuStreamWriteValue32_v2(CUstream s, CUdeviceptr address, cuuint32_t value, unsigned int flags) {
  return guarded([&] { return write_value(s, address, value, flags, 4); });
}
VGPU_DRIVER_API CUresult cuStreamWriteValue64_v2(CUstream s, CUdeviceptr address, cuuint64_t value, unsigned int flags) {
  return guarded([&] { return write_value(s, address, value, flags, 8); });
}
VGPU_DRIVER_API CUresult cuStreamBatchMemOp_v2(CUstream s, unsigned int count, CUstreamBatchMemOpParams* ops,
                                               unsigned int flags) {
  return guarded([&] { return batch(s, count, ops, flags); });
}

// The first versions take the same arguments (their flag sets were narrower).
VGPU_DRIVER_API CUresult cuStreamWaitValue32(CUstream s, CUdeviceptr address, cuuint32_t value, unsigned int flags) {
  return cuStreamWaitValue32_v2(s, address, value, flags);
}
VGPU_DRIVER_API CUresult cuStreamWaitValue64(CUstream s, CUdeviceptr address, cuuint64_t value, unsigned int flags) {
  return cuStreamWaitValue64_v2(s, address, value, flags);
}
VGPU_DRIVER_API CUresult cuStreamWriteValue32(CUstream s, CUdeviceptr address, cuuint32_t value, unsigned int flags) {
  return cuStreamWriteValue32_v2(s, address, value, flags);
}
VGPU_DRIVER_API CUresult cuStreamWriteValue64(CUstream s, CUdeviceptr address, cuuint64_t value, unsigned int flags) {
  return cuStreamWriteValue64_v2(s, address, value, flags);
}
VGPU_DRIVER_API CUresult cuStreamBatchMemOp(CUstream s, unsigned int count, CUstreamBatchMemOpParams* ops,
                                            unsigned int flags) {
  return cuStreamBatchMemOp_v2(s, count, ops, flags);
}

VGPU_DRIVER_API CUresult cuStreamWaitValue32_v2_ptsz(CUstream s, CUdeviceptr a, cuuint32_t v, unsigned int flags) {
  return cuStreamWaitValue32_v2(per_thread(s), a, v, flags);
}
VGPU_DRIVER_API CUresult cuStreamWaitValue64_v2_ptsz(CUstream s, CUdeviceptr a, cuuint64_t v, unsigned int flags) {
  return cuStreamWaitValue64_v2(per_thread(s), a, v, flags);
}
VGPU_DRIVER_API CUresult cuStreamWriteValue32_v2_ptsz(CUstream s, CUdeviceptr a, cuuint32_t v, unsigned int flags) {
  return cuStreamWriteValue32_v2(per_thread(s), a, v, flags);
}
VGPU_DRIVER_API CUresult cuStreamWriteValue64_v2_ptsz(CUstream s, CUdeviceptr a, cuuint64_t v, unsigned int flags) {
  return cuStreamWriteValue64_v2(per_thread(s), a, v, flags);
}
VGPU_DRIVER_API CUresult cuStreamBatchMemOp_v2_ptsz(CUstream s, unsigned int count, CUstreamBatchMemOpParams* ops,
                                                    unsigned int flags) {
  return cuStreamBatchMemOp_v2(per_thread(s), count, ops, flags);
}
VGPU_DRIVER_API CUresult cuStreamWaitValue32_ptsz(CUstream s, CUdeviceptr a, cuuint32_t v, unsigned int flags) {
  return cuStreamWaitValue32_v2(per_thread(s), a, v, flags);
}
VGPU_DRIVER_API CUresult cuStreamWaitValue64_ptsz(CUstream s, CUdeviceptr a, cuuint64_t v, unsigned int flags) {
  return cuStreamWaitValue64_v2(per_thread(s), a, v, flags);
}
VGPU_DRIVER_API CUresult cuStreamWriteValue32_ptsz(CUstream s, CUdeviceptr a, cuuint32_t v, unsigned int flags) {
  return cuStreamWriteValue32_v2(per_thread(s), a, v, flags);
}
VGPU_DRIVER_API CUresult cuStreamWriteValue64_ptsz(CUstream s, CUdeviceptr a, cuuint64_t v, unsigned int flags) {
  return cuStreamWriteValue64_v2(per_thread(s), a, v, flags);
}
VGPU_DRIVER_API CUresult cuStreamBatchMemOp_ptsz(CUstream s, unsigned int count, CUstreamBatchMemOpParams* ops,
                                                 unsigned int flags) {
  return cuStreamBatchMemOp_v2(per_thread(s), count, ops, flags);
}

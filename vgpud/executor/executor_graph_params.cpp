// A graph node's parameters in the channel's terms (docs/design.md §19): the checks that adding a
// kernel, memset or memcpy node and setting its parameters share, so that a setter lets through
// exactly what an add would; a node's parameters read back from the driver (GRAPH_NODE_GET_PARAMS)
// with the driver's handles and vgpud's addresses turned back into the channel's ids and heap
// offsets; and a kernel node's launch attributes (GRAPH_KERNEL_NODE_ATTRIBUTE).
#include <cstring>

#include "vgpud/executor/call_checks.h"
#include "vgpud/executor/channel_executor.h"
#include "vgpud/executor/host_functions.h"
#include "vgpud/executor/kernel_args.h"
#include "vgpud/executor/reply_payload.h"

namespace vgpud {

int32_t ChannelExecutor::kernel_node_params(uint32_t device, uint32_t function, const uint32_t grid[3],
                                            const uint32_t block[3], uint32_t shared_mem_bytes,
                                            const std::vector<uint8_t>& params, std::span<void*> args,
                                            CUDA_KERNEL_NODE_PARAMS* out) {
  const ChannelObjects::Function* f = objects_.functions.find(function);
  if (f == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (f->device != device) return CUDA_ERROR_INVALID_VALUE;  // a kernel of another GPU's context
  const auto built = build_kernel_args(f->params, f->buffer_size, params, args);
  if (!built) return CUDA_ERROR_INVALID_VALUE;
  *out = CUDA_KERNEL_NODE_PARAMS{};
  out->func = f->handle;
  out->gridDimX = grid[0], out->gridDimY = grid[1], out->gridDimZ = grid[2];
  out->blockDimX = block[0], out->blockDimY = block[1], out->blockDimZ = block[2];
  out->sharedMemBytes = shared_mem_bytes;
  out->kernelParams = *built == 0 ? nullptr : args.data();  // the driver copies them into the node
  return 0;
}

int32_t ChannelExecutor::memset_node_params(uint64_t dst, uint32_t element_size, uint64_t pitch, uint64_t width,
                                            uint64_t height, uint32_t value, CUDA_MEMSET_NODE_PARAMS* out) {
  const uint64_t element = element_size;
  if (element != 1 && element != 2 && element != 4) return CUDA_ERROR_INVALID_VALUE;
  // One row needs no pitch; the driver still wants one that holds it.
  const uint64_t row_pitch = height == 1 ? width * element : pitch;
  const std::optional<uint64_t> span = pitched_span(row_pitch, width, element, height);
  if (!span || *span == 0 || !objects_.memory.contains(dst, *span)) return CUDA_ERROR_INVALID_VALUE;
  *out = CUDA_MEMSET_NODE_PARAMS{};
  out->dst = dst;
  out->pitch = row_pitch;
  out->value = value;
  out->elementSize = static_cast<unsigned>(element);
  out->width = width;
  out->height = height;
  return 0;
}

int32_t ChannelExecutor::memcpy_node_params(uint32_t heap, uint64_t src, uint64_t dst, uint64_t src_pitch,
                                            uint64_t dst_pitch, uint64_t width, uint64_t height, CUDA_MEMCPY3D* out) {
  // One end, checked: a range of the channel's device memory, or of its heap, which the node
  // then names by vgpud's own mapping of the same pages.
  auto end = [&](uint64_t address, uint64_t pitch, bool in_heap, CUmemorytype* type, void** host, CUdeviceptr* device,
                 size_t* out_pitch) {
    const uint64_t row_pitch = height == 1 ? width : pitch;
    const std::optional<uint64_t> span = pitched_span(row_pitch, width, 1, height);
    if (!span || *span == 0) return false;
    *out_pitch = row_pitch;
    if (in_heap) {
      if (!heap_range_ok(address, *span)) return false;
      *type = CU_MEMORYTYPE_HOST;
      *host = heap_at(address);
      return true;
    }
    if (!objects_.memory.contains(address, *span)) return false;
    *type = CU_MEMORYTYPE_DEVICE;
    *device = address;
    return true;
  };
  CUDA_MEMCPY3D c{};
  void* src_host = nullptr;
  if (!end(src, src_pitch, (heap & 1) != 0, &c.srcMemoryType, &src_host, &c.srcDevice, &c.srcPitch) ||
      !end(dst, dst_pitch, (heap & 2) != 0, &c.dstMemoryType, &c.dstHost, &c.dstDevice, &c.dstPitch))
    return CUDA_ERROR_INVALID_VALUE;
  c.srcHost = src_host;
  c.WidthInBytes = width;
  c.Height = height;
  c.Depth = 1;
  *out = c;
  return 0;
}

uint32_t ChannelExecutor::node_id(uint32_t graph, CUgraphNode node) {
  if (node == nullptr) return 0;
  uint32_t id = 0;
  objects_.graph_nodes.for_each([&](uint32_t known, ChannelObjects::GraphNode& n) {
    if (id == 0 && n.graph == graph && n.handle == node) id = known;
  });
  if (id != 0 || objects_.graph_nodes.full()) return id;
  return objects_.graph_nodes.insert({node, graph});
}

namespace {

// One end of a memcpy node the driver holds, as the guest names it: a heap offset (vgpud's
// mapping of the heap, `heap` .. + heap_size) or a device address, its first byte with the
// driver's offsets applied. False for an array, or host memory that is not the heap's.
bool guest_end(CUmemorytype type, const void* host, CUdeviceptr device, size_t x, size_t y, size_t z, size_t pitch,
               size_t rows, const uint8_t* heap, uint64_t heap_size, bool* in_heap, uint64_t* out) {
  const uint64_t offset = (static_cast<uint64_t>(z) * rows + y) * pitch + x;
  const auto heap_offset = [&](uintptr_t p) {
    const auto base = reinterpret_cast<uintptr_t>(heap);
    if (p < base || p - base >= heap_size) return false;
    *in_heap = true;
    *out = p - base;
    return true;
  };
  switch (type) {
    case CU_MEMORYTYPE_HOST:
      return host != nullptr && heap_offset(reinterpret_cast<uintptr_t>(host) + offset);
    case CU_MEMORYTYPE_UNIFIED:
    case CU_MEMORYTYPE_DEVICE:
      // The heap is registered and mapped: the driver may name it by the same address as memory of
      // the device's (unified addressing), which is vgpud's mapping, not the guest's.
      if (heap_offset(static_cast<uintptr_t>(device + offset))) return true;
      *in_heap = false;
      *out = device + offset;
      return true;
    default:
      return false;
  }
}

}  // namespace

int32_t ChannelExecutor::handle(const GraphNodeGetParamsCmd& cmd, Reply& reply) {
  const ChannelObjects::GraphNode* n = objects_.graph_nodes.find(cmd.node);
  if (n == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const ChannelObjects::Graph* g = objects_.graphs.find(n->graph);
  if (g == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (int32_t st = require_context()) return st;
  CUgraphNodeType type = CU_GRAPH_NODE_TYPE_EMPTY;
  if (CUresult r = traced("cuGraphNodeGetType", cu_.cuGraphNodeGetType(n->handle, &type))) return r;
  proto::GraphNodeGetParamsReply out{};
  out.type = static_cast<uint32_t>(type);
  std::vector<uint8_t> packed;
  switch (type) {
    case CU_GRAPH_NODE_TYPE_KERNEL: {
      CUDA_KERNEL_NODE_PARAMS p{};
      if (CUresult r = traced("cuGraphKernelNodeGetParams", cu_.cuGraphKernelNodeGetParams(n->handle, &p))) return r;
      out.grid[0] = p.gridDimX, out.grid[1] = p.gridDimY, out.grid[2] = p.gridDimZ;
      out.block[0] = p.blockDimX, out.block[1] = p.blockDimY, out.block[2] = p.blockDimZ;
      out.shared_mem_bytes = p.sharedMemBytes;
      // The function as the channel's id, and its arguments packed at the offsets the guest knows.
      const ChannelObjects::Function* function = nullptr;
      objects_.functions.for_each([&](uint32_t id, ChannelObjects::Function& f) {
        if (function == nullptr && f.handle == p.func && f.device == g->device) {
          function = &f;
          out.function = id;
        }
      });
      if (function == nullptr) break;
      packed.assign(function->buffer_size, 0);
      if (!function->params.empty() && p.kernelParams == nullptr) return CUDA_ERROR_NOT_SUPPORTED;
      for (size_t i = 0; i < function->params.size(); ++i) {
        const proto::KernelParamInfo& info = function->params[i];
        if (p.kernelParams[i] == nullptr || info.offset > packed.size() || info.size > packed.size() - info.offset)
          return CUDA_ERROR_NOT_SUPPORTED;
        std::memcpy(packed.data() + info.offset, p.kernelParams[i], info.size);
      }
      out.param_bytes = static_cast<uint32_t>(packed.size());
      break;
    }
    case CU_GRAPH_NODE_TYPE_MEMSET: {
      CUDA_MEMSET_NODE_PARAMS p{};
      if (CUresult r = traced("cuGraphMemsetNodeGetParams", cu_.cuGraphMemsetNodeGetParams(n->handle, &p))) return r;
      out.dst = p.dst;
      out.dst_pitch = p.pitch;
      out.value = p.value;
      out.element_size = p.elementSize;
      out.width = p.width;
      out.height = p.height;
      break;
    }
    case CU_GRAPH_NODE_TYPE_MEMCPY: {
      CUDA_MEMCPY3D c{};
      if (CUresult r = traced("cuGraphMemcpyNodeGetParams", cu_.cuGraphMemcpyNodeGetParams(n->handle, &c))) return r;
      if (c.Depth != 1) return CUDA_ERROR_NOT_SUPPORTED;  // vgpu's memcpy nodes are one slice
      bool src_heap = false, dst_heap = false;
      if (!guest_end(c.srcMemoryType, c.srcHost, c.srcDevice, c.srcXInBytes, c.srcY, c.srcZ, c.srcPitch, c.srcHeight,
                     heap_at(0), setup_.geometry.heap.size, &src_heap, &out.src) ||
          !guest_end(c.dstMemoryType, c.dstHost, c.dstDevice, c.dstXInBytes, c.dstY, c.dstZ, c.dstPitch, c.dstHeight,
                     heap_at(0), setup_.geometry.heap.size, &dst_heap, &out.dst))
        return CUDA_ERROR_NOT_SUPPORTED;
      out.heap = (src_heap ? 1u : 0u) | (dst_heap ? 2u : 0u);
      out.src_pitch = c.srcPitch;
      out.dst_pitch = c.dstPitch;
      out.width = c.WidthInBytes;
      out.height = c.Height;
      break;
    }
    case CU_GRAPH_NODE_TYPE_HOST: {
      CUDA_HOST_NODE_PARAMS p{};
      if (CUresult r = traced("cuGraphHostNodeGetParams", cu_.cuGraphHostNodeGetParams(n->handle, &p))) return r;
      if (p.fn == &HostFunctionQueue::run_in_guest) out.host_function = reinterpret_cast<uint64_t>(p.userData);
      break;
    }
    case CU_GRAPH_NODE_TYPE_EVENT_RECORD:
    case CU_GRAPH_NODE_TYPE_WAIT_EVENT: {
      CUevent event = nullptr;
      const CUresult r =
          type == CU_GRAPH_NODE_TYPE_WAIT_EVENT
              ? traced("cuGraphEventWaitNodeGetEvent", cu_.cuGraphEventWaitNodeGetEvent(n->handle, &event))
              : traced("cuGraphEventRecordNodeGetEvent", cu_.cuGraphEventRecordNodeGetEvent(n->handle, &event));
      if (r != CUDA_SUCCESS) return r;
      objects_.events.for_each([&](uint32_t id, ChannelObjects::Event& e) {
        if (out.event == 0 && e.handle == event) out.event = id;
      });
      break;
    }
    default:
      break;  // the type alone
  }
  put(reply.payload, out);
  reply.payload.insert(reply.payload.end(), packed.begin(), packed.end());
  return 0;
}

namespace {

bool applied_attribute(uint32_t attribute) {
  return attribute == CU_LAUNCH_ATTRIBUTE_COOPERATIVE || attribute == CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION ||
         attribute == CU_LAUNCH_ATTRIBUTE_PRIORITY;
}

}  // namespace

int32_t ChannelExecutor::handle(const GraphKernelNodeAttributeCmd& cmd, Reply& reply) {
  CUgraphNode node = nullptr;
  CUgraphExec unused = nullptr;
  uint32_t device = 0;
  if (int32_t st = node_to_set(0, cmd.node, CU_GRAPH_NODE_TYPE_KERNEL, &node, &unused, &device)) return st;
  if (cmd.op == 2) {
    CUgraphNode source = nullptr;
    uint32_t source_device = 0;
    if (int32_t st = node_to_set(0, cmd.source, CU_GRAPH_NODE_TYPE_KERNEL, &source, &unused, &source_device)) return st;
    if (source_device != device) return CUDA_ERROR_INVALID_VALUE;  // the driver's nodes of one context
    return contexts_.in_context_of(device, [&] {
      return traced("cuGraphKernelNodeCopyAttributes", cu_.cuGraphKernelNodeCopyAttributes(node, source));
    });
  }
  // The attributes vgpud applies to a launch; the guest keeps the hints it drops (launch_api.cpp).
  if (!applied_attribute(cmd.attribute)) return CUDA_ERROR_INVALID_VALUE;
  const auto id = static_cast<CUkernelNodeAttrID>(cmd.attribute);
  CUkernelNodeAttrValue value{};
  if (cmd.op == 1) {
    if (id == CU_LAUNCH_ATTRIBUTE_COOPERATIVE) value.cooperative = cmd.value[0] != 0 ? 1 : 0;
    if (id == CU_LAUNCH_ATTRIBUTE_PRIORITY) value.priority = static_cast<int>(cmd.value[0]);
    if (id == CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION) {
      value.clusterDim.x = cmd.value[0], value.clusterDim.y = cmd.value[1], value.clusterDim.z = cmd.value[2];
    }
    return contexts_.in_context_of(device, [&] {
      return traced("cuGraphKernelNodeSetAttribute", cu_.cuGraphKernelNodeSetAttribute(node, id, &value));
    });
  }
  const CUresult r = contexts_.in_context_of(device, [&] {
    return traced("cuGraphKernelNodeGetAttribute", cu_.cuGraphKernelNodeGetAttribute(node, id, &value));
  });
  if (r != CUDA_SUCCESS) return r;
  proto::GraphKernelNodeAttributeReply out{};
  if (id == CU_LAUNCH_ATTRIBUTE_COOPERATIVE) out.value[0] = static_cast<uint32_t>(value.cooperative);
  if (id == CU_LAUNCH_ATTRIBUTE_PRIORITY) out.value[0] = static_cast<uint32_t>(value.priority);
  if (id == CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION) {
    out.value[0] = value.clusterDim.x, out.value[1] = value.clusterDim.y, out.value[2] = value.clusterDim.z;
  }
  put(reply.payload, out);
  return 0;
}

}  // namespace vgpud

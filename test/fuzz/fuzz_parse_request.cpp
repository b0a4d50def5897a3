// Any bytes handed to the request parser give a validated request or an error, never a crash,
// and a parsed request never claims more data than it carries.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "vgpu/protocol/limits.h"
#include "vgpud/mediator/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto header = vgpud::parse_header(std::span(data, size));
  auto request = vgpud::parse_request(std::span(data, size));
  if (request.ok() && !header.ok()) __builtin_trap();
  if (request.ok()) {
    if (auto* launch = std::get_if<vgpud::LaunchKernelCmd>(&request->command))
      if (launch->params.size() > size) __builtin_trap();
    if (auto* copy = std::get_if<vgpud::MemcpyHtoDInlineCmd>(&request->command))
      if (copy->data.size() > size) __builtin_trap();
    // Device numbers that reach the executor are ones the protocol can name.
    if (auto* can = std::get_if<vgpud::DeviceCanAccessPeerCmd>(&request->command))
      if (can->device >= vgpu::limits::kMaxDevices || can->peer >= vgpu::limits::kMaxDevices) __builtin_trap();
    if (auto* enable = std::get_if<vgpud::PeerAccessEnableCmd>(&request->command))
      if (enable->peer >= vgpu::limits::kMaxDevices) __builtin_trap();
    if (auto* set = std::get_if<vgpud::SetDeviceCmd>(&request->command))
      if (set->device >= vgpu::limits::kMaxDevices) __builtin_trap();
    // A cached image's size is what the executor reserves and copies: never 0, never past the limit.
    if (auto* cached = std::get_if<vgpud::ModuleLoadCachedCmd>(&request->command))
      if (cached->size == 0 || cached->size > vgpu::limits::kMaxModuleImage) __builtin_trap();
    // A link input's name is a C string the driver reads (no NUL inside); a read is bounded.
    if (auto* add = std::get_if<vgpud::LinkAddCmd>(&request->command))
      if (add->size == 0 || add->size > vgpu::limits::kMaxModuleImage || add->name.size() > vgpu::limits::kMaxSymbolName ||
          add->name.find('\0') != std::string::npos)
        __builtin_trap();
    if (auto* read = std::get_if<vgpud::LinkReadCmd>(&request->command))
      if (read->what > 2 || read->length > vgpu::limits::kMaxLinkRead) __builtin_trap();
    // An array copy has an array at one end; packed source bytes are exactly the box's.
    if (auto* array_copy = std::get_if<vgpud::MemcpyArrayCmd>(&request->command)) {
      if (array_copy->src_kind != 1 && array_copy->dst_kind != 1) __builtin_trap();
      if (array_copy->data.size() > size ||
          (array_copy->src_kind == 3 &&
           array_copy->data.size() != array_copy->width * array_copy->height * array_copy->depth))
        __builtin_trap();
    }
    // Virtual memory: access names at least one device, within the protocol's devices; an
    // allocation is on one of them and not empty.
    if (auto* access = std::get_if<vgpud::MemSetAccessCmd>(&request->command))
      if (access->named == 0 || (access->named | access->readable | access->writable) > 0xffffu) __builtin_trap();
    if (auto* create = std::get_if<vgpud::MemCreateCmd>(&request->command))
      if (create->size == 0 || create->device >= vgpu::limits::kMaxDevices || create->handle_types > 1)
        __builtin_trap();
    // Sharing between processes: the one flag (lazy peer access) is all the driver is handed.
    if (auto* open = std::get_if<vgpud::IpcOpenMemHandleCmd>(&request->command))
      if (open->flags > 1) __builtin_trap();
    // Graph structure and objects: tails of whole bounds, and counts vgpud can hand the driver.
    if (auto* remove = std::get_if<vgpud::GraphRemoveDependenciesCmd>(&request->command))
      if (remove->edges.size() > vgpu::limits::kMaxGraphEdgeBytes) __builtin_trap();
    if (auto* update = std::get_if<vgpud::StreamUpdateCaptureDependenciesCmd>(&request->command))
      if (update->flags > 1 || update->nodes.size() > vgpu::limits::kMaxCaptureDependencyBytes) __builtin_trap();
    if (auto* graph_alloc = std::get_if<vgpud::GraphMemAllocCmd>(&request->command))
      if (graph_alloc->size == 0 || graph_alloc->device >= vgpu::limits::kMaxDevices) __builtin_trap();
    if (auto* cond = std::get_if<vgpud::GraphAddConditionalNodeCmd>(&request->command))
      if (cond->type > 2 || cond->size == 0 || cond->size > vgpu::limits::kMaxConditionalBodies) __builtin_trap();
    if (auto* object = std::get_if<vgpud::UserObjectCreateCmd>(&request->command))
      if (object->count == 0 || object->count > vgpu::limits::kMaxUserObjectRefs) __builtin_trap();
    if (auto* refs = std::get_if<vgpud::UserObjectRefsCmd>(&request->command))
      if (refs->op > 4 || refs->count == 0 || refs->count > vgpu::limits::kMaxUserObjectRefs) __builtin_trap();
    // Graph updates: a kernel node's parameters within what was received; flags and operations
    // within the values the calls have.
    if (auto* set = std::get_if<vgpud::GraphKernelNodeSetCmd>(&request->command))
      if (set->params.size() > size || set->params.size() > vgpu::limits::kMaxKernelParamBytes) __builtin_trap();
    if (auto* enabled = std::get_if<vgpud::GraphNodeEnabledCmd>(&request->command))
      if (enabled->set > 1 || enabled->enabled > 1) __builtin_trap();
    if (auto* event = std::get_if<vgpud::GraphEventNodeSetCmd>(&request->command))
      if (event->wait > 1) __builtin_trap();
    if (auto* attribute = std::get_if<vgpud::GraphKernelNodeAttributeCmd>(&request->command))
      if (attribute->op > 2) __builtin_trap();
    if (auto* copy = std::get_if<vgpud::GraphMemcpyNodeSetCmd>(&request->command))
      if (copy->heap > 3 || copy->width == 0 || copy->height == 0) __builtin_trap();
    // A host-function queue has entries, and no more than vgpud lets it have.
    if (auto* queue = std::get_if<vgpud::HostFuncQueueCmd>(&request->command))
      if (queue->capacity == 0 || queue->capacity > vgpu::limits::kMaxHostFuncQueue) __builtin_trap();
  }
  return 0;
}

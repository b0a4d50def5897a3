// Every limit the host enforces on a guest, in one place. Checked before anything is allocated;
// each rejection is counted by the mediator.
#pragma once
#include <cstddef>
#include <cstdint>

namespace vgpu::limits {

// One message (header included) on either ring. Large enough for 32 KiB of kernel parameters
// and for inline copies; bulk data travels through the staging rings instead.
inline constexpr uint32_t kMaxMessageSize = 64 * 1024;

// Inline copies up to this size ride inside the message (H2D) or the reply (D2H).
inline constexpr uint32_t kMaxInlineCopy = 32 * 1024;

// CUDA allows 32764 bytes of kernel parameters since 12.1; the protocol carries up to 32 KiB.
inline constexpr uint32_t kMaxKernelParamBytes = 32 * 1024;
inline constexpr uint32_t kMaxKernelParams = 1024;

// Symbol names (kernels, device globals), without the terminating NUL.
inline constexpr uint32_t kMaxSymbolName = 4096;

// A module image (fat binary) assembled from BlobAppend chunks.
inline constexpr uint64_t kMaxModuleImage = 512ull << 20;

// Per-channel handle tables.
inline constexpr uint32_t kMaxStreams = 1024;
inline constexpr uint32_t kMaxEvents = 16384;
inline constexpr uint32_t kMaxModules = 1024;
inline constexpr uint32_t kMaxFunctions = 65536;
inline constexpr uint32_t kMaxAllocations = 1u << 20;
// Virtual memory management: address reservations and physical allocations (cuMemCreate) per
// channel; their mappings count among kMaxAllocations' ranges.
inline constexpr uint32_t kMaxAddressReservations = 4096;
inline constexpr uint32_t kMaxPhysicalAllocations = 65536;
// Graphs (captured or built) and their executable instances.
inline constexpr uint32_t kMaxGraphs = 4096;
inline constexpr uint32_t kMaxGraphExecs = 4096;
// Nodes a channel may add to its graphs by hand, and the edges (GraphEdge, 16 bytes each) one
// GRAPH_ADD_DEPENDENCIES, GRAPH_REMOVE_DEPENDENCIES or GRAPH_GET_EDGES reply carries.
inline constexpr uint32_t kMaxGraphNodes = 1u << 16;
inline constexpr uint32_t kMaxGraphEdgesPerCall = 2048;
inline constexpr uint32_t kMaxGraphEdgeBytes = kMaxGraphEdgesPerCall * 16;
// Edges a channel may add by hand to one graph, over all its GRAPH_ADD_DEPENDENCIES (vgpud
// walks them all before each instantiation, and the driver keeps them).
inline constexpr uint32_t kMaxGraphEdges = 1u << 18;
// Nodes one GRAPH_LIST_NODES reply lists (16 bytes each; the rest in further calls).
inline constexpr uint32_t kMaxGraphListNodes = 2048;
// A capture's dependencies, as STREAM_CAPTURE_GRAPH lists them and STREAM_UPDATE_CAPTURE_
// DEPENDENCIES and STREAM_BEGIN_CAPTURE_TO_GRAPH name them (node ids, 4 bytes each).
inline constexpr uint32_t kMaxCaptureDependencies = 2048;
inline constexpr uint32_t kMaxCaptureDependencyBytes = kMaxCaptureDependencies * 4;
// Graph memory (allocation nodes and allocations captured from cuMemAllocAsync) a channel
// holds at once, each charged to the tenant's device_memory when its node is made.
inline constexpr uint32_t kMaxGraphAllocations = 65536;
// Conditional nodes: handles a channel makes (cuGraphConditionalHandleCreate), and the body
// graphs of one node (a SWITCH's cases; 4 bytes each in GRAPH_ADD_CONDITIONAL_NODE's reply).
inline constexpr uint32_t kMaxConditionalHandles = 65536;
inline constexpr uint32_t kMaxConditionalBodies = 64;
inline constexpr uint32_t kMaxConditionalBodyBytes = kMaxConditionalBodies * 4;
// User objects (cuUserObjectCreate) a channel holds, and the references one call may take or
// give back: vgpud keeps every count below 2^31, so the driver's unsigned counts never wrap.
inline constexpr uint32_t kMaxUserObjects = 65536;
inline constexpr uint32_t kMaxUserObjectRefs = 1u << 24;
// Entries of a guest's host-function queue (HOST_FUNC_QUEUE). vgpud waits for room before it
// writes one, so a small queue only makes host functions wait for each other.
inline constexpr uint32_t kMaxHostFuncQueue = 4096;
// Arrays, textures and surfaces (docs/design.md §23), per channel: CUDA arrays (a mipmapped
// array's levels among them), mipmapped arrays, and texture and surface objects.
inline constexpr uint32_t kMaxArrays = 16384;
inline constexpr uint32_t kMaxMipmappedArrays = 4096;
inline constexpr uint32_t kMaxTextureObjects = 65536;
inline constexpr uint32_t kMaxSurfaceObjects = 65536;
// An array's width, height or depth (layers included), in elements: above every GPU's texture
// limits (an H200's largest is 131072), low enough that no size vgpud computes from three of
// them and an element overflows. A mipmapped array has at most one level per halving of it.
inline constexpr uint32_t kMaxArrayExtent = 1u << 18;
inline constexpr uint32_t kMaxMipmapLevels = 19;

// Sharing between the processes of one tenant (docs/design.md §25), per tenant: what its
// processes published at once (allocations, events and shareable handles, each once however
// often it is exported), and the opens of published memory they hold at once (one per process
// and allocation, however often that process opened it).
inline constexpr uint32_t kMaxIpcExports = 2048;
inline constexpr uint32_t kMaxIpcHolds = 4096;

// Devices the protocol can describe to one guest.
inline constexpr uint32_t kMaxDevices = 16;
inline constexpr uint32_t kMaxDeviceAttributes = 192;
inline constexpr uint32_t kMaxFunctionAttributes = 16;
// CUlimit values a context limit may name (the driver has fewer; vgpud's driver checks the rest).
inline constexpr uint32_t kMaxContextLimits = 16;
// Kernel names in one ModuleListFunctions reply (the rest come in further calls).
inline constexpr uint32_t kMaxFunctionListBytes = 60 * 1024;
// Links (cuLink*) a channel may have open at once, and the most one LINK_READ returns (a
// linked cubin or a log comes back in pieces of this size).
inline constexpr uint32_t kMaxLinks = 16;
inline constexpr uint32_t kMaxLinkRead = 60 * 1024;

// A tenant's status (TENANT_STATUS): the process slots a tenant can have (vgpud's
// config::kMaxProcessesPerTenant; tenant_state.h checks they agree), the processes one reply
// lists (80 bytes each; the rest in further calls), and the bytes of a process name kept for it.
inline constexpr uint32_t kMaxTenantProcessSlots = 1024;
inline constexpr uint32_t kMaxStatusProcesses = 512;
inline constexpr uint32_t kStatusProcessName = 64;
// A utilization TENANT_STATUS does not know (vgpud did not measure it).
inline constexpr uint32_t kUtilizationUnknown = 0xFFFFFFFFu;

// Geometry bounds for a channel region; checked once, at attach, on both sides.
inline constexpr uint64_t kMinRingSize = 4096;
inline constexpr uint64_t kMaxRingSize = 64ull << 20;
inline constexpr uint64_t kMaxStagingSize = 1ull << 30;
inline constexpr uint64_t kMaxHeapSize = 64ull << 30;

}  // namespace vgpu::limits

// User objects (docs/design.md §19): cuUserObjectCreate, Retain and Release, and the references
// graphs hold on them (cuGraphRetainUserObject, cuGraphReleaseUserObject), which executable
// graphs and clones take over. The references live in vgpud's driver, which decides when the
// last one is gone, after the graph launches that hold them; the destructor is the program's
// function and runs here, as a host function does (host_functions.h): vgpud's callback hands
// its id to the process's host-function thread, which calls it. CUDA calls are not permitted in
// it, as the driver documents.
#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/handles.h"
#include "guest/cuda/host_functions.h"

using namespace vgpu::cuda;
namespace proto = vgpu::proto;
namespace guest = vgpu::guest;

namespace {

struct UserObjectHandle {
  HandleKind kind = HandleKind::UserObject;
  uint32_t wire = 0;
};

// What the host-function thread runs when vgpud says the last reference went: the program's
// destructor, then the handle's object goes too (its handle is then no longer valid natively).
struct Destructor {
  CUhostFn destroy;
  void* ptr;
  UserObjectHandle* object;
};

void CUDA_CB run_destructor(void* p) {
  std::unique_ptr<Destructor> d(static_cast<Destructor*>(p));
  d->destroy(d->ptr);
  d->object->kind = HandleKind::Dead;
  delete d->object;
}

CUresult refs(proto::UserObjectRefsRequest request) {
  if (request.count == 0 || request.count > vgpu::limits::kMaxUserObjectRefs) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    return to_cu_result(guest::call<proto::CallId::UserObjectRefs>(*ch, request, nullptr).status);
  });
}

const UserObjectHandle* handle_of(CUuserObject object) {
  return object_of<UserObjectHandle>(object, HandleKind::UserObject);
}

}  // namespace

VGPU_DRIVER_API CUresult cuUserObjectCreate(CUuserObject* out, void* ptr, CUhostFn destroy, unsigned int count,
                                            unsigned int flags) {
  if (out == nullptr || destroy == nullptr || count == 0 || count > vgpu::limits::kMaxUserObjectRefs ||
      flags != CU_USER_OBJECT_NO_DESTRUCTOR_SYNC)
    return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    if (CUresult r = start_host_functions(*ch); r != CUDA_SUCCESS) return r;
    auto object = std::make_unique<UserObjectHandle>();
    auto d = std::make_unique<Destructor>(Destructor{destroy, ptr, object.get()});
    // Runs once, when vgpud hands it over; forgotten then.
    const uint64_t function = add_host_function(&run_destructor, d.get(), /*kept=*/false);
    proto::UserObjectCreateReply reply{};
    const guest::CallResult r =
        guest::call<proto::CallId::UserObjectCreate>(*ch, proto::UserObjectCreateRequest{function, count, 0}, &reply);
    if (r.status != 0) {
      drop_host_function(function);
      return to_cu_result(r.status);
    }
    object->wire = reply.object;
    d.release();
    *out = reinterpret_cast<CUuserObject>(object.release());
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuUserObjectRetain(CUuserObject object, unsigned int count) {
  const UserObjectHandle* o = handle_of(object);
  if (o == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return refs({o->wire, 0, 0, count});
}

VGPU_DRIVER_API CUresult cuUserObjectRelease(CUuserObject object, unsigned int count) {
  const UserObjectHandle* o = handle_of(object);
  if (o == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return refs({o->wire, 0, 1, count});
}

VGPU_DRIVER_API CUresult cuGraphRetainUserObject(CUgraph graph, CUuserObject object, unsigned int count,
                                                 unsigned int flags) {
  const GraphObject* g = object_of<GraphObject>(graph, HandleKind::Graph);
  const UserObjectHandle* o = handle_of(object);
  if (g == nullptr || o == nullptr || (flags & ~CU_GRAPH_USER_OBJECT_MOVE) != 0) return CUDA_ERROR_INVALID_VALUE;
  return refs({o->wire, g->wire, flags == CU_GRAPH_USER_OBJECT_MOVE ? 3u : 2u, count});
}

VGPU_DRIVER_API CUresult cuGraphReleaseUserObject(CUgraph graph, CUuserObject object, unsigned int count) {
  const GraphObject* g = object_of<GraphObject>(graph, HandleKind::Graph);
  const UserObjectHandle* o = handle_of(object);
  if (g == nullptr || o == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return refs({o->wire, g->wire, 4, count});
}

// A kernel's attributes as vgpud reports them (FuncGetAttributes), for cudaFuncGetAttributes
// and for the launch path's dynamic shared memory check, which both need the same round trip.
#pragma once
#include <driver_types.h>

#include <cstdint>

#include "guest/client/channel.h"
#include "guest/cudart/registry.h"
#include "vgpu/protocol/messages.h"

namespace vgpu::cudart {

// Asks vgpud for every attribute of `kernel`. out->count is clipped to the values that
// arrived. Whatever the reply says about MAX_DYNAMIC_SHARED_SIZE_BYTES also feeds the kernel's
// limit cache, sparing a later launch the question.
cudaError_t fetch_func_attributes(guest::Channel& channel, const KernelInfo& kernel,
                                  proto::FuncGetAttributesReply* out);

// The kernel's dynamic shared memory limit: from its cache, or asked once of vgpud.
cudaError_t dynamic_shared_limit(guest::Channel& channel, const KernelInfo& kernel, int64_t* limit);

}  // namespace vgpu::cudart

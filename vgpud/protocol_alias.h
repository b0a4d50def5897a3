// vgpud code names the wire contract as proto::, like the guest does.
#pragma once

namespace vgpu::proto {}
namespace vgpud {
namespace proto = vgpu::proto;
}

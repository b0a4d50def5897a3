// What a polling loop that is not latency-critical does between two looks at shared memory.
// On x86 `pause` tells the core it is spinning, so the loop stops starving the other hardware
// thread of its core.
//
// The call-path loops (the shim waiting for a reply, a mediator polling its submit ring, an
// executor polling its work queue) do not use it: under KVM a vCPU that keeps executing
// `pause` is taken off the CPU by pause-loop exiting, and with it in those loops a null launch
// plus synchronize measured 0.6 µs slower on the GPU machine (a VM), the latency they exist
// to save. The staging-copy helpers, which only wait for the next chunk, do use it.
#pragma once

namespace vgpu {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace vgpu

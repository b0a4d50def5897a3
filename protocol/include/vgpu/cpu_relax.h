// What every polling loop does between two looks at shared memory. On x86 `pause` tells the
// core it is spinning: the loop stops starving the other hardware thread of its core (which
// may be the very executor or guest thread it waits for) and leaves the spin without a
// memory-order mis-speculation when the line finally changes.
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

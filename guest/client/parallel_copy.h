// Copies large buffers with several threads. One core moves about 10 GB/s between a process's
// ordinary (pageable) memory and the staging rings, a fraction of what the GPU's link takes,
// so pageable copies split each staged chunk across threads (docs/design.md §17: four threads
// copy ~23 GB/s into registered memory, 3x CUDA's own pageable path).
//
// One copy at a time (the channel's lock serializes them). The helper threads start with the
// first large copy, poll briefly for the next chunk of a transfer, then sleep on a futex.
#pragma once
#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

namespace vgpu::guest {

// VGPU_COPY_THREADS if set (at least 1), else up to 4 by the CPUs this process may run on.
unsigned default_copy_threads();

class ParallelCopier {
 public:
  // `threads` copy, the caller included; 1 means memcpy on the caller alone.
  explicit ParallelCopier(unsigned threads);
  ~ParallelCopier();

  ParallelCopier(const ParallelCopier&) = delete;
  ParallelCopier& operator=(const ParallelCopier&) = delete;

  void copy(void* dst, const void* src, size_t size);

 private:
  struct Job {
    uint8_t* dst = nullptr;
    const uint8_t* src = nullptr;
    size_t size = 0;
    unsigned parts = 0;
  };

  void start_helpers();
  void helper_main(unsigned part, uint32_t seen);
  void copy_part(const Job& job, unsigned part) const;

  const unsigned threads_;
  pid_t owner_ = 0;  // a forked child copies alone: the helpers stayed with the parent
  std::vector<std::thread> helpers_;
  Job job_;
  alignas(64) std::atomic<uint32_t> generation_{0};  // bumped per job; helpers wait on it
  alignas(64) std::atomic<unsigned> remaining_{0};   // helper parts not yet copied
  std::atomic<bool> stop_{false};
};

}  // namespace vgpu::guest

// A mutex in memory that several processes map (a tenant's channel workers). Robust: a worker
// can die holding it (killed, or exiting at its teardown deadline while its executor copies),
// and the next locker is then told so instead of waiting forever, and can put the data the
// mutex guards back into a known state.
#pragma once
#include <pthread.h>

#include <cerrno>

namespace vgpud {

class RobustMutex {
 public:
  enum class Locked {
    Yes,
    AfterOwnerDied,  // locked, but its last owner died holding it: the guarded data may be torn
    No,              // could not be locked (only if a recovery was never completed)
  };

  // Once, by the process that lays the shared memory out, before anyone else maps it.
  void init() {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&mutex_, &attr);
    pthread_mutexattr_destroy(&attr);
  }

  // After AfterOwnerDied, call recovered() once the data is consistent again, then unlock().
  [[nodiscard]] Locked lock() {
    const int rc = pthread_mutex_lock(&mutex_);
    if (rc == 0) return Locked::Yes;
    return rc == EOWNERDEAD ? Locked::AfterOwnerDied : Locked::No;
  }
  void recovered() { pthread_mutex_consistent(&mutex_); }
  void unlock() { pthread_mutex_unlock(&mutex_); }

 private:
  pthread_mutex_t mutex_;
};

}  // namespace vgpud

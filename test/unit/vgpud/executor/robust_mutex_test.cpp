// The module cache's lock (robust_mutex.h) is shared by a tenant's worker processes: one that
// dies holding it must not leave the others waiting forever.
#include "vgpud/executor/robust_mutex.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

using vgpud::RobustMutex;

TEST_CASE("a process that dies holding the lock hands it on, marked", "[executor][module_cache]") {
  void* shared =
      mmap(nullptr, sizeof(RobustMutex), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  REQUIRE(shared != MAP_FAILED);
  auto* mutex = new (shared) RobustMutex;
  mutex->init();

  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Locks and dies without unlocking, as a killed worker would.
    _exit(mutex->lock() == RobustMutex::Locked::Yes ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);

  CHECK(mutex->lock() == RobustMutex::Locked::AfterOwnerDied);
  mutex->recovered();
  mutex->unlock();
  CHECK(mutex->lock() == RobustMutex::Locked::Yes);  // recovered: an ordinary lock again
  mutex->unlock();
  munmap(shared, sizeof(RobustMutex));
}

// Where a channel's executor takes its requests from. The executor depends on this and not on
// the mediator (which implements it), so the part that checks guest messages and the part that
// runs them stay apart in the code, while one thread does both: a request goes from the guest's
// ring to the driver with no hand-off between threads (docs/design.md §6).
#pragma once
#include <string>

#include "vgpud/request/request.h"

namespace vgpud {

class RequestSource {
 public:
  virtual ~RequestSource() = default;

  // The guest's next request, parsed and checked; waits (spins, then sleeps) until there is
  // one. False once the channel ends: the guest went away, broke its ring, or end() was called.
  // Only the executor's thread calls it.
  [[nodiscard]] virtual bool next(Request* out) = 0;

  // Any thread: no more requests. A next() that sleeps wakes and returns false, and so does
  // every later one. The first reason given is the channel's exit reason.
  virtual void end(const std::string& reason) = 0;
};

}  // namespace vgpud

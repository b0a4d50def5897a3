// Validated requests: what parse_request() turns message bytes into. Handlers in the executor
// only ever see these types, never guest memory. The per-call command types (MemAllocCmd, ...)
// are declared with their calls in protocol/calls.yaml and generated into commands.gen.h (in the
// build tree); field meanings are in the YAML and the generated payloads.gen.h.
#pragma once
#include <cstdint>

#include "vgpu/protocol/calls.h"
#include "vgpud/request/commands.gen.h"

#include "vgpud/protocol_alias.h"

namespace vgpud {

// A message whose header parsed but whose body did not: answered with `status`.
struct RejectedCmd { int32_t status; };

// One validated command per call (HelloCmd ... EventElapsedTimeCmd, generated from calls.yaml),
// or the rejection.
using Command = CallCommand<RejectedCmd>;

struct Request {
  proto::CallId call;  // may be an unknown value when command is RejectedCmd
  uint16_t flags;
  uint64_t seq;
  Command command;

  bool needs_reply() const;
  bool synchronize() const;
};

}  // namespace vgpud

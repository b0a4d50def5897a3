// A listening UNIX socket with a given group and mode, created atomically: it is bound under a
// temporary name and renamed into place once it listens with its final owner and mode, so a
// client never finds a socket that refuses it or that it should not reach.
#pragma once
#include <string>

#include "vgpu/result.h"
#include "vgpud/transport/unique_fd.h"

namespace vgpud {

struct ListenSocketOptions {
  std::string path;
  std::string group;  // empty: keep the process's group
  unsigned mode = 0660;
  std::string owner_hint;  // "remove 'group' from <owner_hint>" in the missing-group error
};

// Non-blocking and close-on-exec. Replaces a stale socket file at `path`.
[[nodiscard]] vgpu::Result<UniqueFd, std::string> listen_unix_socket(const ListenSocketOptions& options);

}  // namespace vgpud

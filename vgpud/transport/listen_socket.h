// A listening UNIX socket with a given group and mode, created atomically: it is bound under a
// temporary name and renamed into place once it listens with its final owner and mode, so a
// client never finds a socket that refuses it or that it should not reach.
//
// One vgpud per socket: before touching the path, the daemon takes an exclusive flock on
// `<path>.lock` and holds it for the socket's life. A second vgpud with the same configuration
// fails on that lock instead of renaming its socket over the first one's (which would leave
// the first serving nobody). A socket left by a vgpud that crashed has no lock held and is
// replaced. Lock files stay in place: removing one could let two daemons lock two different
// files of the same name.
#pragma once
#include <sys/types.h>

#include <string>

#include "vgpu/common/result.h"
#include "vgpud/transport/unique_fd.h"

namespace vgpud {

struct ListenSocketOptions {
  std::string path;
  std::string group;  // empty: keep the process's group
  unsigned mode = 0660;
  std::string owner_hint;  // "remove 'group' from <owner_hint>" in the missing-group error
};

// The socket file this process created, with its lock. Destroying it closes the socket and
// removes the file, but only while the path still names the socket bound here: a file someone
// else put there since is left alone.
class ListeningSocket {
 public:
  ListeningSocket() = default;
  ListeningSocket(UniqueFd fd, UniqueFd lock, std::string path, dev_t dev, ino_t ino)
      : fd_(std::move(fd)), lock_(std::move(lock)), path_(std::move(path)), dev_(dev), ino_(ino) {}
  ListeningSocket(ListeningSocket&& o) noexcept { *this = std::move(o); }
  ListeningSocket& operator=(ListeningSocket&& o) noexcept;
  ~ListeningSocket() { reset(); }

  int fd() const { return fd_.get(); }
  bool valid() const { return fd_.valid(); }
  const std::string& path() const { return path_; }
  void reset();

 private:
  UniqueFd fd_;
  UniqueFd lock_;  // released after the file is removed, so no second vgpud can race it
  std::string path_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

// Non-blocking and close-on-exec. Replaces a stale socket file at `path`; fails with one
// sentence naming the socket (and the other vgpud's pid when known) while another process
// holds its lock.
[[nodiscard]] vgpu::Result<ListeningSocket, std::string> listen_unix_socket(
    const ListenSocketOptions& options);

}  // namespace vgpud

// How a virtual memory allocation's file descriptor travels from the worker that exported it to
// a worker of the same tenant that imports it (docs/design.md §25). The driver's descriptor
// (cuMemExportToShareableHandle, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR) is a file of the
// exporting worker's process; what its guest holds is only a token (ipc_table.h). The importing
// worker asks the exporting one for the descriptor over an abstract UNIX socket that the
// exporter listens on, named from the tenant's nonce and its worker slot, and receives it with
// SCM_RIGHTS.
//
// Anyone on the host can connect to an abstract socket (and read its name in /proc/net/unix),
// so both ends check the other by the kernel's word (SO_PEERCRED): the exporter answers only a
// live worker of its tenant (a pid the daemon wrote into the tenant's table), asking for a token
// it exported itself; the importer accepts only the worker that published the token, so a
// process that took the socket's name first cannot hand it a descriptor of its choosing.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "vgpud/executor/ipc_table.h"
#include "vgpud/transport/unique_fd.h"

namespace vgpud {

class IpcFdServer {
 public:
  // Listens at the name of (table.nonce(), slot) and serves on a thread of its own; nullptr,
  // with the reason in `why`, when it cannot.
  static std::unique_ptr<IpcFdServer> start(const IpcTable& table, uint32_t slot, std::string* why);
  ~IpcFdServer();  // stops serving and closes every descriptor it holds
  IpcFdServer(const IpcFdServer&) = delete;
  IpcFdServer& operator=(const IpcFdServer&) = delete;

  // Serves `fd` under `token` from now on, until withdraw().
  void offer(const IpcToken& token, UniqueFd fd);
  void withdraw(const IpcToken& token);
  // A copy of the descriptor offered under `token` (the exporting worker importing its own), or -1.
  int duplicate(const IpcToken& token) const;

 private:
  IpcFdServer(const IpcTable& table, UniqueFd listening, UniqueFd stop);
  void serve();
  void answer(int connection);

  const IpcTable& table_;
  UniqueFd listening_;
  UniqueFd stop_;  // an eventfd: written to end serve()
  mutable std::mutex mutex_;
  std::map<std::pair<uint64_t, uint64_t>, UniqueFd> fds_;  // by token
  std::thread thread_;  // last: it uses the members above
};

// The importing worker (in `my_slot`): the descriptor the worker in `exporter_slot` offers under
// `token`. -1, with the reason in `why`, when it cannot be had within a second or two.
int fetch_ipc_fd(const IpcTable& table, uint32_t exporter_slot, uint32_t my_slot, const IpcToken& token,
                 std::string* why);

// The socket's abstract name (without the leading NUL), for the tests.
std::string ipc_socket_name(uint64_t nonce, uint32_t slot);

}  // namespace vgpud

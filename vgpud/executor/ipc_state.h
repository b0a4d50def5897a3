// What one channel shares with the tenant's other processes, and what it opened of theirs
// (docs/design.md §25; the handlers are in executor_ipc.cpp). The tenant-wide table
// (ipc_table.h) says what is published under which token; this says which of the channel's
// objects those are, so that freeing one withdraws its publication, and which opens the channel
// holds, so that its end gives them back.
#pragma once
#include <cstdint>
#include <map>
#include <memory>

#include "vgpud/executor/ipc_fd_server.h"
#include "vgpud/executor/ipc_table.h"

namespace vgpud {

struct IpcChannelState {
  struct Published {
    IpcToken token;
    uint64_t size = 0;
    uint32_t device = 0;
  };
  // Published by this channel, by its own object: an allocation's base, an event's id, a
  // physical allocation's id (its descriptor is in fd_server).
  std::map<uint64_t, Published> memory;
  std::map<uint32_t, IpcToken> events;
  std::map<uint64_t, IpcToken> physicals;

  // Opened here: IPC_OPEN_MEM_HANDLE's address (the driver answers the same one for each open of
  // one allocation in a context; each open is closed once).
  struct Opened {
    IpcToken token;
    uint64_t size = 0;
    uint32_t device = 0;  // the context it was opened in
    uint32_t count = 0;
    // The driver answered memory the channel already has (its own allocation, should a driver
    // open a process's own handle): it stays as it was in the memory map.
    bool own = false;
  };
  std::map<uint64_t, Opened> opened;
  // Physical allocations imported here (MEM_IMPORT_SHAREABLE), by the channel's id.
  std::map<uint64_t, IpcToken> imported;

  // Started at the channel's first export of a physical allocation.
  std::unique_ptr<IpcFdServer> fd_server;
  bool fd_server_failed = false;  // said once
};

}  // namespace vgpud

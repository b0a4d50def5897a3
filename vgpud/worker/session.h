// One guest process's channel inside its channel worker: its region and descriptors, its mediator
// (the input) and its executor, whose thread runs both. Destroying a Session releases everything the process held.
#pragma once
#include <atomic>
#include <memory>
#include <string>

#include "vgpud/executor/channel_executor.h"
#include "vgpud/mediator/mediator.h"
#include "vgpud/transport/local_endpoint.h"

namespace vgpud {

class Session {
 public:
  // on_exit runs on the executor's thread when the channel ends (guest gone, ring corrupted,
  // channel failed); the owner then destroys the Session from its own thread.
  Session(AcceptedChannel channel, ExecutorSetup executor_setup, std::chrono::microseconds spin,
          std::function<void()> on_exit);
  ~Session();

  void start();
  // The guest is gone or its channel ended: what it sent is dropped rather than run, and the
  // executor stops waiting on the guest. Destroying the Session then ends the channel.
  void abandon() { executor_->abandon(); }
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  const std::string& name() const { return name_; }
  std::string exit_reason() const { return mediator_->exit_reason(); }

 private:
  std::string name_;
  AcceptedChannel channel_;
  std::unique_ptr<ChannelExecutor> executor_;
  std::unique_ptr<ChannelMediator> mediator_;
  std::atomic<bool> finished_{false};
};

}  // namespace vgpud

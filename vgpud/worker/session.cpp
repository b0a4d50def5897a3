#include "vgpud/worker/session.h"

namespace vgpud {

Session::Session(AcceptedChannel channel, ExecutorSetup executor_setup,
                 std::chrono::microseconds spin, std::function<void()> on_exit)
    : name_(executor_setup.name), channel_(std::move(channel)) {
  ChannelRegion& region = *channel_.region;
  executor_setup.region = region.base();
  executor_setup.region_size = region.size();
  executor_setup.geometry = region.geometry();
  executor_setup.notify_fd = channel_.notify.get();
  HopCounters* counters = executor_setup.counters;
  executor_ = std::make_unique<ChannelExecutor>(std::move(executor_setup));

  MediatorSetup m;
  m.name = name_;
  m.header = region.header();
  m.submit_data = region.base() + region.geometry().submit.offset;
  m.submit_size = region.geometry().submit.size;
  m.doorbell_fd = channel_.doorbell.get();
  m.peer_fd = channel_.socket.get();
  m.counters = counters;
  m.spin = spin;
  m.on_exit = [this, on_exit = std::move(on_exit)] {
    finished_.store(true, std::memory_order_release);
    if (on_exit) on_exit();
  };
  mediator_ = std::make_unique<ChannelMediator>(std::move(m));
}

Session::~Session() {
  // Order matters: stop taking messages, let the executor finish the call it runs and destroy
  // the channel's contexts, and only then unmap the region the GPU may still be reading. The
  // mediator, which the executor's thread reads through, outlives that thread.
  executor_->drain_and_stop();
  executor_.reset();
  mediator_.reset();
}

void Session::start() { executor_->start(*mediator_); }

}  // namespace vgpud

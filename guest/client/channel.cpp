#include "guest/client/channel.h"

#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <tuple>

#include "guest/client/log.h"
#include "vgpu/common/corpus_recorder.h"
#include "vgpu/common/sha256.h"
#include "vgpu/protocol/limits.h"

namespace vgpu::guest {

using proto::CallId;

namespace {

thread_local uint32_t t_device = 0;

std::chrono::microseconds env_micros(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return std::chrono::microseconds(v != nullptr ? std::max(0, std::atoi(v)) : fallback);
}

// How a thread waits for a reply: it spins (VGPU_SPIN_US), then keeps looking but yields the
// CPU between looks (until VGPU_POLL_US), then sleeps until vgpud rings. Spinning keeps the
// round trip near the cost of a cache-line transfer; waking from a sleep costs tens of
// microseconds in a VM, so a call the driver takes a while over (a large cudaMalloc, a
// synchronize) is still polled for, as CUDA's own runtime does; sleeping keeps a process that
// waits on long GPU work off the CPU.
std::chrono::microseconds spin_budget() {
  static const std::chrono::microseconds budget = env_micros("VGPU_SPIN_US", 50);
  return budget;
}
std::chrono::microseconds poll_budget() {
  static const std::chrono::microseconds budget = env_micros("VGPU_POLL_US", 2000);
  return budget;
}

constexpr int32_t kBroken = static_cast<int32_t>(proto::Status::ChannelBroken);
constexpr int32_t kMalformed = static_cast<int32_t>(proto::Status::MalformedMessage);

// Staged copies move in chunks of a quarter of the ring, so the guest fills one chunk while
// vgpud copies the previous one.
uint64_t chunk_size(uint64_t capacity) { return capacity / 4; }

// The geometry vgpud wrote, as fuzz_channel_geometry takes it: the struct, then the region size.
void record_geometry([[maybe_unused]] const proto::ChannelGeometry& g,
                     [[maybe_unused]] uint64_t region_size) {
#ifdef VGPU_CORPUS_RECORDER
  uint8_t bytes[sizeof g + sizeof region_size];
  std::memcpy(bytes, &g, sizeof g);
  std::memcpy(bytes + sizeof g, &region_size, sizeof region_size);
  vgpu::corpus::record("channel_geometry", bytes);
#endif
}

}  // namespace

void Channel::set_thread_device(uint32_t device) { t_device = device; }
uint32_t Channel::thread_device() { return t_device; }

Channel::Channel(std::unique_ptr<Transport> transport) : transport_(std::move(transport)) {}

Channel::~Channel() {
  if (heap_placed_) munmap(heap_base_, heap_size_);
}

Result<std::unique_ptr<Channel>, ConnectFailure> Channel::open() {
  auto transport = connect_transport();
  if (!transport) return Err{transport.error()};
  std::unique_ptr<Channel> channel(new Channel(std::move(transport).value()));
  ConnectFailure failure{};
  if (!channel->attach(&failure)) return Err{failure};

  proto::HelloRequest hello{};
  hello.protocol_version = proto::kProtocolVersion;
  hello.pid = static_cast<uint32_t>(getpid());
  if (const char* name = program_invocation_short_name; name != nullptr)
    std::strncpy(hello.process_name, name, sizeof hello.process_name - 1);
  const CallResult r = channel->call(CallId::Hello, {{&hello, sizeof hello}},
                                     {reinterpret_cast<uint8_t*>(&channel->hello_),
                                      sizeof channel->hello_});
  if (r.status != 0 || r.payload_size != sizeof(proto::HelloReply))
    return Err{ConnectFailure{ConnectError::Refused,
                              "vgpud did not accept this process (status " +
                                  std::to_string(r.status) + ")"}};
  log(LogLevel::Info, "connected to vgpud over %s: %u device(s)", channel->describe().c_str(),
      channel->hello_.device_count);
  channel->place_heap(channel->hello_.heap_address);
  return channel;
}

// vgpud maps the shared heap at `address` and registered it with the GPU there, so under
// unified addressing that is also the heap's device address. Mapping this process's view of
// the heap at the same address gives page-locked memory one address on the CPU and the GPU, as
// natively, where programs hand page-locked host pointers straight to kernels (XLA's timer
// semaphore). Done before anything is allocated from the heap. Where the address is taken
// here, or the transport has no file to map the heap from, the heap stays in the region:
// copies and memsets still translate its addresses (guest/cuda/host_memory.cpp), kernels
// cannot.
void Channel::place_heap(uint64_t address) {
  if (address == 0 || heap_file_.fd < 0 || heap_size_ == 0 || address == reinterpret_cast<uintptr_t>(heap_base_))
    return;
  const auto page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const auto old_base = reinterpret_cast<uintptr_t>(heap_base_);
  void* want = reinterpret_cast<void*>(static_cast<uintptr_t>(address));
  void* got = MAP_FAILED;
  if (address % page == 0 && old_base % page == 0 && heap_file_.offset % page == 0 &&
      address <= UINTPTR_MAX - heap_size_)
    got = mmap(want, heap_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE, heap_file_.fd,
               static_cast<off_t>(heap_file_.offset));
  if (got != want) {
    // Before Linux 4.17, MAP_FIXED_NOREPLACE is a hint: the mapping may land elsewhere.
    if (got != MAP_FAILED) munmap(got, heap_size_);
    log(LogLevel::Info,
        "page-locked memory has its own device address: the shared heap cannot be mapped at %p here", want);
    return;
  }
  // The region's view of the heap goes, so that each heap byte has one address in this process.
  munmap(heap_base_, heap_size_);
  heap_base_ = static_cast<uint8_t*>(got);
  heap_placed_ = true;
  log(LogLevel::Debug, "the shared heap is at %p, its device address too", got);
}

bool Channel::attach(ConnectFailure* failure) {
  const std::span<uint8_t> region = transport_->region();
  if (region.size() < proto::kChannelHeaderArea) {
    *failure = {ConnectError::BadRegion, "the channel region from vgpud is too small"};
    return false;
  }
  header_ = reinterpret_cast<proto::ChannelHeader*>(region.data());
  if (header_->magic != proto::kChannelMagic || header_->header_size != sizeof(proto::ChannelHeader)) {
    *failure = {ConnectError::BadRegion, "the channel region from vgpud has no vgpu header"};
    return false;
  }
  if (header_->protocol_version != proto::kProtocolVersion) {
    *failure = {ConnectError::Refused,
                "vgpud speaks protocol version " + std::to_string(header_->protocol_version) +
                    ", this guest library speaks " + std::to_string(proto::kProtocolVersion) +
                    ": install matching host and guest packages"};
    return false;
  }
  // Geometry is read once, checked, and used from this private copy from now on.
  const proto::ChannelGeometry g = header_->geometry;
  record_geometry(g, region.size());
  if (auto st = proto::validate_geometry(g, region.size()); !st) {
    *failure = {ConnectError::BadRegion,
                std::string("bad channel region: ") + proto::geometry_error_message(st.error())};
    return false;
  }
  uint8_t* base = region.data();
  submit_ = proto::RingProducer(&header_->submit, base + g.submit.offset, g.submit.size);
  reply_ = proto::RingConsumer(&header_->reply, base + g.reply.offset, g.reply.size);
  upload_ = proto::RingProducer(&header_->upload, base + g.upload.offset, g.upload.size);
  download_ = proto::RingConsumer(&header_->download, base + g.download.offset, g.download.size);
  heap_base_ = base + g.heap.offset;
  heap_size_ = g.heap.size;
  if (const BackingFile file = transport_->backing_file(); file.fd >= 0)
    heap_file_ = {file.fd, file.offset + g.heap.offset};
  return true;
}

void Channel::mark_broken_locked(const char* why) {
  if (!broken_) log(LogLevel::Error, "channel to vgpud lost: %s", why);
  broken_ = true;
}

bool Channel::wait_for_space_locked(proto::RingProducer& ring, uint64_t bytes) {
  // vgpud frees space as it works; it does not signal it, so back off gently.
  for (int round = 0;; ++round) {
    if (broken_) return false;
    auto room = ring.has_room(bytes);
    if (!room) {
      mark_broken_locked("a ring index of the channel is corrupt (the shared region was overwritten)");
      return false;
    }
    if (*room) return true;
    if (header_->host_closed.load(std::memory_order_acquire) != 0) {
      mark_broken_locked("vgpud closed the channel");
      return false;
    }
    if (round < 64)
      sched_yield();
    else if (!transport_->wait_for_host(1)) {
      mark_broken_locked("vgpud is gone");
      return false;
    }
  }
}

uint64_t Channel::send_locked(CallId id, std::initializer_list<Part> parts, uint16_t flags) {
  if (broken_) return 0;
  if (t_device != device_sent_) {
    const proto::SetDeviceRequest set{t_device, 0};
    device_sent_ = t_device;
    if (send_locked(CallId::SetDevice, {{&set, sizeof set}}, 0) == 0) return 0;
  }
  uint64_t size = sizeof(proto::RequestHeader);
  for (const Part& p : parts) size += p.size;
  if (size > limits::kMaxMessageSize) return 0;
  const uint32_t padded = proto::padded_size(static_cast<uint32_t>(size));
  if (!wait_for_space_locked(submit_, padded)) return 0;

  const uint64_t seq = next_seq_++;
  const proto::RequestHeader header{static_cast<uint32_t>(size), static_cast<uint16_t>(id), flags,
                                    seq};
  submit_.write(&header, sizeof header);
  for (const Part& p : parts) submit_.write(p.data, p.size);
  static constexpr uint8_t kZeros[proto::kMessageAlignment] = {};
  submit_.write(kZeros, padded - size);
  submit_.publish();
  if (submit_.consumer_waiting()) transport_->notify_host();

  if (log_enabled(LogLevel::Debug))
    // HELLO is sent while the first API call connects: label it as itself, not as that call.
    log(LogLevel::Debug, "%s → call_id=0x%04x seq=%llu%s",
        id == CallId::Hello ? "HELLO (connecting)" : current_api_trace(),
        static_cast<unsigned>(id), static_cast<unsigned long long>(seq),
        (flags & proto::kFlagNeedsReply) ? "" : " (posted)");
  return seq;
}

void Channel::note_async_locked(int32_t status) {
  int32_t none = 0;
  if (status != 0) async_error_.compare_exchange_strong(none, status, std::memory_order_relaxed);
}

// What kernels printed (proto::kDeviceOutputRecord), into this process's stdout as a local
// driver writes it: through stdio, so that it lands in order with the program's own printf.
void Channel::print_device_output_locked(uint32_t length) {
  uint8_t text[proto::kMaxDeviceOutputRecord];
  reply_.read(text, length, sizeof(proto::ReplyHeader));
  std::fwrite(text, 1, length, stdout);
}

CallResult Channel::wait_reply_locked(uint64_t seq, CallId id, std::span<uint8_t> reply) {
  const auto start = std::chrono::steady_clock::now();
  const auto spin_until = start + spin_budget();
  const auto poll_until = start + std::max(spin_budget(), poll_budget());
  for (;;) {
    auto ready = reply_.available();
    if (!ready) {
      mark_broken_locked("vgpud corrupted the reply ring");
      return {kBroken, 0};
    }
    if (*ready >= sizeof(proto::ReplyHeader)) {
      proto::ReplyHeader h;
      reply_.read(&h, sizeof h);
      const uint32_t padded = proto::padded_size(h.size);
      if (h.call == proto::kDeviceOutputRecord && h.seq == 0 && h.size >= sizeof h &&
          h.size - sizeof h <= proto::kMaxDeviceOutputRecord && padded <= *ready) {
        print_device_output_locked(h.size - static_cast<uint32_t>(sizeof h));
        reply_.consume(padded);
        continue;
      }
      if (h.size < sizeof h || h.size > limits::kMaxMessageSize || padded > *ready ||
          h.seq != seq || h.call != static_cast<uint16_t>(id)) {
        mark_broken_locked("vgpud sent a reply that does not match the request");
        return {kBroken, 0};
      }
      const uint32_t payload = h.size - static_cast<uint32_t>(sizeof h);
      const uint32_t copied = std::min<uint32_t>(payload, static_cast<uint32_t>(reply.size()));
      reply_.read(reply.data(), copied, sizeof h);
      reply_.consume(padded);
      note_async_locked(h.async_status);
      return {h.status, copied};
    }
    if (header_->host_closed.load(std::memory_order_acquire) != 0) {
      mark_broken_locked("vgpud closed the channel");
      return {kBroken, 0};
    }
    const auto now = std::chrono::steady_clock::now();
    if (now < spin_until) continue;  // no pause here: see vgpu/common/cpu_relax.h
    if (now < poll_until) {
      sched_yield();
      continue;
    }
    // Tell vgpud we are about to sleep, then look once more before blocking.
    reply_.set_waiting(true);
    download_.set_waiting(true);
    auto again = reply_.available();
    if (again && *again == 0 && !transport_->wait_for_host(100)) {
      reply_.set_waiting(false);
      download_.set_waiting(false);
      mark_broken_locked("vgpud is gone");
      return {kBroken, 0};
    }
    reply_.set_waiting(false);
    download_.set_waiting(false);
  }
}

CallResult Channel::call(CallId id, std::initializer_list<Part> parts, std::span<uint8_t> reply,
                         uint16_t flags) {
  std::lock_guard lock(mutex_);
  const uint64_t seq = send_locked(id, parts, flags | proto::kFlagNeedsReply);
  if (seq == 0) return {broken_ ? kBroken : kMalformed, 0};
  return wait_reply_locked(seq, id, reply);
}

int32_t Channel::post(CallId id, std::initializer_list<Part> parts, uint16_t flags) {
  std::lock_guard lock(mutex_);
  const uint64_t seq = send_locked(id, parts, flags & ~proto::kFlagNeedsReply);
  if (seq == 0) return broken_ ? kBroken : kMalformed;
  return 0;
}

int32_t Channel::take_async_error() {
  // Every call of both shims asks; almost always there is nothing, and then no lock is taken.
  if (async_error_.load(std::memory_order_relaxed) == 0) return 0;
  return async_error_.exchange(0, std::memory_order_relaxed);
}

int32_t Channel::stage_upload_locked(const void* src, uint64_t size, uint64_t* staged) {
  const uint64_t n = std::min(size, chunk_size(upload_.capacity()));
  if (!wait_for_space_locked(upload_, n)) return kBroken;
  const proto::RingSegments space = upload_.reserve(n);
  const auto* from = static_cast<const uint8_t*>(src);
  copier_.copy(space.first.data(), from, space.first.size());
  if (!space.second.empty()) copier_.copy(space.second.data(), from + space.first.size(), space.second.size());
  upload_.advance(n);
  // The data is published before the message that refers to it.
  upload_.publish();
  *staged = n;
  return 0;
}

int32_t Channel::copy_to_device(uint64_t dst, const void* src, uint64_t size, uint64_t stream,
                                bool wait) {
  std::lock_guard lock(mutex_);
  const auto* bytes = static_cast<const uint8_t*>(src);
  uint64_t done = 0;
  do {
    uint64_t n = 0;
    if (int32_t st = stage_upload_locked(bytes + done, size - done, &n); st != 0) return st;
    const proto::MemcpyHtoDRequest req{dst + done, n, stream};
    done += n;
    const bool last = done == size;
    const uint16_t flags = (last && wait) ? proto::kFlagNeedsReply : 0;
    const uint64_t seq = send_locked(CallId::MemcpyHtoDStaged, {{&req, sizeof req}}, flags);
    if (seq == 0) return kBroken;
    if (last && wait) {
      const CallResult r = wait_reply_locked(seq, CallId::MemcpyHtoDStaged, {});
      if (r.status != 0) return r.status;
      // An earlier chunk of this copy may have failed: that is this copy's error.
      return async_error_.exchange(0, std::memory_order_relaxed);
    }
  } while (done < size);
  return 0;
}

int32_t Channel::copy_from_device(void* dst, uint64_t src, uint64_t size, uint64_t stream) {
  std::lock_guard lock(mutex_);
  const proto::MemcpyDtoHRequest req{src, size, stream};
  const uint64_t seq =
      send_locked(CallId::MemcpyDtoHStaged, {{&req, sizeof req}}, proto::kFlagNeedsReply);
  if (seq == 0) return kBroken;

  auto* out = static_cast<uint8_t*>(dst);
  uint64_t received = 0;
  auto drain = [&](uint64_t limit) -> bool {
    auto ready = download_.available();
    if (!ready) {
      mark_broken_locked("vgpud corrupted the download ring");
      return false;
    }
    const uint64_t n = std::min(*ready, limit - received);
    if (n > 0) {
      const proto::RingSegments data = download_.peek(n);
      copier_.copy(out + received, data.first.data(), data.first.size());
      if (!data.second.empty())
        copier_.copy(out + received + data.first.size(), data.second.data(), data.second.size());
      download_.consume(n);
      received += n;
    }
    return true;
  };
  // Copy chunks out as vgpud publishes them; the reply comes after the last one.
  for (int idle_rounds = 0;; ++idle_rounds) {
    if (!drain(size)) return kBroken;
    auto replies = reply_.available();
    if (!replies) {
      mark_broken_locked("vgpud corrupted the reply ring");
      return kBroken;
    }
    if (*replies > 0 || received == size) break;
    if (header_->host_closed.load(std::memory_order_acquire) != 0) {
      mark_broken_locked("vgpud closed the channel");
      return kBroken;
    }
    if (idle_rounds < 1000) {
      sched_yield();
      continue;
    }
    // A long wait (the stream is still busy): sleep until vgpud publishes something.
    reply_.set_waiting(true);
    download_.set_waiting(true);
    auto again = download_.available();
    const bool alive = !again || *again > 0 || transport_->wait_for_host(100);
    reply_.set_waiting(false);
    download_.set_waiting(false);
    if (!alive) {
      mark_broken_locked("vgpud is gone");
      return kBroken;
    }
  }
  proto::MemcpyDtoHStagedReply staged{};
  const CallResult r = wait_reply_locked(
      seq, CallId::MemcpyDtoHStaged, {reinterpret_cast<uint8_t*>(&staged), sizeof staged});
  if (broken_) return kBroken;
  if (staged.bytes_published > size) {
    mark_broken_locked("vgpud published more data than asked for");
    return kBroken;
  }
  while (received < staged.bytes_published)
    if (!drain(staged.bytes_published)) return kBroken;
  return r.status;
}

int32_t Channel::load_module(const void* image, uint64_t size, uint32_t* module) {
  if (size > limits::kMaxModuleImage) return static_cast<int32_t>(proto::Status::LimitExceeded);
  const auto* bytes = static_cast<const uint8_t*>(image);
  // The tenant's module cache in vgpud may hold the image already (another process of the
  // tenant sent it): then only its digest travels. Hashed before taking the lock, which other
  // threads' calls need meanwhile; here, because every shim's module load comes this way.
  proto::ModuleLoadCachedRequest cached{};
  const Sha256Digest digest = Sha256::of({bytes, size});
  static_assert(sizeof cached.digest == std::tuple_size_v<Sha256Digest>);
  std::memcpy(cached.digest, digest.data(), digest.size());
  cached.size = size;
  std::lock_guard lock(mutex_);
  proto::ModuleLoadReply reply{};
  const std::span<uint8_t> reply_bytes{reinterpret_cast<uint8_t*>(&reply), sizeof reply};
  const uint64_t cached_seq =
      send_locked(CallId::ModuleLoadCached, {{&cached, sizeof cached}}, proto::kFlagNeedsReply);
  if (cached_seq == 0) return kBroken;
  const CallResult hit = wait_reply_locked(cached_seq, CallId::ModuleLoadCached, reply_bytes);
  // Any answer but a miss is the load's own outcome. (A vgpud older than the cache does not
  // know the call: that is a miss too.)
  if (hit.status == 0) *module = reply.module;
  if (hit.status != proto::kStatusNotCached && hit.status != static_cast<int32_t>(proto::Status::UnknownCall))
    return hit.status;

  if (int32_t st = send_blob_locked(bytes, size); st != 0) return st;
  const proto::ModuleLoadRequest req{size, 0};
  const uint64_t seq = send_locked(CallId::ModuleLoad, {{&req, sizeof req}}, proto::kFlagNeedsReply);
  if (seq == 0) return kBroken;
  const CallResult r = wait_reply_locked(seq, CallId::ModuleLoad, reply_bytes);
  if (r.status == 0) *module = reply.module;
  return r.status;
}

int32_t Channel::send_blob_locked(const uint8_t* bytes, uint64_t size) {
  for (uint64_t done = 0; done < size;) {
    uint64_t n = 0;
    if (int32_t st = stage_upload_locked(bytes + done, size - done, &n); st != 0) return st;
    const proto::BlobAppendRequest req{n};
    if (send_locked(CallId::BlobAppend, {{&req, sizeof req}}, 0) == 0) return kBroken;
    done += n;
  }
  return 0;
}

CallResult Channel::call_with_blob(CallId id, std::initializer_list<Part> parts, const void* blob, uint64_t blob_size,
                                   std::span<uint8_t> reply) {
  if (blob_size > limits::kMaxModuleImage) return {static_cast<int32_t>(proto::Status::LimitExceeded), 0};
  // One lock for the blob and the call: another thread's blob must not join this one.
  std::lock_guard lock(mutex_);
  if (int32_t st = send_blob_locked(static_cast<const uint8_t*>(blob), blob_size); st != 0) return {st, 0};
  const uint64_t seq = send_locked(id, parts, proto::kFlagNeedsReply);
  if (seq == 0) return {kBroken, 0};
  return wait_reply_locked(seq, id, reply);
}

}  // namespace vgpu::guest

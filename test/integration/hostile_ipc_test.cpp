// Sharing between processes (docs/design.md §25), from hostile guests: tokens made up, empty, of
// another kind or of another tenant; exporting what is not an allocation of the channel's (a
// wild address, memory it opened, another channel's object); closing what was not opened, and
// twice; copies past opened memory; the channel's own memory closed as opened; a stranger on a
// worker's descriptor socket. vgpud refuses each before the driver sees it and keeps serving.
// And the tenant's device memory: published memory counts until its exporter and every importer
// let go, whether they end, are killed or free it.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <fstream>
#include <sstream>

#include "test/integration/hostile_calls.h"

using namespace vgpu;
using namespace vgpu::test;
using namespace vgpu::test::hostile;

namespace {

constexpr uint32_t kInterprocess = 0x4 | 0x2;  // CU_EVENT_INTERPROCESS | CU_EVENT_DISABLE_TIMING
constexpr uint64_t kMiB = 1ull << 20;

proto::IpcHandleToken export_memory(RawChannel& ch, uint64_t ptr, uint64_t& seq) {
  const RawReply r = call(ch, CallId::IpcGetMemHandle, proto::IpcGetMemHandleRequest{ptr}, seq);
  REQUIRE(r.header.status == 0);
  REQUIRE(r.payload.size() == sizeof(proto::IpcHandleToken));
  proto::IpcHandleToken t;
  std::memcpy(&t, r.payload.data(), sizeof t);
  return t;
}

proto::IpcOpenMemHandleReply open_memory(RawChannel& ch, const proto::IpcHandleToken& t, uint64_t& seq) {
  const RawReply r = call(ch, CallId::IpcOpenMemHandle, proto::IpcOpenMemHandleRequest{t.token_lo, t.token_hi, 1, 0}, seq);
  REQUIRE(r.header.status == 0);
  proto::IpcOpenMemHandleReply o;
  std::memcpy(&o, r.payload.data(), sizeof o);
  return o;
}

proto::IpcOpenMemHandleRequest open_request(const proto::IpcHandleToken& t, uint32_t flags = 0) {
  return {t.token_lo, t.token_hi, flags, 0};
}

uint32_t event(RawChannel& ch, uint32_t flags, uint64_t& seq) {
  const RawReply r = call(ch, CallId::EventCreate, proto::EventCreateRequest{flags, 0}, seq);
  REQUIRE(r.header.status == 0);
  proto::EventCreateReply e;
  std::memcpy(&e, r.payload.data(), sizeof e);
  return e.event;
}

// The pid of the channel worker that the latest "connected" line of the log names.
pid_t last_worker(const VgpudProcess& vgpud) {
  const std::string log = vgpud.read_log();
  const std::string marker = "(channel worker pid ";
  const size_t at = log.rfind(marker);
  REQUIRE(at != std::string::npos);
  return static_cast<pid_t>(std::stol(log.substr(at + marker.size())));
}

size_t connected_lines(const VgpudProcess& vgpud) {
  const std::string log = vgpud.read_log();
  size_t n = 0;
  for (size_t at = log.find("(channel worker pid "); at != std::string::npos; at = log.find("(channel worker pid ", at + 1))
    ++n;
  return n;
}

// Every abstract socket of a vgpud worker's descriptor server on this host ("@vgpud-ipc-...").
std::vector<std::string> ipc_sockets() {
  std::ifstream unix_sockets("/proc/net/unix");
  std::vector<std::string> names;
  std::string line;
  while (std::getline(unix_sockets, line)) {
    const size_t at = line.find("@vgpud-ipc-");
    if (at != std::string::npos) names.push_back(line.substr(at + 1));
  }
  return names;
}

}  // namespace

TEST_CASE("legacy IPC: tokens are the tenant's, opens the channel's", "[hostile][ipc]") {
  VgpudProcess vgpud(std::vector<TenantSpec>{{"alpha", ""}, {"beta", ""}});
  RawChannel a(vgpud.socket("alpha")), b(vgpud.socket("alpha")), other(vgpud.socket("beta"));
  // Sequence numbers apart, so that the log's "seq=N" lines of one channel are not another's.
  uint64_t seq = 1, b_seq = 10001, other_seq = 20001;
  RefusedByVgpud refused, b_refused;
  const uint64_t ptr = alloc(a, kMiB, seq);
  const proto::IpcHandleToken token = export_memory(a, ptr, seq);
  const proto::IpcHandleToken inside = export_memory(a, ptr + 4096, seq);
  CHECK((inside.token_lo == token.token_lo && inside.token_hi == token.token_hi));
  // Nothing of the channel's: addresses of no allocation.
  for (uint64_t wild : {uint64_t{0}, uint64_t{0x1000}, ~uint64_t{0}, ptr + kMiB + (64 << 20)})
    refused.expect(a, CallId::IpcGetMemHandle, proto::IpcGetMemHandleRequest{wild}, seq, kInvalidValue);

  // Tokens that name nothing: one bit off, empty; the memory's token as an event's or a
  // shareable handle's; flags past the one there is (malformed).
  b_refused.expect(b, CallId::IpcOpenMemHandle, open_request({token.token_lo ^ 1, token.token_hi}), b_seq, kInvalidValue);
  b_refused.expect(b, CallId::IpcOpenMemHandle, open_request({0, 0}), b_seq, kInvalidValue);
  b_refused.expect(b, CallId::IpcOpenEventHandle, token, b_seq, kInvalidValue);
  b_refused.expect(b, CallId::MemImportShareable, token, b_seq, kInvalidValue);
  REQUIRE(call(b, CallId::IpcOpenMemHandle, open_request(token, 2), b_seq).header.status == kMalformed);
  // Another tenant's process: its table has no such token.
  REQUIRE(call(other, CallId::IpcOpenMemHandle, open_request(token), other_seq).header.status == kInvalidValue);

  // Opened twice: one address, the allocation's size; a copy target of b's, to its end only.
  const proto::IpcOpenMemHandleReply opened = open_memory(b, token, b_seq);
  CHECK(opened.size == kMiB);
  CHECK(open_memory(b, token, b_seq).device_ptr == opened.device_ptr);
  const std::string bytes = "shared between two processes";
  REQUIRE(call(b, CallId::MemcpyHtoDInline,
               proto::MemcpyHtoDRequest{opened.device_ptr + 64, static_cast<uint64_t>(bytes.size()), 0}, b_seq, bytes)
              .header.status == 0);
  const std::vector<uint8_t> seen = read_back(a, ptr + 64, bytes.size(), seq);
  CHECK(std::string(seen.begin(), seen.end()) == bytes);
  CHECK(call(b, CallId::MemcpyDtoHInline, proto::MemcpyDtoHRequest{opened.device_ptr + kMiB - 8, 16, 0}, b_seq)
            .header.status == kInvalidValue);
  // Not b's to free, to export again, or to close at another address; a never opened its own.
  b_refused.expect(b, CallId::MemFree, proto::MemFreeRequest{opened.device_ptr}, b_seq, kInvalidValue);
  b_refused.expect(b, CallId::IpcGetMemHandle, proto::IpcGetMemHandleRequest{opened.device_ptr}, b_seq, kInvalidValue);
  b_refused.expect(b, CallId::IpcCloseMemHandle, proto::IpcCloseMemHandleRequest{opened.device_ptr + 8}, b_seq,
                   kInvalidValue);
  refused.expect(a, CallId::IpcCloseMemHandle, proto::IpcCloseMemHandleRequest{ptr}, seq, kInvalidValue);
  REQUIRE(call(other, CallId::IpcCloseMemHandle, proto::IpcCloseMemHandleRequest{opened.device_ptr}, other_seq)
              .header.status == kInvalidValue);
  // Closed as often as opened; a third close names nothing, and the memory is no longer b's.
  REQUIRE(call(b, CallId::IpcCloseMemHandle, proto::IpcCloseMemHandleRequest{opened.device_ptr}, b_seq).header.status == 0);
  REQUIRE(call(b, CallId::IpcCloseMemHandle, proto::IpcCloseMemHandleRequest{opened.device_ptr}, b_seq).header.status == 0);
  b_refused.expect(b, CallId::IpcCloseMemHandle, proto::IpcCloseMemHandleRequest{opened.device_ptr}, b_seq, kInvalidValue);
  CHECK(call(b, CallId::MemcpyDtoHInline, proto::MemcpyDtoHRequest{opened.device_ptr, 8, 0}, b_seq).header.status ==
        kInvalidValue);
  // Freed by its exporter: the token opens nothing any more.
  REQUIRE(call(a, CallId::MemFree, proto::MemFreeRequest{ptr}, seq).header.status == 0);
  b_refused.expect(b, CallId::IpcOpenMemHandle, open_request(token), b_seq, kInvalidValue);

  // Events: only the channel's own; another process opens one as an event of its own.
  const uint32_t e = event(a, kInterprocess, seq);
  const RawReply got = call(a, CallId::IpcGetEventHandle, proto::EventRequest{e, 0}, seq);
  REQUIRE(got.header.status == 0);
  proto::IpcHandleToken event_token;
  std::memcpy(&event_token, got.payload.data(), sizeof event_token);
  b_refused.expect(b, CallId::IpcGetEventHandle, proto::EventRequest{e, 0}, b_seq, kInvalidHandle);
  b_refused.expect(b, CallId::IpcOpenMemHandle, open_request(event_token), b_seq, kInvalidValue);
  const RawReply opened_event = call(b, CallId::IpcOpenEventHandle, event_token, b_seq);
  REQUIRE(opened_event.header.status == 0);
  proto::IpcOpenEventHandleReply be;
  std::memcpy(&be, opened_event.payload.data(), sizeof be);
  REQUIRE(call(b, CallId::EventRecord, proto::EventRecordRequest{be.event, 0, 0}, b_seq).header.status == 0);
  REQUIRE(call(b, CallId::EventSynchronize, proto::EventRequest{be.event, 0}, b_seq).header.status == 0);
  REQUIRE(call(other, CallId::IpcOpenEventHandle, event_token, other_seq).header.status == kInvalidValue);
  // Destroyed by its exporter: no new opens; b's own event lives on.
  REQUIRE(call(a, CallId::EventDestroy, proto::EventRequest{e, 0}, seq).header.status == 0);
  b_refused.expect(b, CallId::IpcOpenEventHandle, event_token, b_seq, kInvalidValue);
  REQUIRE(call(b, CallId::EventDestroy, proto::EventRequest{be.event, 0}, b_seq).header.status == 0);

  const uint64_t last = seq, b_last = b_seq;
  (void)alloc(a, 4096, seq);
  (void)alloc(b, 4096, b_seq);
  refused.check_never_traced(vgpud, "cuIpc", last, "cuMemAlloc");
  b_refused.check_never_traced(vgpud, "cuIpc", b_last, "cuMemAlloc");
  expect_healthy(vgpud, "alpha");
  expect_healthy(vgpud, "beta");
}

TEST_CASE("shareable handles: tokens are the tenant's, descriptors only its workers'", "[hostile][ipc][vmm]") {
  VgpudProcess vgpud(std::vector<TenantSpec>{{"alpha", ""}, {"beta", ""}});
  RawChannel a(vgpud.socket("alpha")), b(vgpud.socket("alpha")), other(vgpud.socket("beta"));
  uint64_t seq = 1, b_seq = 10001, other_seq = 20001;
  RefusedByVgpud refused, b_refused;
  (void)alloc(b, 4096, b_seq);  // b's context first: what its refused calls trace is theirs alone
  const RawReply g = call(a, CallId::MemGetGranularity, proto::MemGetGranularityRequest{0, 0}, seq);
  REQUIRE(g.header.status == 0);
  proto::MemGetGranularityReply granularity;
  std::memcpy(&granularity, g.payload.data(), sizeof granularity);
  const uint64_t size = granularity.granularity;
  // Handle types past the one there is are malformed.
  REQUIRE(call(a, CallId::MemCreate, proto::MemCreateRequest{size, 0, 2}, seq).header.status == kMalformed);
  const RawReply created = call(a, CallId::MemCreate, proto::MemCreateRequest{size, 0, 1}, seq);
  REQUIRE(created.header.status == 0);
  proto::MemCreateReply h;
  std::memcpy(&h, created.payload.data(), sizeof h);
  // Handles the channel does not hold, and another channel's.
  for (uint64_t bad : {uint64_t{0}, h.handle + 1, ~uint64_t{0}})
    refused.expect(a, CallId::MemExportShareable, proto::MemHandleRequest{bad}, seq, kInvalidValue);
  b_refused.expect(b, CallId::MemExportShareable, proto::MemHandleRequest{h.handle}, b_seq, kInvalidValue);
  const RawReply exported = call(a, CallId::MemExportShareable, proto::MemHandleRequest{h.handle}, seq);
  REQUIRE(exported.header.status == 0);
  proto::IpcHandleToken token;
  std::memcpy(&token, exported.payload.data(), sizeof token);

  // Made up, of another kind, of another tenant.
  b_refused.expect(b, CallId::MemImportShareable, proto::IpcHandleToken{token.token_lo, ~token.token_hi}, b_seq,
                   kInvalidValue);
  b_refused.expect(b, CallId::IpcOpenMemHandle, open_request(token), b_seq, kInvalidValue);
  REQUIRE(call(other, CallId::MemImportShareable, token, other_seq).header.status == kInvalidValue);

  // A stranger (this test process) on the workers' descriptor sockets gets no descriptor, even
  // with the right token and a worker's slot.
  const std::vector<std::string> sockets = ipc_sockets();
  REQUIRE_FALSE(sockets.empty());
  for (const std::string& name : sockets) {
    for (uint32_t slot : {0u, 1u}) {
      const int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
      REQUIRE(s >= 0);
      sockaddr_un address{};
      address.sun_family = AF_UNIX;
      std::memcpy(address.sun_path + 1, name.data(), name.size());
      const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
      if (connect(s, reinterpret_cast<const sockaddr*>(&address), length) == 0) {
        struct {
          uint32_t magic, slot;
          uint64_t lo, hi;
        } request{0x56495046, slot, token.token_lo, token.token_hi};
        (void)send(s, &request, sizeof request, MSG_NOSIGNAL);
        char answer[8];
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
        iovec io{answer, sizeof answer};
        msghdr m{};
        m.msg_iov = &io;
        m.msg_iovlen = 1;
        m.msg_control = control;
        m.msg_controllen = sizeof control;
        timeval t{2, 0};
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t);
        const ssize_t n = recvmsg(s, &m, 0);
        INFO(name);
        CHECK(n <= 0);  // dropped unanswered
        CHECK_FALSE((n > 0 && m.msg_controllen > 0 && CMSG_FIRSTHDR(&m) != nullptr));
      }
      close(s);
    }
  }

  // A worker of the tenant gets it: b imports, maps and writes; a sees the bytes.
  const RawReply imported = call(b, CallId::MemImportShareable, token, b_seq);
  REQUIRE(imported.header.status == 0);
  proto::MemImportShareableReply ih;
  std::memcpy(&ih, imported.payload.data(), sizeof ih);
  CHECK(ih.size == size);
  CHECK(ih.device == 0);
  const auto map_all = [&](RawChannel& ch, uint64_t handle, uint64_t& s) {
    const RawReply r = call(ch, CallId::MemAddressReserve, proto::MemAddressReserveRequest{size, 0, 0}, s);
    REQUIRE(r.header.status == 0);
    proto::MemAddressReserveReply at;
    std::memcpy(&at, r.payload.data(), sizeof at);
    REQUIRE(call(ch, CallId::MemMap, proto::MemMapRequest{at.address, size, 0, handle}, s).header.status == 0);
    REQUIRE(call(ch, CallId::MemSetAccess, proto::MemSetAccessRequest{at.address, size, 1, 1, 1, 0}, s).header.status == 0);
    return at.address;
  };
  const uint64_t in_b = map_all(b, ih.handle, b_seq);
  const uint64_t in_a = map_all(a, h.handle, seq);
  const std::string bytes = "one allocation, two processes";
  REQUIRE(call(b, CallId::MemcpyHtoDInline, proto::MemcpyHtoDRequest{in_b + 128, static_cast<uint64_t>(bytes.size()), 0},
               b_seq, bytes)
              .header.status == 0);
  const std::vector<uint8_t> seen = read_back(a, in_a + 128, bytes.size(), seq);
  CHECK(std::string(seen.begin(), seen.end()) == bytes);
  // Released by both: the tenant's bytes come back.
  REQUIRE(call(a, CallId::MemRelease, proto::MemHandleRequest{h.handle}, seq).header.status == 0);
  REQUIRE(call(b, CallId::MemRelease, proto::MemHandleRequest{ih.handle}, b_seq).header.status == 0);
  REQUIRE(call(a, CallId::MemUnmap, proto::MemRangeRequest{in_a, size}, seq).header.status == 0);
  CHECK(vgpud.counter("alpha", "device_bytes") == static_cast<long>(size + 4096));  // b still maps it
  b_refused.expect(b, CallId::MemImportShareable, token, b_seq, kInvalidValue);  // a let go of it
  REQUIRE(call(b, CallId::MemUnmap, proto::MemRangeRequest{in_b, size}, b_seq).header.status == 0);
  CHECK(vgpud.counter("alpha", "device_bytes") == 4096);  // b's own allocation alone

  const uint64_t last = seq, b_last = b_seq;
  (void)alloc(a, 4096, seq);
  (void)alloc(b, 4096, b_seq);
  refused.check_never_traced(vgpud, "cuMemExport", last, "cuMemAlloc");
  b_refused.check_never_traced(vgpud, "cuMem", b_last, "cuMemAlloc");
  expect_healthy(vgpud, "alpha");
}

TEST_CASE("shared memory counts against the tenant until every process lets go", "[hostile][ipc][limits]") {
  VgpudProcess vgpud({TenantSpec{"alpha", "      device_memory: 16MiB\n"}});
  uint64_t seq = 1, b_seq = 10001;
  {
    // The exporter frees it while another process holds it open: still counted, and still
    // within the limit, until the importer closes it.
    RawChannel a(vgpud.socket("alpha")), b(vgpud.socket("alpha"));
    const uint64_t ptr = alloc(a, 12 * kMiB, seq);
    const proto::IpcOpenMemHandleReply opened = open_memory(b, export_memory(a, ptr, seq), b_seq);
    REQUIRE(call(a, CallId::MemFree, proto::MemFreeRequest{ptr}, seq).header.status == 0);
    CHECK(vgpud.counter("alpha", "device_bytes") == static_cast<long>(12 * kMiB));
    CHECK(call(a, CallId::MemAlloc, proto::MemAllocRequest{8 * kMiB}, seq).header.status == 2);  // OUT_OF_MEMORY
    REQUIRE(call(b, CallId::IpcCloseMemHandle, proto::IpcCloseMemHandleRequest{opened.device_ptr}, b_seq)
                .header.status == 0);
    CHECK(vgpud.counter("alpha", "device_bytes") == 0);
    // The importer ends instead: its channel's end closes what it opened.
    const uint64_t again = alloc(a, 4 * kMiB, seq);
    (void)open_memory(b, export_memory(a, again, seq), b_seq);
    REQUIRE(call(a, CallId::MemFree, proto::MemFreeRequest{again}, seq).header.status == 0);
  }
  REQUIRE(eventually([&] { return vgpud.counter("alpha", "device_bytes") == 0; }));

  // The exporter's worker is killed while another holds its memory: the daemon withdraws what
  // it published, and the bytes go when the importer closes.
  const size_t before = connected_lines(vgpud);
  RawChannel a(vgpud.socket("alpha"));
  REQUIRE(eventually([&] { return connected_lines(vgpud) == before + 1; }));
  const pid_t a_worker = last_worker(vgpud);
  RawChannel b(vgpud.socket("alpha"));
  const uint64_t ptr = alloc(a, 6 * kMiB, seq);
  const proto::IpcHandleToken token = export_memory(a, ptr, seq);
  const proto::IpcOpenMemHandleReply opened = open_memory(b, token, b_seq);
  REQUIRE(kill(a_worker, SIGKILL) == 0);
  REQUIRE(eventually([&] { return vgpud.read_log().find("its channel worker died") != std::string::npos; }));
  CHECK(vgpud.counter("alpha", "device_bytes") == static_cast<long>(6 * kMiB));
  CHECK(call(b, CallId::IpcOpenMemHandle, open_request(token), b_seq).header.status == kInvalidValue);
  CHECK(read_back(b, opened.device_ptr, 16, b_seq).size() == 16);  // b's mapping lives on
  REQUIRE(call(b, CallId::IpcCloseMemHandle, proto::IpcCloseMemHandleRequest{opened.device_ptr}, b_seq).header.status == 0);
  CHECK(vgpud.counter("alpha", "device_bytes") == 0);
  expect_healthy(vgpud, "alpha");
}

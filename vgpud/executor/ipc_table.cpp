#include "vgpud/executor/ipc_table.h"

#include <sys/random.h>
#include <unistd.h>

#include <cerrno>

namespace vgpud {

namespace {

// 128 random bits, never all zero (the empty token). getrandom of 16 bytes does not return
// short once the pool is initialized, which it is long before vgpud starts.
bool random_bytes(void* out, size_t n) {
  auto* p = static_cast<uint8_t*>(out);
  while (n > 0) {
    const ssize_t got = getrandom(p, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

bool charges(IpcKind kind) { return kind == IpcKind::Memory || kind == IpcKind::Physical; }

}  // namespace

// Locks the table for one operation. A worker that died holding the lock (killed mid-call) may
// have left one step half done; each step is ordered so that what it leaves is harmless (an
// entry is live only once its kind is written, last; bytes move out of a share before they move
// into an entry, and out of an entry after it is dropped), so the table is used as it is.
class IpcTable::Guard {
 public:
  explicit Guard(RobustMutex& m) : m_(m) {
    const RobustMutex::Locked l = m_.lock();
    if (l == RobustMutex::Locked::AfterOwnerDied) m_.recovered();
    ok_ = l != RobustMutex::Locked::No;
  }
  ~Guard() {
    if (ok_) m_.unlock();
  }
  bool ok() const { return ok_; }

 private:
  RobustMutex& m_;
  bool ok_ = false;
};

IpcTable::IpcTable() {
  mutex_.init();
  for (auto& pid : pids_) pid.store(0, std::memory_order_relaxed);
  for (Hold& h : holds_) h.slot = kIpcNoSlot;
  // Without randomness the sockets are still unique per daemon (its pid); only guessing gets easier.
  if (!random_bytes(&nonce_, sizeof nonce_)) nonce_ = static_cast<uint64_t>(getpid());
}

IpcTable::Entry* IpcTable::entry_of(const IpcToken& token) {
  if (token.empty()) return nullptr;
  for (Entry& e : entries_)
    if (e.e.kind != IpcKind::Free && e.token == token) return &e;
  return nullptr;
}

bool IpcTable::held(uint32_t entry) const {
  for (const Hold& h : holds_)
    if (h.slot != kIpcNoSlot && h.entry == entry) return true;
  return false;
}

void IpcTable::drop_if_unheld(uint32_t i, std::atomic<uint64_t>* used) {
  Entry& e = entries_[i];
  if (e.e.kind == IpcKind::Free || e.e.exporter_slot != kIpcNoSlot || held(i)) return;
  const uint64_t bytes = e.charged;
  // Dropped first, then the bytes leave the total: killed in between, the total stays too high.
  e.e.kind = IpcKind::Free;
  e.charged = 0;
  e.token = {};
  if (used != nullptr && bytes != 0) used->fetch_sub(bytes, std::memory_order_acq_rel);
}

std::optional<IpcToken> IpcTable::publish(const IpcExport& e, std::atomic<uint64_t>* share) {
  if (e.kind == IpcKind::Free || e.exporter_slot >= kIpcWorkerSlots) return std::nullopt;
  IpcToken token;
  do {
    if (!random_bytes(&token, sizeof token)) return std::nullopt;
  } while (token.empty());
  Guard g(mutex_);
  if (!g.ok()) return std::nullopt;
  Entry* free_entry = nullptr;
  for (Entry& slot : entries_)
    if (slot.e.kind == IpcKind::Free) {
      free_entry = &slot;
      break;
    }
  if (free_entry == nullptr) return std::nullopt;
  const uint64_t bytes = charges(e.kind) ? e.size : 0;
  // Out of the share first: killed before the entry is live, the bytes are counted by neither
  // the share nor an entry, so the total stays too high.
  if (share != nullptr && bytes != 0) share->fetch_sub(bytes, std::memory_order_acq_rel);
  free_entry->token = token;
  free_entry->charged = bytes;
  IpcExport published = e;
  const IpcKind kind = published.kind;
  published.kind = IpcKind::Free;
  free_entry->e = published;
  std::atomic_thread_fence(std::memory_order_release);
  free_entry->e.kind = kind;  // live from here on
  return token;
}

void IpcTable::withdraw(const IpcToken& token, uint32_t slot, std::atomic<uint64_t>* used) {
  Guard g(mutex_);
  if (!g.ok()) return;
  Entry* e = entry_of(token);
  if (e == nullptr || e->e.exporter_slot != slot) return;
  e->e.exporter_slot = kIpcNoSlot;
  drop_if_unheld(static_cast<uint32_t>(e - entries_), used);
}

IpcTable::Found IpcTable::find(const IpcToken& token, IpcKind kind, uint32_t slot, bool hold, IpcExport* out) {
  Guard g(mutex_);
  if (!g.ok()) return Found::No;
  Entry* e = entry_of(token);
  // An entry its exporter let go of cannot be opened again, only closed by those holding it.
  if (e == nullptr || e->e.kind != kind || e->e.exporter_slot == kIpcNoSlot) return Found::No;
  if (hold) {
    const auto index = static_cast<uint32_t>(e - entries_);
    Hold* mine = nullptr;
    Hold* free_hold = nullptr;
    for (Hold& h : holds_) {
      if (h.slot == slot && h.entry == index) mine = &h;
      if (h.slot == kIpcNoSlot && free_hold == nullptr) free_hold = &h;
    }
    if (mine != nullptr) {
      if (mine->count == UINT32_MAX) return Found::Full;
      ++mine->count;
    } else {
      if (free_hold == nullptr) return Found::Full;
      free_hold->entry = index;
      free_hold->count = 1;
      free_hold->slot = slot;  // last: the record counts from here on
    }
  }
  *out = e->e;
  return Found::Yes;
}

void IpcTable::release(const IpcToken& token, uint32_t slot, std::atomic<uint64_t>* used) {
  Guard g(mutex_);
  if (!g.ok()) return;
  Entry* e = entry_of(token);
  if (e == nullptr) return;
  const auto index = static_cast<uint32_t>(e - entries_);
  for (Hold& h : holds_) {
    if (h.slot != slot || h.entry != index) continue;
    if (--h.count == 0) h.slot = kIpcNoSlot;
    break;
  }
  drop_if_unheld(index, used);
}

void IpcTable::reclaim(uint32_t slot, std::atomic<uint64_t>* used) {
  if (slot >= kIpcWorkerSlots) return;
  pids_[slot].store(0, std::memory_order_release);
  Guard g(mutex_);
  if (!g.ok()) return;
  for (Hold& h : holds_)
    if (h.slot == slot) h.slot = kIpcNoSlot;
  for (Entry& e : entries_)
    if (e.e.kind != IpcKind::Free && e.e.exporter_slot == slot) e.e.exporter_slot = kIpcNoSlot;
  for (uint32_t i = 0; i < vgpu::limits::kMaxIpcExports; ++i) drop_if_unheld(i, used);
}

uint32_t IpcTable::entries() {
  Guard g(mutex_);
  uint32_t n = 0;
  for (const Entry& e : entries_) n += e.e.kind != IpcKind::Free ? 1 : 0;
  return n;
}

uint64_t IpcTable::charged_bytes() {
  Guard g(mutex_);
  uint64_t n = 0;
  for (const Entry& e : entries_)
    if (e.e.kind != IpcKind::Free) n += e.charged;
  return n;
}

}  // namespace vgpud

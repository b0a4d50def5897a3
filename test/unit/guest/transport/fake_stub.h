// Test doubles for the PCI transport: a fake sysfs tree whose resource files are regular files
// (mmap of a regular file behaves like mmap of a BAR for our purposes), and a fake vgpud that
// lays out the VM region and answers slot claims the way docs/protocol.md §7 says vgpud does.
#pragma once
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

#include "vgpu/protocol/vm_layout.h"

namespace vgpu::test {

inline void write_text(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) throw std::runtime_error("cannot create " + path);
  std::fputs(text.c_str(), f);
  std::fclose(f);
}

inline void make_file(const std::string& path, uint64_t size) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || ftruncate(fd, static_cast<off_t>(size)) != 0)
    throw std::runtime_error("cannot create " + path);
  close(fd);
}

// <tmp>/bus/pci/devices/<address>/{vendor,device,resource0,resource2}
class FakeSysfs {
 public:
  FakeSysfs() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "vgpu-sysfs-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    root_ = tmpl;
    std::filesystem::create_directories(devices());
  }
  ~FakeSysfs() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  FakeSysfs(const FakeSysfs&) = delete;
  FakeSysfs& operator=(const FakeSysfs&) = delete;

  const std::string& root() const { return root_; }
  std::string devices() const { return root_ + "/bus/pci/devices"; }

  // Returns the device's directory. resource2 is a sparse file of region_size zero bytes.
  std::string add_device(const std::string& address, uint16_t vendor, uint16_t device,
                         uint64_t region_size) {
    const std::string dir = devices() + "/" + address;
    std::filesystem::create_directories(dir);
    char id[16];
    std::snprintf(id, sizeof id, "0x%04x\n", vendor);
    write_text(dir + "/vendor", id);
    std::snprintf(id, sizeof id, "0x%04x\n", device);
    write_text(dir + "/device", id);
    make_file(dir + "/resource0", 256);
    make_file(dir + "/resource2", region_size);
    return dir;
  }

 private:
  std::string root_;
};

// Small channels, so four 2 MiB slots fit a 16 MiB region.
inline proto::ChannelSizes small_channel() { return {4096, 4096, 4096, 4096, 0}; }
inline constexpr uint64_t kTestRegionSize = 16ull << 20;
inline constexpr uint32_t kTestSlots = 4;
inline constexpr uint32_t kTestPeer = 7;

// Plays vgpud's part on a stub directory from FakeSysfs::add_device.
class FakeVgpud {
 public:
  enum class Answer { Ready, Refuse, Ignore };

  explicit FakeVgpud(const std::string& stub_dir, uint32_t slots = kTestSlots)
      : stub_dir_(stub_dir) {
    const int fd = open((stub_dir + "/resource2").c_str(), O_RDWR | O_CLOEXEC);
    base_ = static_cast<uint8_t*>(
        mmap(nullptr, kTestRegionSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    close(fd);
    if (base_ == MAP_FAILED) throw std::runtime_error("cannot map the fake region");
    geometry_ = *proto::compute_vm_geometry(small_channel(), slots, kTestRegionSize);
    proto::initialize_vm_header(base_, geometry_, kTestPeer);
  }
  ~FakeVgpud() {
    stop();
    munmap(base_, kTestRegionSize);
  }

  // Answers every claim (state Claimed with a nonce written) until stopped.
  void start(Answer answer) {
    answer_ = answer;
    running_ = true;
    thread_ = std::thread([this] { serve(); });
  }
  void stop() {
    running_ = false;
    if (thread_.joinable()) thread_.join();
  }
  // Runs on the slot right after its channel header is laid out (to corrupt it).
  std::function<void(uint8_t*)> after_layout;

  proto::VmHeader* header() { return reinterpret_cast<proto::VmHeader*>(base_); }
  proto::SlotControl& slot(uint32_t i) { return header()->slots[i]; }
  uint32_t state(uint32_t i) { return slot(i).state.load(); }
  uint8_t* slot_base(uint32_t i) { return base_ + geometry_.slot_offset + i * geometry_.slot_size; }
  const proto::VmGeometry& geometry() const { return geometry_; }

  // The last value written to the Doorbell register (BAR0 offset 12).
  uint32_t doorbell() const {
    const int fd = open((stub_dir_ + "/resource0").c_str(), O_RDONLY | O_CLOEXEC);
    uint32_t v = 0;
    if (pread(fd, &v, sizeof v, proto::kIvshmemDoorbellRegister) != sizeof v) v = ~0u;
    close(fd);
    return v;
  }
  static uint32_t doorbell_value(uint32_t vector) { return (kTestPeer << 16) | vector; }

 private:
  void serve() {
    while (running_) {
      for (uint32_t i = 0; i < geometry_.slot_count; ++i) {
        proto::SlotControl& s = slot(i);
        // The guest writes its nonce right after the compare-and-swap; a claim without one
        // is not finished yet (or was planted by the test).
        if (s.state.load() != static_cast<uint32_t>(proto::SlotState::Claimed) ||
            std::atomic_ref(s.claim_nonce).load() == 0)
          continue;
        if (answer_ == Answer::Ready) {
          proto::initialize_channel_header(slot_base(i), geometry_.channel);
          if (after_layout) after_layout(slot_base(i));
          s.epoch.fetch_add(1);
          s.state.store(static_cast<uint32_t>(proto::SlotState::Ready));
        } else if (answer_ == Answer::Refuse) {
          s.state.store(static_cast<uint32_t>(proto::SlotState::Refused));
        }
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }

  std::string stub_dir_;
  uint8_t* base_ = nullptr;
  proto::VmGeometry geometry_{};
  Answer answer_ = Answer::Ready;
  std::atomic<bool> running_{false};
  std::thread thread_;
};

}  // namespace vgpu::test

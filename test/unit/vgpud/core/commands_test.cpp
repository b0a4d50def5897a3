// The commands run instead of the daemon (vgpud/core/commands.h): what they print on stdout and
// stderr, and their exit codes.
#include "vgpud/core/commands.h"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

namespace config = vgpud::config;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/vgpu-commands-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

struct Output {
  int rc;
  std::string out;  // what went to stdout
  std::string err;  // what went to stderr
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `command` with fds 1 and 2 pointed at files, and returns what each got.
Output capture(const std::function<int()>& command) {
  TempDir dir;
  const std::string out_path = dir.path + "/out", err_path = dir.path + "/err";
  std::fflush(stdout);
  std::fflush(stderr);
  const int saved_out = dup(1), saved_err = dup(2);
  REQUIRE(saved_out >= 0);
  REQUIRE(saved_err >= 0);
  std::FILE* out = std::fopen(out_path.c_str(), "w");
  std::FILE* err = std::fopen(err_path.c_str(), "w");
  REQUIRE(out != nullptr);
  REQUIRE(err != nullptr);
  dup2(fileno(out), 1);
  dup2(fileno(err), 2);
  const int rc = command();
  std::fflush(stdout);
  std::fflush(stderr);
  dup2(saved_out, 1);
  dup2(saved_err, 2);
  close(saved_out);
  close(saved_err);
  std::fclose(out);
  std::fclose(err);
  return {rc, slurp(out_path), slurp(err_path)};
}

config::DaemonConfig config_with_vm_tenant() {
  config::DaemonConfig c;
  c.source_file = "/etc/vgpu/vgpu.yaml";
  config::TenantConfig local;
  local.name = "host-only";
  local.local.socket_path = "/run/vgpu/host-only.sock";
  config::TenantConfig vm;
  vm.name = "vm1";
  vm.vm.socket_path = "/run/vgpu/vm1.ivshmem";
  vm.vm.slots = 8;
  c.tenants = {local, vm};
  return c;
}

}  // namespace

TEST_CASE("qemu-args prints the options that attach a tenant's VM", "[core][commands]") {
  const config::DaemonConfig c = config_with_vm_tenant();
  const Output o = capture([&] { return vgpud::print_qemu_args(c, "vm1"); });
  CHECK(o.rc == 0);
  // One vector per slot and one for the slot table (docs/design.md §8).
  CHECK(o.out ==
        "-chardev socket,path=/run/vgpu/vm1.ivshmem,id=vgpu-vm1 "
        "-device ivshmem-doorbell,chardev=vgpu-vm1,vectors=9\n");
  CHECK(o.err.empty());
}

TEST_CASE("qemu-args for a tenant without a VM, or no such tenant, says so and fails", "[core][commands]") {
  const config::DaemonConfig c = config_with_vm_tenant();
  const Output no_vm = capture([&] { return vgpud::print_qemu_args(c, "host-only"); });
  CHECK(no_vm.rc == 1);
  CHECK(no_vm.out.empty());
  CHECK(no_vm.err ==
        "vgpud: tenant 'host-only' in /etc/vgpu/vgpu.yaml has no vm section: add one to serve a VM\n");

  const Output unknown = capture([&] { return vgpud::print_qemu_args(c, "vm2"); });
  CHECK(unknown.rc == 1);
  CHECK(unknown.out.empty());
  CHECK(unknown.err == "vgpud: /etc/vgpu/vgpu.yaml has no tenant named 'vm2'\n");
}

TEST_CASE("counters prints what the running vgpud answers on its control socket", "[core][commands]") {
  TempDir dir;
  config::DaemonConfig c;
  c.control_socket = dir.path + "/control.sock";
  const int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(listener >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, c.control_socket.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(listen(listener, 1) == 0);
  // More than one read's worth (the command reads 4 KiB at a time), as a daemon with many
  // tenants answers.
  std::string report = "tenant processes\n";
  while (report.size() < 10000) report += "alpha 1\n";
  std::thread daemon([&] {
    const int conn = accept(listener, nullptr, nullptr);
    if (conn < 0) return;
    for (size_t sent = 0; sent < report.size();) {
      const ssize_t n = send(conn, report.data() + sent, report.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    close(conn);
  });
  const Output o = capture([&] { return vgpud::print_counters(c); });
  shutdown(listener, SHUT_RDWR);  // wakes the accept if the command never connected
  daemon.join();
  close(listener);
  CHECK(o.rc == 0);
  CHECK(o.out == report);
  CHECK(o.err.empty());
}

TEST_CASE("counters without a running vgpud says where it looked and fails", "[core][commands]") {
  TempDir dir;
  config::DaemonConfig c;
  c.control_socket = dir.path + "/control.sock";
  const Output o = capture([&] { return vgpud::print_counters(c); });
  CHECK(o.rc == 1);
  CHECK(o.out.empty());
  CHECK(o.err == "vgpud: cannot reach a running vgpud at " + c.control_socket +
                     " (No such file or directory): is it running, and may this user open the socket?\n");

  // A path too long for a UNIX socket cannot be reached either.
  c.control_socket = dir.path + "/" + std::string(sizeof(sockaddr_un::sun_path), 'x');
  CHECK(capture([&] { return vgpud::print_counters(c); }).rc == 1);
}

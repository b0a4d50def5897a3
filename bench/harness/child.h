// One case child (bench/README.md): a process started with its own environment, spoken to
// over its stdin and stdout one line at a time. Its stderr goes to a log file.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "vgpu/common/result.h"

namespace bench {

struct ChildSpec {
  std::string label;                         // "cuda native", for messages
  std::vector<std::string> argv;             // argv[0] is the program
  std::map<std::string, std::string> env;    // set on top of the harness's environment
  std::string stderr_path;
};

class CaseChild {
 public:
  // Starts the program and waits (up to `timeout`) for its `ready` line.
  static vgpu::Result<std::unique_ptr<CaseChild>, std::string> start(const ChildSpec& spec,
                                                                     std::chrono::seconds timeout);
  ~CaseChild();  // closes its stdin, waits a little, then kills it

  CaseChild(const CaseChild&) = delete;
  CaseChild& operator=(const CaseChild&) = delete;

  // Runs one case: `samples` values, or the child's error (or why the child did not answer).
  vgpu::Result<std::vector<double>, std::string> run(const std::string& name, int samples,
                                                     std::chrono::seconds timeout);

  const std::string& description() const { return description_; }  // from its `ready` line
  const std::string& label() const { return label_; }

 private:
  CaseChild(std::string label, pid_t pid, int to_child, int from_child)
      : label_(std::move(label)), pid_(pid), to_child_(to_child), from_child_(from_child) {}
  vgpu::Result<std::string, std::string> read_line(std::chrono::seconds timeout);

  std::string label_;
  std::string description_;
  pid_t pid_;
  int to_child_;
  int from_child_;
  std::string buffered_;  // read past the last line
};

}  // namespace bench

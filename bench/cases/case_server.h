// The child side of the harness's line protocol (bench/README.md): say `ready`, then answer
// each `<case> <samples>` line with `ok v1 … vN` or `error <why>`, until end of input.
// Header-only so that the CUDA case child, built by nvcc, uses it as well.
#pragma once
#include <cstdio>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace bench {

struct CaseResult {
  std::vector<double> values;
  std::string error;  // empty on success

  static CaseResult success(std::vector<double> v) { return {std::move(v), {}}; }
  static CaseResult failure(std::string why) { return {{}, std::move(why)}; }
};

struct Case {
  std::string name;
  std::function<CaseResult(int samples)> run;  // one untimed warm-up is the case's own business
};

inline int serve_cases(const std::string& description, const std::vector<Case>& cases) {
  std::printf("ready %s\n", description.c_str());
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string name;
    int samples = 0;
    if (!(in >> name)) continue;
    if (name == "list") {
      std::printf("cases");
      for (const Case& c : cases) std::printf(" %s", c.name.c_str());
      std::printf("\n");
    } else if (!(in >> samples) || samples <= 0) {
      std::printf("error %s: expected a positive sample count\n", name.c_str());
    } else {
      const Case* found = nullptr;
      for (const Case& c : cases)
        if (c.name == name) found = &c;
      if (found == nullptr) {
        std::printf("error %s: no such case\n", name.c_str());
      } else {
        const CaseResult r = found->run(samples);
        if (!r.error.empty()) {
          std::printf("error %s: %s\n", name.c_str(), r.error.c_str());
        } else {
          std::printf("ok");
          for (double v : r.values) std::printf(" %.6g", v);
          std::printf("\n");
        }
      }
    }
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace bench

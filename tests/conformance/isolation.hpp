// Each rule of the suite runs in a process of its own (the suite runs
// itself again with --run-rule ID), so that a plugin that crashes, aborts
// or hangs fails that rule, with what happened, and the report goes on.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace conformance {

struct Verdict {
    std::string result;  // "pass" or "fail"
    std::string detail;
};

// Runs `self` with `args` and `--run-rule id`, and reads the verdict the
// child prints as its last line of stdout. A child killed by a signal, one
// that exits without a verdict, and one still running after `limit` (it is
// killed, with its process group) fail the rule, saying so.
Verdict run_isolated(const std::string& self, const std::vector<std::string>& args, const std::string& id,
                     std::chrono::milliseconds limit);

// The child's side: the verdict line run_isolated reads.
void print_verdict(const Verdict& v);

}  // namespace conformance

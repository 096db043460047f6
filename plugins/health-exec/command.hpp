// Running one check command: argv from a command line, a child in a process
// group of its own with a clean environment, its output captured up to a
// bound, and the whole group killed at the deadline. Never leaves a zombie.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace health_exec {

// "a 'b c' \"d\"" -> {a, b c, d}: whitespace separates words, single and
// double quotes group them (no escapes, no expansion). nullopt when a
// quote is not closed.
std::optional<std::vector<std::string>> split_words(const std::string& line);

struct Finished {
    bool timed_out = false;
    int exit_code = -1;  // when it exited
    int signal = 0;      // when a signal ended it
    std::string output;  // stdout and stderr, at most the bound given
    std::string error;   // it could not be started: why
};

// Runs argv[0] (searched in PATH) with `env` ("KEY=VALUE") as its whole
// environment, collects up to `output_limit` bytes of its output, and kills
// its process group once `timeout` passes.
Finished run(const std::vector<std::string>& argv, const std::vector<std::string>& env, std::size_t output_limit,
             std::chrono::milliseconds timeout);

}  // namespace health_exec

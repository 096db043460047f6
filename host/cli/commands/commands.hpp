// One function per subcommand: each gets its parsed options and the merged
// settings, returns an exit code, and throws HostError for failures.
#pragma once

#include "compose/settings.hpp"

#include <boost/program_options.hpp>

#include <chrono>

namespace host {

namespace po = boost::program_options;

struct Command {
    const char* name;
    const char* summary;
    po::options_description (*options)();
    int (*run)(const po::variables_map& vm, const Settings& s);
};

const std::vector<Command>& commands();

// Blocks until SIGINT or SIGTERM (blocked in every thread by main), and
// returns it; with a limit, returns 0 once the limit passes without one.
int wait_for_signal(std::chrono::milliseconds limit = std::chrono::milliseconds(-1));

}  // namespace host

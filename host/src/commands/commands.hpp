// One function per subcommand: each gets its parsed options and the merged
// settings, returns an exit code, and throws HostError for failures.
#pragma once

#include "../settings.hpp"

#include <boost/program_options.hpp>

namespace host {

namespace po = boost::program_options;

struct Command {
    const char* name;
    const char* summary;
    po::options_description (*options)();
    int (*run)(const po::variables_map& vm, const Settings& s);
};

const std::vector<Command>& commands();

// Blocks until SIGINT or SIGTERM (blocked in every thread by main).
int wait_for_signal();

}  // namespace host

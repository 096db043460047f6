// muster-host: loads the configured plugins, composes the chain and runs a
// subcommand. Every failure ends with one line on stderr and an exit code
// from exit_codes.hpp.
#include "commands/commands.hpp"
#include "exit_codes.hpp"
#include "settings_options.hpp"

#include <muster/core/link_runner.hpp>
#include <muster/core/log.hpp>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace host {

extern const Command run_command, list_command, watch_command, deregister_command, reap_command, status_command,
    plugins_command, pick_command, drain_command;

const std::vector<Command>& commands() {
    static const std::vector<Command> all = {run_command,        list_command, watch_command,
                                             deregister_command, reap_command, status_command,
                                             plugins_command,    pick_command, drain_command};
    return all;
}

int wait_for_signal(std::chrono::milliseconds limit) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (limit.count() < 0) {
        int sig = 0;
        sigwait(&set, &sig);
        return sig;
    }
    auto end = std::chrono::steady_clock::now() + limit;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(end - std::chrono::steady_clock::now());
        if (left.count() <= 0) return 0;
        timespec ts{static_cast<time_t>(left.count() / 1000000000), static_cast<long>(left.count() % 1000000000)};
        int sig = sigtimedwait(&set, nullptr, &ts);
        if (sig > 0) return sig;
        if (errno == EAGAIN) return 0;  // EINTR: wait the rest
    }
}

namespace {

void usage(std::ostream& out) {
    out << "usage: muster-host COMMAND [options]   (muster-host COMMAND --help for its options)\n\nCommands:\n";
    for (const auto& c : commands())
        out << "  " << c.name << std::string(12 - std::string(c.name).size(), ' ') << c.summary << "\n";
    out << "\n" << common_options() << "\n" << exit_codes_help();
}

int main_impl(int argc, char** argv) {
    if (argc < 2) {
        usage(std::cerr);
        return kUsage;
    }
    std::string name = argv[1];
    if (name == "--help" || name == "-h" || name == "help") {
        usage(std::cout);
        return kOk;
    }
    const Command* cmd = nullptr;
    for (const auto& c : commands())
        if (name == c.name) cmd = &c;
    if (!cmd) throw HostError(kUsage, "unknown command '" + name + "' (see muster-host --help)");

    po::options_description all;
    all.add(cmd->options()).add(common_options());
    all.add_options()("help,h", "show this help");
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc - 1, argv + 1).options(all).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw HostError(kUsage, std::string(e.what()) + " (see muster-host " + name + " --help)");
    }
    if (vm.count("help")) {
        std::cout << "usage: muster-host " << name << " [options]\n\n" << all << "\n" << exit_codes_help();
        return kOk;
    }
    Settings s = load_settings(source_of(vm));
    muster::core::log::set_level(spdlog::level::from_str(s.log_level.value_or("info")));
    return cmd->run(vm, s);
}

// Ends the process with `code`. A store call left running past its
// deadline (LinkRunner::abandoned) may be inside OpenSSL or libcurl, whose
// exit handlers would free what it uses or wait for it (a TLS connect to a
// refusing store crashed muster-host at exit under ASan; another hung it):
// then the process ends without them, its output flushed.
int finish(int code) {
    if (muster::core::LinkRunner::abandoned() > 0) {
        std::cout.flush();
        std::cerr.flush();
        std::fflush(nullptr);
        std::_Exit(code);
    }
    return code;
}

}  // namespace
}  // namespace host

int main(int argc, char** argv) {
    // Signals are taken by sigwait in run/watch; block them before any thread
    // starts so that every thread inherits the mask.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    try {
        return host::finish(host::main_impl(argc, argv));
    } catch (const host::HostError& e) {
        std::cerr << "muster-host: " << e.what() << "\n";
        return host::finish(e.code);
    } catch (const host::SetupError& e) {
        std::cerr << "muster-host: " << e.what() << "\n";
        return host::finish(host::exit_code(e.fault()));
    } catch (const std::exception& e) {
        std::cerr << "muster-host: internal error: " << e.what() << "\n";
        return host::finish(host::kFailure);
    }
}

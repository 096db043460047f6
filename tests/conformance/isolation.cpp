#include "isolation.hpp"

#include <nlohmann/json.hpp>

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <iostream>

extern char** environ;

namespace conformance {

namespace {
// The marker before the child's verdict: plugin output on stdout cannot fake it by accident.
const std::string kMarker = "muster-conformance-verdict ";
}  // namespace

void print_verdict(const Verdict& v) {
    std::cout << "\n" << kMarker << nlohmann::json{{"result", v.result}, {"detail", v.detail}}.dump() << std::endl;
}

Verdict run_isolated(const std::string& self, const std::vector<std::string>& args, const std::string& id,
                     std::chrono::milliseconds limit) {
    std::vector<std::string> all{self};
    all.insert(all.end(), args.begin(), args.end());
    all.insert(all.end(), {"--run-rule", id});
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);

    int out[2];
    if (pipe(out) != 0) return {"fail", "cannot create a pipe for the rule's process"};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);  // its own group: a hang is killed whole
    posix_spawnattr_setpgroup(&attr, 0);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, self.c_str(), &fa, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(out[1]);
    if (rc != 0) {
        close(out[0]);
        return {"fail", std::string("cannot start the rule's process: ") + std::strerror(rc)};
    }

    std::string text;
    bool timed_out = false;
    auto deadline = std::chrono::steady_clock::now() + limit;
    char buf[4096];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            kill(-pid, SIGKILL);
            break;
        }
        pollfd p{out[0], POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        ssize_t n = read(out[0], buf, sizeof buf);
        if (n <= 0) break;  // the child closed stdout: it has ended
        text.append(buf, static_cast<std::size_t>(n));
    }
    close(out[0]);
    int status = 0;
    waitpid(pid, &status, 0);

    if (timed_out)
        return {"fail", "no verdict within " + std::to_string(limit.count() / 1000) +
                            " s: a call into the plugin hangs, or a callback never comes"};
    if (WIFSIGNALED(status))
        return {"fail", "the plugin crashed the rule's process (signal " + std::to_string(WTERMSIG(status)) + ": " +
                            strsignal(WTERMSIG(status)) + ")"};
    auto at = text.rfind(kMarker);
    if (at == std::string::npos)
        return {"fail", "the rule's process exited (status " + std::to_string(WEXITSTATUS(status)) +
                            ") without a verdict: the plugin ended it"};
    auto line = text.substr(at + kMarker.size());
    line = line.substr(0, line.find('\n'));
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) return {"fail", "the rule's process printed an unreadable verdict"};
    // After its verdict the process only exits, with 0: anything else is
    // the plugin ending it on the way out (a late callback, a sanitizer's
    // report above).
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        return {"fail", "the rule's process exited with status " + std::to_string(WEXITSTATUS(status)) +
                            " after its verdict: the plugin ended it on the way out"};
    // Whatever the plugin printed on stdout before the verdict is shown, not lost.
    if (at > 1) std::cout << text.substr(0, at - 1) << std::flush;
    return {j.value("result", "fail"), j.value("detail", "")};
}

}  // namespace conformance

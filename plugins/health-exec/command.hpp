// Running one check command: argv from a command line, a child in a process
// group of its own with a clean environment, its output captured up to a
// bound, and the whole group killed at the deadline. Never leaves a zombie.
#pragma once

#include <spawn.h>
#include <sys/types.h>
#include <chrono>
#include <mutex>
#include <optional>
#include <set>
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

// Kills `pid`'s process group and every process descending from it, also
// those that left the group (setsid) while `pid` still runs. Each is
// frozen (SIGSTOP) before any is killed, so none starts another meanwhile
// or is orphaned out of the walk's reach by its parent's death. (A process
// whose parent exited before the call is out of reach: only a cgroup would
// hold it.)
void kill_tree(pid_t pid);
// The commands one check runs now (their pids), so that a check that goes
// away, or a process that exits (muster-host stopping, with a check still
// in progress on a worker), ends them rather than leaving them behind.
class Running {
public:
    Running();
    ~Running();
    Running(const Running&) = delete;
    Running& operator=(const Running&) = delete;

    // posix_spawnp(pid, file, actions, attr, argv, envp), the pid recorded
    // under the lock close() takes: a command is either known to it or
    // never started. ECANCELED once close() was called.
    int spawn(pid_t* pid, const char* file, const posix_spawn_file_actions_t* actions, const posix_spawnattr_t* attr,
              char* const argv[], char* const envp[]);
    // Reaps `pid` (waitpid with `options`) and forgets it once reaped, under
    // one lock: close() never signals a pid the system gave to another
    // process. Returns what waitpid returned.
    pid_t reap(pid_t pid, int* status, int options);
    // Kills every command's tree, and refuses later spawns (the check or
    // the process is ending).
    void close();

private:
    std::mutex mu_;  // guards pids_ and closed_
    std::set<pid_t> pids_;
    bool closed_ = false;
};

// Runs argv[0] (searched in PATH) with `env` ("KEY=VALUE") as its whole
// environment, collects up to `output_limit` bytes of its output, and kills
// its process group once `timeout` passes.
Finished run(const std::vector<std::string>& argv, const std::vector<std::string>& env, std::size_t output_limit,
             std::chrono::milliseconds timeout, Running& running);

}  // namespace health_exec

#include "command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace health_exec {

std::optional<std::vector<std::string>> split_words(const std::string& line) {
    std::vector<std::string> out;
    std::string word;
    bool in_word = false;
    char quote = 0;
    for (char c : line) {
        if (quote) {
            if (c == quote)
                quote = 0;
            else
                word += c;
        } else if (c == '\'' || c == '"') {
            quote = c;
            in_word = true;
        } else if (c == ' ' || c == '\t') {
            if (in_word) out.push_back(std::move(word));
            word.clear();
            in_word = false;
        } else {
            word += c;
            in_word = true;
        }
    }
    if (quote) return std::nullopt;
    if (in_word) out.push_back(std::move(word));
    return out;
}

namespace {

std::vector<char*> c_strings(const std::vector<std::string>& v) {
    std::vector<char*> out;
    for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
    out.push_back(nullptr);
    return out;
}

// The children of `p`, each task's from /proc/P/task/T/children (kernels
// with CONFIG_PROC_CHILDREN): a read per process in the tree. Accurate
// here because kill_tree freezes each process before asking for its
// children. nullopt when the kernel does not keep the files.
std::optional<std::vector<pid_t>> children_from_tasks(pid_t p) {
    static const bool available = [] {
        const std::string self = "/proc/self/task/" + std::to_string(gettid()) + "/children";
        return access(self.c_str(), R_OK) == 0;
    }();
    if (!available) return std::nullopt;
    std::vector<pid_t> out;
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(p) + "/task", ec)) {
        std::ifstream in(task.path() / "children");
        for (long c; in >> c;) out.push_back(static_cast<pid_t>(c));
    }
    return out;
}

// Every process's parent, from each /proc/P/stat: the whole process table,
// for kernels without the children files.
std::map<pid_t, std::vector<pid_t>> children_from_stat() {
    std::map<pid_t, std::vector<pid_t>> children;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        if (!std::getline(stat, line)) continue;
        auto close = line.rfind(')');  // the name may hold anything: fields follow its last ')'
        if (close == std::string::npos) continue;
        std::istringstream fields(line.substr(close + 2));
        char state = 0;
        pid_t parent = 0;
        if (fields >> state >> parent) children[parent].push_back(static_cast<pid_t>(std::stol(name)));
    }
    return children;
}

// Every process descending from `root`, so that one that left the group
// (setsid) is found while `root` still runs. Walking the tree costs a read
// per process in it; scanning the whole table (the fallback) costs a read
// per process on the machine, which on a busy host is what made a timed-out
// check late.
std::vector<pid_t> descendants(pid_t root) {
    std::optional<std::map<pid_t, std::vector<pid_t>>> table;
    std::vector<pid_t> out, todo{root};
    while (!todo.empty()) {
        pid_t p = todo.back();
        todo.pop_back();
        auto kids = children_from_tasks(p);
        if (!kids) {
            if (!table) table = children_from_stat();
            kids = (*table)[p];
        }
        for (pid_t c : *kids) {
            out.push_back(c);
            todo.push_back(c);
        }
    }
    return out;
}

}  // namespace

void kill_tree(pid_t pid) {
    kill(-pid, SIGSTOP);
    std::set<pid_t> frozen;
    for (bool more = true; more;) {  // until a walk finds no process it had not frozen
        more = false;
        for (pid_t d : descendants(pid))
            if (frozen.insert(d).second) {
                kill(d, SIGSTOP);
                more = true;
            }
    }
    for (pid_t d : frozen) kill(d, SIGKILL);
    kill(-pid, SIGKILL);
}

namespace {

// Every Running of the process. Never destroyed: a Running may outlive
// static destruction (a check held by a worker thread at exit).
struct AllRunning {
    std::mutex mu;  // guards all
    std::set<Running*> all;
};
AllRunning& all_running() {
    static auto* a = new AllRunning;
    return *a;
}

// At exit (this library's static destruction), every command still
// running is killed.
struct KillAtExit {
    ~KillAtExit() {
        auto& a = all_running();
        std::lock_guard lk(a.mu);
        for (Running* r : a.all) r->close();
    }
} kill_at_exit;

}  // namespace

Running::Running() {
    auto& a = all_running();
    std::lock_guard lk(a.mu);
    a.all.insert(this);
}

Running::~Running() {
    close();
    auto& a = all_running();
    std::lock_guard lk(a.mu);
    a.all.erase(this);
}

int Running::spawn(pid_t* pid, const char* file, const posix_spawn_file_actions_t* actions,
                   const posix_spawnattr_t* attr, char* const argv[], char* const envp[]) {
    std::lock_guard lk(mu_);
    if (closed_) return ECANCELED;
    int rc = posix_spawnp(pid, file, actions, attr, argv, envp);
    if (rc == 0) pids_.insert(*pid);
    return rc;
}

void Running::close() {
    std::lock_guard lk(mu_);
    closed_ = true;
    for (pid_t pid : pids_) kill_tree(pid);
}

pid_t Running::reap(pid_t pid, int* status, int options) {
    std::lock_guard lk(mu_);  // a blocking wait only follows SIGKILL: it is short
    pid_t w = waitpid(pid, status, options);
    if (w == pid || (w < 0 && errno != EINTR)) pids_.erase(pid);
    return w;
}

Finished run(const std::vector<std::string>& argv, const std::vector<std::string>& env, std::size_t output_limit,
             std::chrono::milliseconds timeout, Running& running) {
    Finished f;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        f.error = std::string("pipe: ") + std::strerror(errno);
        return f;
    }
    // posix_spawn, not fork: safe in a threaded host. The child gets the
    // pipe as stdout and stderr, /dev/null as stdin, no other descriptor,
    // and a process group of its own so the timeout kills all it started.
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);  // the host blocks SIGTERM; the child must not
    posix_spawnattr_setsigdefault(&attr, &all);
    auto args = c_strings(argv), envp = c_strings(env);
    pid_t pid = 0;
    int rc = running.spawn(&pid, args[0], &fa, &attr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        f.error = "cannot run " + argv[0] + ": " + std::strerror(rc);
        return f;
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            f.timed_out = true;
            break;
        }
        pollfd p{fds[0], POLLIN, 0};
        int n = poll(&p, 1, static_cast<int>(left.count()));
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) {
            f.timed_out = true;
            break;
        }
        ssize_t got = read(fds[0], buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;  // every writer closed: the command is done (or detached its output)
        std::size_t keep =
            std::min(static_cast<std::size_t>(got), output_limit - std::min(output_limit, f.output.size()));
        f.output.append(buf, keep);
    }
    close(fds[0]);
    if (f.timed_out) kill_tree(pid);
    // The output closed before the deadline; the exit itself may still be
    // a moment away, or never (a child that closed its output and hangs).
    int status = 0;
    for (;;) {
        pid_t w = running.reap(pid, &status, f.timed_out ? 0 : WNOHANG);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) break;
        if (w == 0) {
            if (std::chrono::steady_clock::now() >= deadline) {
                f.timed_out = true;
                kill_tree(pid);
                continue;
            }
            usleep(1000);
        }
    }
    if (f.timed_out) return f;
    kill(-pid, SIGKILL);  // anything it left running in its group
    if (WIFEXITED(status))
        f.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        f.signal = WTERMSIG(status);
    return f;
}

}  // namespace health_exec

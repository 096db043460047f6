#include "change_detector.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>

namespace catalog_sqlite {

ChangeDetector::ChangeDetector(const std::string& path, int busy_timeout_ms, int fallback_poll_ms,
                               std::function<void()> on_change)
        : path_(path),
          busy_timeout_ms_(busy_timeout_ms),
          fallback_poll_ms_(fallback_poll_ms),
          on_change_(std::move(on_change)) {
    open();
    std::filesystem::path p = std::filesystem::absolute(path);
    dir_ = p.parent_path().string();
    db_name_ = p.filename().string();
    wal_name_ = db_name_ + "-wal";
    changed();  // records the starting version
    inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    // Without inotify (fd limit reached) the slow poll still works.
    if (inotify_fd_ >= 0)
        inotify_add_watch(inotify_fd_, dir_.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE);
    stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    thread_ = std::thread([this] { run(); });
}

ChangeDetector::~ChangeDetector() {
    std::uint64_t one = 1;
    if (write(stop_fd_, &one, sizeof one) < 0) { /* the thread then exits at its next poll timeout */
    }
    thread_.join();
    if (inotify_fd_ >= 0) close(inotify_fd_);
    close(stop_fd_);
}

void ChangeDetector::open() {
    version_stmt_.reset();
    db_.reset();
    db_ = std::make_unique<Db>(path_, SQLITE_OPEN_READWRITE, busy_timeout_ms_);
    version_stmt_ = std::make_unique<Stmt>(*db_, "PRAGMA data_version");
}

bool ChangeDetector::changed() {
    try {
        // The database file was deleted or replaced: follow the path to the
        // new file (created again by the plugin's writer), and let watchers
        // re-list what it holds.
        if (!db_ || db_->has_moved()) {
            open();
            last_version_ = -1;
            changed();
            return true;
        }
        Stmt::Use use(*version_stmt_);
        if (!use.step()) return false;
        std::int64_t v = use.int64(0);
        bool moved = last_version_ >= 0 && v != last_version_;
        last_version_ = v;
        return moved;
    } catch (const std::exception&) {
        // Busy or unreadable for a moment: report a change so that watchers
        // re-list, and let them see the error if it persists.
        return true;
    }
}

void ChangeDetector::run() {
    using Clock = std::chrono::steady_clock;
    std::array<pollfd, 2> fds{{{stop_fd_, POLLIN, 0}, {inotify_fd_, POLLIN, 0}}};
    nfds_t nfds = inotify_fd_ >= 0 ? 2 : 1;
    alignas(inotify_event) char buf[4096];
    const auto slow = std::chrono::milliseconds(fallback_poll_ms_);
    // A commit writes its WAL frames (which wake us) before it publishes
    // them in the shared-memory index (which does not): a check right after
    // the wake-up may come too early, and on a loaded machine the writer
    // can be held between the two for tens of milliseconds. So after a
    // wake-up look again after 1, 2, 4 ... 64 ms.
    constexpr int kRechecks = 7;
    int rechecks = 0;
    auto recheck_delay = std::chrono::milliseconds(1);
    auto next_check = Clock::now() + slow;  // the slow poll: by the clock, whatever else wakes us
    for (;;) {
        auto wait = std::chrono::ceil<std::chrono::milliseconds>(next_check - Clock::now());
        int rc = poll(fds.data(), nfds, static_cast<int>(std::max<std::int64_t>(0, wait.count())));
        if (rc < 0 && errno != EINTR) return;
        if (fds[0].revents & POLLIN) return;
        bool woken = false;
        if (rc > 0 && nfds == 2 && (fds[1].revents & POLLIN)) {
            ssize_t n;
            while ((n = read(inotify_fd_, buf, sizeof buf)) > 0) {
                for (char* p = buf; p < buf + n;) {
                    auto* ev = reinterpret_cast<inotify_event*>(p);
                    if (ev->len > 0 && (db_name_ == ev->name || wal_name_ == ev->name)) woken = true;
                    p += sizeof(inotify_event) + ev->len;
                }
            }
        }
        auto now = Clock::now();
        if (woken) {
            rechecks = kRechecks;
            recheck_delay = std::chrono::milliseconds(1);
        } else if (now < next_check) {
            continue;  // another file of the directory: not ours, and not yet time to look
        } else if (rechecks > 0) {
            --rechecks;
            recheck_delay *= 2;
        }
        next_check = now + (rechecks > 0 ? recheck_delay : slow);
        if (changed()) on_change_();
    }
}

}  // namespace catalog_sqlite

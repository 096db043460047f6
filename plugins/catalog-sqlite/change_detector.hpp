// Notices commits to a SQLite database made by any connection of any
// process, without keeping a core busy: inotify wakes it when the database
// or its WAL file is written, and PRAGMA data_version on a connection of its
// own tells a real commit from noise. A slow poll, kept by the clock however
// busy the directory's other files keep inotify, covers file systems where
// inotify is silent (network mounts) and a wake-up that came too early.
#pragma once

#include "sqlite_db.hpp"

#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace catalog_sqlite {

class ChangeDetector {
public:
    // Calls on_change (from its own thread) after each detected commit.
    ChangeDetector(const std::string& path, int busy_timeout_ms, int fallback_poll_ms, std::function<void()> on_change);
    ~ChangeDetector();
    ChangeDetector(const ChangeDetector&) = delete;
    ChangeDetector& operator=(const ChangeDetector&) = delete;

private:
    void run();
    bool changed();
    void open();

    std::string path_;
    int busy_timeout_ms_;
    std::unique_ptr<Db> db_;
    std::unique_ptr<Stmt> version_stmt_;
    std::int64_t last_version_ = -1;
    std::string dir_, db_name_, wal_name_;
    int fallback_poll_ms_;
    std::function<void()> on_change_;
    int inotify_fd_ = -1;
    int stop_fd_ = -1;  // eventfd: wakes the thread to exit
    std::thread thread_;
};

}  // namespace catalog_sqlite

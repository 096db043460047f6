// LISTEN on a connection of its own, so that heartbeats never wait behind
// it. Calls on_change with that connection after every notification, after
// every (re)connect (changes may have been made while it was away), and
// every `poll` without either; with nullptr when the connection is lost.
#pragma once

#include "pg_session.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace catalog_postgres {

class Listener {
public:
    // `prepare` runs on each new connection, after LISTEN. `on_change`
    // returns true to be called again soon without a notification (changes
    // wait on transactions still open): after 2 ms, then twice as long each
    // time, up to `poll`.
    Listener(SessionConfig config, std::string channel, std::chrono::milliseconds poll,
             std::function<void(Session&)> prepare, std::function<bool(Session*)> on_change);
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

private:
    void run();

    Session session_;
    std::string channel_;
    std::chrono::milliseconds poll_;
    std::function<void(Session&)> prepare_;
    std::function<bool(Session*)> on_change_;
    int stop_fd_ = -1;
    std::thread thread_;
};

}  // namespace catalog_postgres

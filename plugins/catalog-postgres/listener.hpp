// LISTEN on a connection of its own, so that heartbeats never wait behind
// it: calls on_change for every notification, and after every (re)connect,
// since changes may have been missed while it was away.
#pragma once

#include "pg_session.hpp"

#include <functional>
#include <string>
#include <thread>

namespace catalog_postgres {

class Listener {
public:
    Listener(SessionConfig config, std::string channel, std::function<void()> on_change);
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

private:
    void run();

    Session session_;
    std::string channel_;
    std::function<void()> on_change_;
    int stop_fd_ = -1;
    std::thread thread_;
};

}  // namespace catalog_postgres

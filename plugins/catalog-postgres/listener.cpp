#include "listener.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace catalog_postgres {

Listener::Listener(SessionConfig config, std::string channel, std::function<void()> on_change)
        : session_(std::move(config), [this](Session& s) { s.exec("LISTEN \"" + channel_ + "\""); }),
          channel_(std::move(channel)),
          on_change_(std::move(on_change)),
          stop_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
          thread_([this] { run(); }) {}

Listener::~Listener() {
    std::uint64_t one = 1;
    if (write(stop_fd_, &one, sizeof one) < 0) { /* the thread exits at its next timeout */
    }
    thread_.join();
    close(stop_fd_);
}

void Listener::run() {
    for (;;) {
        bool fresh = false;
        try {
            if (!session_.raw() || PQstatus(session_.raw()) != CONNECTION_OK) {
                session_.ensure();
                fresh = true;
            }
        } catch (const std::exception&) {
            // Down: the backoff decides when ensure() tries again.
        }
        if (fresh) on_change_();  // resync: what happened while we were away
        pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {session_.raw() ? PQsocket(session_.raw()) : -1, POLLIN, 0}};
        int rc = poll(fds, session_.raw() ? 2 : 1, session_.raw() ? 1000 : 200);
        if (rc < 0 && errno != EINTR) return;
        if (fds[0].revents & POLLIN) return;
        if (!session_.raw() || !(fds[1].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        if (!PQconsumeInput(session_.raw())) {
            session_.drop();
            on_change_();  // watchers re-list and learn the store is down
            continue;
        }
        bool any = false;
        while (PGnotify* n = PQnotifies(session_.raw())) {
            any = true;
            PQfreemem(n);
        }
        if (any) on_change_();
    }
}

}  // namespace catalog_postgres

#include "listener.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

namespace catalog_postgres {

Listener::Listener(SessionConfig config, std::string channel, std::chrono::milliseconds poll,
                   std::function<void(Session&)> prepare, std::function<bool(Session*)> on_change)
        : session_(std::move(config),
                   [this](Session& s) {
                       s.exec("LISTEN \"" + channel_ + "\"");
                       prepare_(s);
                   }),
          channel_(std::move(channel)),
          poll_(poll),
          prepare_(std::move(prepare)),
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
    constexpr std::chrono::milliseconds kFirstRetry{2};
    std::chrono::milliseconds retry{0};  // 0: no read due before the poll
    // Notifications that arrive while the feed is read are buffered by
    // libpq, not left on the socket: taken here, they make the next read
    // due at once.
    auto drain = [&] {
        bool any = false;
        while (session_.raw())
            if (PGnotify* n = PQnotifies(session_.raw())) {
                any = true;
                PQfreemem(n);
            } else {
                break;
            }
        return any;
    };
    auto changed = [&] {
        bool again = on_change_(&session_);
        retry = again ? (retry.count() ? std::min(retry * 2, poll_) : kFirstRetry) : std::chrono::milliseconds(0);
        if (drain()) retry = kFirstRetry;
    };
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
        if (fresh) changed();  // what happened while we were away
        bool up = session_.raw() != nullptr;
        auto wait = up ? (retry.count() ? retry : poll_) : std::chrono::milliseconds(200);
        pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {up ? PQsocket(session_.raw()) : -1, POLLIN, 0}};
        int rc = poll(fds, up ? 2 : 1, static_cast<int>(wait.count()));
        if (rc < 0 && errno != EINTR) return;
        if (fds[0].revents & POLLIN) return;
        if (!up) continue;
        if (rc == 0) {
            changed();  // a notification's transaction may have waited on an older one
            continue;
        }
        if (!(fds[1].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        if (!PQconsumeInput(session_.raw())) {
            session_.drop();
            on_change_(nullptr);  // watchers re-list and learn the store is down
            continue;
        }
        if (drain()) changed();
    }
}

}  // namespace catalog_postgres

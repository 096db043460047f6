// The events of one server-sent-events stream on their way from a registry
// thread to the connection's strand, bounded: a reader that falls behind
// by `limit` frames loses what it missed for one resync event, after which
// the stream ends (the client lists the role again), so a slow reader
// cannot make the agent hold more (docs/security.md).
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

namespace host::agent {

// THREADING: push() from any thread, pop() from the connection's strand.
class EventQueue {
public:
    explicit EventQueue(std::size_t limit) : limit_(limit) {}

    // False when the stream is ending (it overflowed): nothing was queued.
    bool push(std::string frame) {
        std::lock_guard lk(mu_);
        if (overflowed_) return false;
        if (frames_.size() >= limit_) {
            frames_.clear();
            frames_.push_back(kResync);
            overflowed_ = true;
            return true;
        }
        frames_.push_back(std::move(frame));
        return true;
    }

    struct Frame {
        std::string text;
        bool last = false;  // the resync: close the stream once it is written
    };
    // The next frame to write, if any.
    std::optional<Frame> pop() {
        std::lock_guard lk(mu_);
        if (frames_.empty()) return std::nullopt;
        Frame f{std::move(frames_.front()), false};
        frames_.pop_front();
        f.last = overflowed_ && frames_.empty();
        return f;
    }

    static constexpr const char* kResync =
        "event: resync\ndata: {\"reason\": \"the reader fell behind; list the role again\"}\n\n";

private:
    std::size_t limit_;
    std::mutex mu_;  // guards what follows
    std::deque<std::string> frames_;
    bool overflowed_ = false;
};

}  // namespace host::agent

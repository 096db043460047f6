// Splits etcd's watch stream into its JSON messages. The gateway writes one
// object per message, but HTTP hands them over in chunks that can end
// anywhere (inside a string, between two objects): a message is complete
// when the braces opened at its start close, counted outside strings.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace etcd {

class JsonStream {
public:
    // `max_message`: the longest message held; a longer one is an error
    // (a broken or hostile peer), not a reason to grow without bound.
    explicit JsonStream(std::size_t max_message) : max_(max_message) {}

    // Feeds the next bytes; calls `on_message` with each message they
    // complete. False when a message outgrew max_message or the stream is
    // not JSON objects: the caller drops the stream.
    bool feed(std::string_view bytes, const std::function<void(std::string_view)>& on_message);

    // Forgets a partial message (a new stream starts).
    void reset();

private:
    std::size_t max_;
    std::string buf_;  // the message being read
    int depth_ = 0;
    bool in_string_ = false, escaped_ = false;
};

}  // namespace etcd

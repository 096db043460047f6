#include "json_stream.hpp"

namespace etcd {

bool JsonStream::feed(std::string_view bytes, const std::function<void(std::string_view)>& on_message) {
    for (char c : bytes) {
        if (depth_ == 0) {
            if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;  // between messages
            if (c != '{') return false;
        }
        buf_ += c;
        if (buf_.size() > max_) return false;
        if (in_string_) {
            if (escaped_)
                escaped_ = false;
            else if (c == '\\')
                escaped_ = true;
            else if (c == '"')
                in_string_ = false;
            continue;
        }
        if (c == '"') {
            in_string_ = true;
        } else if (c == '{' || c == '[') {
            ++depth_;
        } else if (c == '}' || c == ']') {
            if (--depth_ == 0) {
                on_message(buf_);
                buf_.clear();
            }
        }
    }
    return true;
}

void JsonStream::reset() {
    buf_.clear();
    depth_ = 0;
    in_string_ = escaped_ = false;
}

}  // namespace etcd

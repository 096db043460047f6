// muster's own logger. Every line of the core, the host and the plugins
// (through the host's services) goes to it, never to spdlog's default
// logger: when muster is embedded (libmuster), the default logger and its
// level belong to the application. By default it writes to stderr at info;
// muster-host sets its level, libmuster sets warn and may hand each line to
// the application instead (muster_set_log in client.h).
#pragma once

#include <spdlog/logger.h>

#include <functional>
#include <string>
#include <utility>

namespace muster::core::log {

// The logger. THREADING: any thread; sinks and level are the logger's own.
spdlog::logger& get();

template <class... A>
void trace(spdlog::format_string_t<A...> f, A&&... a) {
    get().trace(f, std::forward<A>(a)...);
}
template <class... A>
void debug(spdlog::format_string_t<A...> f, A&&... a) {
    get().debug(f, std::forward<A>(a)...);
}
template <class... A>
void info(spdlog::format_string_t<A...> f, A&&... a) {
    get().info(f, std::forward<A>(a)...);
}
template <class... A>
void warn(spdlog::format_string_t<A...> f, A&&... a) {
    get().warn(f, std::forward<A>(a)...);
}
template <class... A>
void error(spdlog::format_string_t<A...> f, A&&... a) {
    get().error(f, std::forward<A>(a)...);
}

// Lines at `level` and above are written; "trace", "debug", "info",
// "warn", "error" or "off" (spdlog's names).
void set_level(spdlog::level::level_enum level);

// Where lines go instead of stderr: `to(level, message)` for each, the
// message without time or level (the receiver adds its own). An empty
// function restores stderr. `to` runs on the logging thread, one line at a
// time, and must not log through muster. THREADING: any thread.
using Receiver = std::function<void(spdlog::level::level_enum level, const std::string& message)>;
void send_to(Receiver to);

}  // namespace muster::core::log

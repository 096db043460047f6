#include <muster/core/log.hpp>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <memory>
#include <mutex>

namespace muster::core::log {

namespace {

// Stderr (time, level, message, as muster-host prints), or the receiver
// when one is set: one sink, so that switching never races a line.
class Sink : public spdlog::sinks::base_sink<std::mutex> {
public:
    Sink() : stderr_(std::make_unique<spdlog::sinks::stderr_color_sink_st>()) {
        stderr_->set_formatter(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v",
                                                                           spdlog::pattern_time_type::utc));
    }
    void receive(Receiver to) {
        std::lock_guard lk(mutex_);
        to_ = std::move(to);
    }

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        if (to_)
            to_(msg.level, std::string(msg.payload.data(), msg.payload.size()));
        else
            stderr_->log(msg);
    }
    void flush_() override { stderr_->flush(); }
    // The pattern is stderr's own; a receiver gets the bare message.
    void set_pattern_(const std::string&) override {}
    void set_formatter_(std::unique_ptr<spdlog::formatter>) override {}

private:
    std::unique_ptr<spdlog::sinks::stderr_color_sink_st> stderr_;
    Receiver to_;
};

struct Logger {
    std::shared_ptr<Sink> sink = std::make_shared<Sink>();
    spdlog::logger logger{"muster", sink};
};

Logger& the() {
    static Logger* l = new Logger();  // never destroyed: threads may log during exit
    return *l;
}

}  // namespace

spdlog::logger& get() { return the().logger; }

void set_level(spdlog::level::level_enum level) { the().logger.set_level(level); }

void send_to(Receiver to) { the().sink->receive(std::move(to)); }

}  // namespace muster::core::log

// health-tcp: an instance is passing when a TCP connection to its address
// opens within the timeout, warning when it opens but slower than `slow`,
// critical when it is refused or times out.
#include <muster/cpp/health.hpp>
#include <muster/cpp/option_spec.hpp>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

namespace {

using muster::sdk::Verdict;

// host and port of a validated address (rule F3).
std::pair<std::string, std::string> split(const std::string& address) {
    auto colon = address.rfind(':');
    std::string host = address.substr(0, colon);
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    return {host, address.substr(colon + 1)};
}

class HealthTcp : public muster::sdk::HealthCheck {
public:
    static constexpr const char* kName = MUSTER_PLUGIN_NAME;  // muster_add_plugin(... NAME ...)
    static constexpr const char* kDescription = "passing when a TCP connection to the address opens in time";
    static std::span<const muster_option_spec> options() {
        static const muster_option_spec specs[] = {
            muster::sdk::duration_option("slow", "a connection slower than this is a warning").defaults_to("1s"),
        };
        return specs;
    }

    explicit HealthTcp(const muster::sdk::HealthContext& ctx) : slow_ms_(ctx.options.get_duration_ms("slow", 1000)) {}

    Verdict check(const muster::sdk::Instance& instance, std::int64_t timeout_ms) override {
        auto start = std::chrono::steady_clock::now();
        auto [host, port] = split(instance.address);
        addrinfo hints{};
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* res = nullptr;
        if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0)
            return {MUSTER_HEALTH_CRITICAL, "cannot resolve " + host + ": " + gai_strerror(rc)};
        std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, &freeaddrinfo);
        std::string why = "no address for " + host;
        for (addrinfo* ai = res; ai; ai = ai->ai_next) {
            int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
            if (fd < 0) continue;
            int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
            if (rc < 0 && errno == EINPROGRESS) {
                auto left = timeout_ms - std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::steady_clock::now() - start)
                                             .count();
                pollfd p{fd, POLLOUT, 0};
                rc = poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left, 0)));
                if (rc == 0) {
                    close(fd);
                    return {MUSTER_HEALTH_CRITICAL, "connect to " + instance.address + " timed out"};
                }
                int so_error = 0;
                socklen_t len = sizeof so_error;
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
                rc = so_error == 0 ? 0 : -1;
                errno = so_error;
            }
            int saved = errno;
            close(fd);
            if (rc == 0) {
                auto took =
                    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)
                        .count();
                if (took > slow_ms_) return {MUSTER_HEALTH_WARNING, "connect took " + std::to_string(took) + "ms"};
                return {MUSTER_HEALTH_PASSING, ""};
            }
            why = "connect to " + instance.address + ": " + std::strerror(saved);
        }
        return {MUSTER_HEALTH_CRITICAL, why};
    }

private:
    std::int64_t slow_ms_;
};

}  // namespace

MUSTER_EXPORT_HEALTH(HealthTcp, "1.0.0")

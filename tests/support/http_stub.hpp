// A one-thread HTTP server on a free loopback port for the health-http
// tests: answers every request with the status and body set now (the body
// may quote a request header, to test masking), or, when silent, accepts
// and never answers.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace test_support {

class HttpStub {
public:
    HttpStub() {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        listen(fd_, 64);
        socklen_t len = sizeof a;
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~HttpStub() {
        stop_ = true;
        thread_.join();
        for (int c : held_) close(c);
        close(fd_);
    }
    int port() const { return port_; }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    // The next answers: status and body; "{header:NAME}" in the body is
    // replaced by that request header's value.
    void answer(int status, std::string body) {
        std::lock_guard lk(mu_);
        status_ = status;
        body_ = std::move(body);
    }
    void silent(bool on) { silent_ = on; }
    std::string last_request() {
        std::lock_guard lk(mu_);
        return last_;
    }
    int requests() const { return requests_; }

private:
    void serve() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (poll(&p, 1, 50) <= 0) continue;
            int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) continue;
            if (silent_) {  // keep it open, say nothing
                held_.push_back(c);
                continue;
            }
            std::string req;
            char buf[4096];
            while (req.find("\r\n\r\n") == std::string::npos) {
                pollfd q{c, POLLIN, 0};
                if (poll(&q, 1, 1000) <= 0) break;
                ssize_t n = read(c, buf, sizeof buf);
                if (n <= 0) break;
                req.append(buf, static_cast<std::size_t>(n));
            }
            std::string body;
            int status;
            {
                std::lock_guard lk(mu_);
                last_ = req;
                status = status_;
                body = body_;
            }
            ++requests_;
            if (auto at = body.find("{header:"); at != std::string::npos) {
                auto end = body.find('}', at);
                std::string name = body.substr(at + 8, end - at - 8) + ": ";
                auto h = req.find(name);
                std::string value =
                    h == std::string::npos ? "" : req.substr(h + name.size(), req.find("\r\n", h) - h - name.size());
                body.replace(at, end - at + 1, value);
            }
            std::string resp = "HTTP/1.1 " + std::to_string(status) +
                               " X\r\nContent-Length: " + std::to_string(body.size()) +
                               "\r\nConnection: close\r\n\r\n" + body;
            [[maybe_unused]] auto w = write(c, resp.data(), resp.size());
            close(c);
        }
    }

    int fd_ = -1, port_ = 0;
    std::atomic<bool> stop_{false}, silent_{false};
    std::atomic<int> requests_{0};
    std::mutex mu_;
    int status_ = 200;
    std::string body_ = "ok", last_;
    std::vector<int> held_;
    std::thread thread_;
};

}  // namespace test_support

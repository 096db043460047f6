// health-exec and health-http against commands and an HTTP server the tests
// start, and the registry's health: thresholds over time, several checks,
// deregister_critical_after, pushed health, dependencies (cycles too).
#include <muster/core/registry.hpp>
#include <muster/cpp/error.hpp>

#include "../support/http_stub.hpp"
#include "../support/self_signed.hpp"
#include "../support/test_support.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace muster::core;
using namespace std::chrono_literals;
using namespace test_support;

namespace {

PluginLoader& loader() {
    static PluginLoader l;
    return l;
}

std::shared_ptr<HealthClient> check_of(const char* plugin, std::vector<std::pair<std::string, std::string>> options) {
    return HealthClient::create(loader().load(plugin), options);
}

muster::sdk::Instance instance_at(const std::string& address) {
    muster::sdk::Instance i;
    i.id = "3f2b8c1e-0d4a-4c55-9e1a-6b7f0c2d9e11";
    i.role = "querier";
    i.address = address;
    i.metadata["path"] = "healthz";
    return i;
}

// A health-exec check whose exit status is whatever the file says.
struct Switch {
    std::filesystem::path file =
        std::filesystem::temp_directory_path() /
        ("muster-switch-" + std::to_string(getpid()) + "-" + std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    explicit Switch(int status) { set(status); }
    ~Switch() { std::filesystem::remove(file); }
    void set(int status) { std::ofstream(file) << status << "\n"; }
    CheckSpec spec(int rise, int fall, std::chrono::milliseconds interval = 100ms,
                   std::chrono::milliseconds deregister_after = 0ms) const {
        CheckSpec s;
        s.name = "switch";
        s.client = check_of("health-exec", {{"command", "exit $(cat " + file.string() + ")"}, {"shell", "true"}});
        s.interval = interval;
        s.timeout = 2000ms;
        s.success_before_passing = rise;
        s.failures_before_critical = fall;
        s.deregister_critical_after = deregister_after;
        return s;
    }
};

muster_health health_of(Registry& r, const std::string& role, const std::string& id) {
    auto snapshot = r.resolve(role);  // held while the loop reads it
    for (const auto& i : snapshot->instances)
        if (i.id == id) return i.health;
    return static_cast<muster_health>(99);
}

}  // namespace

TEST_CASE("health-exec: exit 0 passing, 1 warning, else critical; the first output line is the reason") {
    auto in = instance_at("127.0.0.1:1");
    CHECK(check_of("health-exec", {{"command", "true"}})->check(in, 2000).health == MUSTER_HEALTH_PASSING);
    auto warn = check_of("health-exec", {{"command", "sh -c 'echo queue long; exit 1'"}})->check(in, 2000);
    CHECK(warn.health == MUSTER_HEALTH_WARNING);
    CHECK(warn.reason == "queue long");
    auto crit = check_of("health-exec", {{"command", "sh -c 'exit 2'"}})->check(in, 2000);
    CHECK(crit.health == MUSTER_HEALTH_CRITICAL);
    CHECK(crit.reason == "exit status 2");
    auto absent = check_of("health-exec", {{"command", "/nonexistent/probe"}})->check(in, 2000);
    CHECK(absent.health == MUSTER_HEALTH_CRITICAL);
}

TEST_CASE("health-exec: placeholders are filled as separate arguments, without a shell") {
    auto in = instance_at("127.0.0.1:7001");
    auto r =
        check_of("health-exec", {{"command", "echo {role} {address} {port} {meta.path} '{id} x'"}})->check(in, 2000);
    CHECK(r.reason == "querier 127.0.0.1:7001 7001 healthz 3f2b8c1e-0d4a-4c55-9e1a-6b7f0c2d9e11 x");
    auto missing = check_of("health-exec", {{"command", "echo {meta.nope}"}})->check(in, 2000);
    CHECK(missing.health == MUSTER_HEALTH_CRITICAL);
    CHECK_THROWS_AS(check_of("health-exec", {{"command", "echo {bogus}"}}), muster::sdk::Error);
    CHECK_THROWS_AS(check_of("health-exec", {{"command", "echo 'unclosed"}}), muster::sdk::Error);
}

// docs/security.md, item 8: metadata is the registrant's to choose.
TEST_CASE("health-exec: under a shell, a placeholder's value is one quoted word, never shell syntax") {
    auto marker = std::filesystem::temp_directory_path() / ("muster-exec-injected-" + std::to_string(getpid()));
    std::filesystem::remove(marker);
    auto in = instance_at("127.0.0.1:7001");
    in.metadata["path"] = "x'; touch " + marker.string() + "; echo '$(touch " + marker.string() + ")";
    auto r = check_of("health-exec", {{"command", "echo {meta.path} | wc -w"}, {"shell", "true"}})->check(in, 2000);
    CHECK_FALSE(std::filesystem::exists(marker));
    CHECK(r.health == MUSTER_HEALTH_PASSING);
    auto echoed = check_of("health-exec", {{"command", "printf %s {meta.path}"}, {"shell", "true"}})->check(in, 2000);
    CHECK(echoed.reason == in.metadata["path"]);  // the value arrives as written
}

TEST_CASE("health-exec: the command does not see the host's environment") {
    setenv("MUSTER_TEST_SECRET_TOKEN", "hunter2", 1);
    auto in = instance_at("127.0.0.1:1");
    auto r = check_of("health-exec", {{"command", "sh -c 'env | tr \"\\n\" \" \"'"}})->check(in, 2000);
    CHECK(r.reason.find("hunter2") == std::string::npos);
    CHECK(r.reason.find("MUSTER_ADDRESS=127.0.0.1:1") != std::string::npos);
    auto passed = check_of("health-exec", {{"command", "sh -c 'echo $MUSTER_TEST_SECRET_TOKEN'"},
                                           {"pass_env", "MUSTER_TEST_SECRET_TOKEN"}})
                      ->check(in, 2000);
    CHECK(passed.reason == "hunter2");  // only when named
    unsetenv("MUSTER_TEST_SECRET_TOKEN");
}

TEST_CASE("health-exec: a command past the timeout is killed with everything it started") {
    auto marker = std::filesystem::temp_directory_path() / ("muster-exec-marker-" + std::to_string(getpid()));
    std::filesystem::remove(marker);
    auto in = instance_at("127.0.0.1:1");
    auto started = std::chrono::steady_clock::now();
    auto r =
        check_of("health-exec", {{"command", "(sleep 1; touch " + marker.string() + ") & sleep 30"}, {"shell", "true"}})
            ->check(in, 300);
    auto took = std::chrono::steady_clock::now() - started;
    CHECK(r.health == MUSTER_HEALTH_CRITICAL);
    CHECK(r.reason.find("timed out") != std::string::npos);
    CHECK(took < 2s);
    std::this_thread::sleep_for(1500ms);
    CHECK_FALSE(std::filesystem::exists(marker));  // the background child died with its group
}

// docs/security.md, item 9.
TEST_CASE("health-exec: a child that left the group (setsid) dies with a timed-out command") {
    auto marker = std::filesystem::temp_directory_path() / ("muster-exec-setsid-" + std::to_string(getpid()));
    std::filesystem::remove(marker);
    auto in = instance_at("127.0.0.1:1");
    auto r = check_of("health-exec", {{"command", "setsid sh -c 'sleep 1; touch " + marker.string() + "' & sleep 30"},
                                      {"shell", "true"}})
                 ->check(in, 300);
    CHECK(r.reason.find("timed out") != std::string::npos);
    std::this_thread::sleep_for(1500ms);
    CHECK_FALSE(std::filesystem::exists(marker));
}

TEST_CASE("health-http: the status decides, the body is the reason, body_match is required when set") {
    HttpStub server;
    auto in = instance_at(server.address());
    auto http = [&](std::vector<std::pair<std::string, std::string>> extra = {}) {
        extra.emplace_back("url", "http://{address}/{meta.path}");
        return check_of("health-http", extra);
    };
    server.answer(200, "all good");
    auto ok = http()->check(in, 2000);
    CHECK(ok.health == MUSTER_HEALTH_PASSING);
    CHECK(server.last_request().rfind("GET /healthz HTTP/1.1", 0) == 0);
    server.answer(429, "slow down");
    CHECK(http()->check(in, 2000).health == MUSTER_HEALTH_WARNING);
    server.answer(503, "database unreachable\nretry later");
    auto bad = http()->check(in, 2000);
    CHECK(bad.health == MUSTER_HEALTH_CRITICAL);
    CHECK(bad.reason == "HTTP 503: database unreachable retry later");
    server.answer(200, "degraded");
    CHECK(http({{"body_match", "all good"}})->check(in, 2000).health == MUSTER_HEALTH_CRITICAL);
    server.answer(204, "");
    CHECK(http({{"passing_status", "200"}})->check(in, 2000).health == MUSTER_HEALTH_CRITICAL);
    server.answer(301, "moved");
    CHECK(http()->check(in, 2000).health == MUSTER_HEALTH_CRITICAL);  // redirects are not followed
    CHECK_THROWS_AS(http({{"passing_status", "2xz"}}), muster::sdk::Error);
    CHECK_THROWS_AS(check_of("health-http", {{"url", "ftp://{address}/"}}), muster::sdk::Error);
}

TEST_CASE("health-http: headers are sent, and their values never appear in a reason") {
    HttpStub server;
    auto in = instance_at(server.address());
    server.answer(401, "bad token {header:Authorization} for you");
    auto check = check_of("health-http", {{"url", "http://{address}/"},
                                          {"headers", "Authorization: Bearer s3cr3t-t0ken\nX-Probe: muster"}});
    auto r = check->check(in, 2000);
    CHECK(server.last_request().find("Authorization: Bearer s3cr3t-t0ken") != std::string::npos);
    CHECK(server.last_request().find("X-Probe: muster") != std::string::npos);
    CHECK(r.health == MUSTER_HEALTH_CRITICAL);
    CHECK(r.reason.find("s3cr3t") == std::string::npos);
    CHECK(r.reason.find("bad token") != std::string::npos);
}

TEST_CASE("health-http: a server that accepts and never answers is critical within the timeout") {
    HttpStub server;
    server.silent(true);
    auto in = instance_at(server.address());
    auto started = std::chrono::steady_clock::now();
    auto r = check_of("health-http", {{"url", "http://{address}/"}})->check(in, 300);
    CHECK(r.health == MUSTER_HEALTH_CRITICAL);
    CHECK(std::chrono::steady_clock::now() - started < 1300ms);
}

// An HTTPS server: openssl s_server -www with a self-signed certificate for
// muster.test, on a free port, killed at the end.
struct HttpsServer {
    SelfSigned tls{"https"};
    pid_t pid = 0;
    int port = 0;
    HttpsServer() {
        // openssl picks the port itself (-accept :0) and prints it once it
        // listens: a port chosen before the server binds it could be taken
        // meanwhile by another test's connection.
        auto out = tls.dir / "s_server.out";
        std::fflush(nullptr);  // nothing buffered is written twice
        pid = fork();
        if (pid == 0) {
            std::string cert = tls.cert().string(), key = tls.key().string();
            std::freopen(out.c_str(), "w", stdout);
            std::freopen("/dev/null", "w", stderr);
            execlp("openssl", "openssl", "s_server", "-www", "-accept", "127.0.0.1:0", "-cert", cert.c_str(), "-key",
                   key.c_str(), static_cast<char*>(nullptr));
            _exit(127);
        }
        REQUIRE(eventually(
            [&] {
                std::ifstream f(out);
                for (std::string line; std::getline(f, line);)
                    if (line.rfind("ACCEPT ", 0) == 0) {  // ACCEPT 127.0.0.1:PORT
                        port = std::stoi(line.substr(line.rfind(':') + 1));
                        return true;
                    }
                return false;
            },
            10s));
    }
    ~HttpsServer() {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
    }
};

TEST_CASE("health-http: TLS verifies the server by ca_file and server_name; insecure only when asked") {
    HttpsServer server;
    auto in = instance_at("127.0.0.1:" + std::to_string(server.port));
    std::string ca = server.tls.cert().string();
    auto https = [&](std::vector<std::pair<std::string, std::string>> extra) {
        extra.emplace_back("url", "https://{address}/");
        return check_of("health-http", extra)->check(in, 3000);
    };
    auto ok = https({{"ca_file", ca}, {"server_name", "muster.test"}});
    CHECK(ok.health == MUSTER_HEALTH_PASSING);
    CHECK(https({{"ca_file", ca}}).health == MUSTER_HEALTH_CRITICAL);  // the name is an IP, not muster.test
    CHECK(https({{"ca_file", ca}, {"server_name", "other.test"}}).health == MUSTER_HEALTH_CRITICAL);
    CHECK(https({}).health == MUSTER_HEALTH_CRITICAL);  // not signed by a CA the system knows
    CHECK(https({{"insecure", "true"}}).health == MUSTER_HEALTH_PASSING);
}

TEST_CASE("registry: the first verdict is published with the registration; thresholds damp what follows") {
    Registry registry(std::make_shared<Chain>(std::vector<Link>{{memory_backend(), true}}), fast_options());
    Switch sw(2);
    auto reg = registry.register_instance({"api", "127.0.0.1:7001", "", {}, {sw.spec(2, 3)}, {}});
    CHECK(health_of(registry, "api", reg.id()) == MUSTER_HEALTH_CRITICAL);  // first verdict, no waiting
    sw.set(0);
    CHECK(eventually([&] { return health_of(registry, "api", reg.id()) == MUSTER_HEALTH_PASSING; }, 5s));
    auto snap = registry.resolve("api");
    CHECK(snap->instances.at(0).metadata.count(MUSTER_META_HEALTH_REASON) == 0);
    sw.set(2);
    CHECK(eventually([&] { return health_of(registry, "api", reg.id()) == MUSTER_HEALTH_CRITICAL; }, 5s));
    auto reason = registry.resolve("api")->instances.at(0).metadata.at(MUSTER_META_HEALTH_REASON);
    CHECK(reason.find("switch: exit status 2") != std::string::npos);
}

TEST_CASE("registry: a check alternating pass and fail on every run publishes no change") {
    Registry registry(std::make_shared<Chain>(std::vector<Link>{{memory_backend(), true}}), fast_options());
    Switch sw(0);
    // Each run flips the file for the next: pass, fail, pass, ... by
    // invocation, however the runs are timed.
    CheckSpec flip = sw.spec(2, 3, 50ms);
    flip.client = check_of("health-exec", {{"command", "n=$(cat " + sw.file.string() + "); echo $((1 - n)) > " +
                                                           sw.file.string() + "; exit $((n * 2))"},
                                           {"shell", "true"}});
    auto reg = registry.register_instance({"flap", "127.0.0.1:7001", "", {}, {flip}, {}});
    Events ev;
    auto sub = registry.watch(std::string("flap"), ev.cb());
    std::this_thread::sleep_for(2s);  // dozens of runs
    CHECK(ev.count(MUSTER_EVENT_CHANGED) == 0);
    CHECK(health_of(registry, "flap", reg.id()) == MUSTER_HEALTH_PASSING);
}

TEST_CASE("registry: critical for deregister_critical_after deregisters the instance") {
    Registry registry(std::make_shared<Chain>(std::vector<Link>{{memory_backend(), true}}), fast_options());
    Switch sw(0);
    auto reg = registry.register_instance({"doomed", "127.0.0.1:7001", "", {}, {sw.spec(1, 1, 100ms, 500ms)}, {}});
    sw.set(2);
    CHECK(eventually([&] { return registry.resolve("doomed")->instances.empty(); }, 5s));
    CHECK(reg.stop().ok());  // nothing left to stop
}

TEST_CASE("registry: pushed health is published, and turns critical when its ttl passes") {
    Registry registry(std::make_shared<Chain>(std::vector<Link>{{memory_backend(), true}}), fast_options());
    auto reg = registry.register_instance({"pushy", "127.0.0.1:7001", "", {}, {}, {}});
    CHECK(reg.set_health(MUSTER_HEALTH_WARNING, "backlog 900", 600ms).ok());
    CHECK(eventually([&] { return health_of(registry, "pushy", reg.id()) == MUSTER_HEALTH_WARNING; }, 5s));
    CHECK(eventually([&] { return health_of(registry, "pushy", reg.id()) == MUSTER_HEALTH_CRITICAL; }, 5s));
    CHECK(reg.set_health(MUSTER_HEALTH_PASSING).ok());
    CHECK(eventually([&] { return health_of(registry, "pushy", reg.id()) == MUSTER_HEALTH_PASSING; }, 5s));
    reg.stop();
    CHECK(reg.set_health(MUSTER_HEALTH_PASSING).status == MUSTER_NOT_FOUND);
}

TEST_CASE("registry: a dependency short of passing instances warns, and recovers") {
    Registry registry(std::make_shared<Chain>(std::vector<Link>{{memory_backend(), true}}), fast_options());
    auto router = registry.register_instance({"router", "127.0.0.1:7001", "", {}, {}, {{"querier", 2}}});
    CHECK(health_of(registry, "router", router.id()) == MUSTER_HEALTH_WARNING);
    auto reason = registry.resolve("router")->instances.at(0).metadata.at(MUSTER_META_HEALTH_REASON);
    CHECK(reason == "dependency querier: 0 of 2 required passing instance(s)");
    auto q1 = registry.register_instance({"querier", "127.0.0.1:7002", "", {}, {}, {}});
    auto q2 = registry.register_instance({"querier", "127.0.0.1:7003", "", {}, {}, {}});
    CHECK(eventually([&] { return health_of(registry, "router", router.id()) == MUSTER_HEALTH_PASSING; }, 5s));
    q2.stop();
    CHECK(eventually([&] { return health_of(registry, "router", router.id()) == MUSTER_HEALTH_WARNING; }, 5s));
}

TEST_CASE("registry: dependencies in a cycle do not feed back") {
    Registry registry(std::make_shared<Chain>(std::vector<Link>{{memory_backend(), true}}), fast_options());
    Switch sw(0);
    auto a = registry.register_instance({"alpha", "127.0.0.1:7001", "", {}, {sw.spec(1, 1)}, {{"beta", 1}}});
    auto b = registry.register_instance({"beta", "127.0.0.1:7002", "", {}, {}, {{"alpha", 1}}});
    CHECK(eventually(
        [&] {
            return health_of(registry, "alpha", a.id()) == MUSTER_HEALTH_PASSING &&
                   health_of(registry, "beta", b.id()) == MUSTER_HEALTH_PASSING;
        },
        5s));
    sw.set(2);  // alpha's own check fails: beta warns; alpha stays critical, not worse, and beta's warning
                // does not make alpha's dependency short (beta's own verdict is still passing)
    CHECK(eventually([&] { return health_of(registry, "beta", b.id()) == MUSTER_HEALTH_WARNING; }, 5s));
    std::this_thread::sleep_for(500ms);
    auto alpha = registry.resolve("alpha")->instances.at(0);
    CHECK(alpha.health == MUSTER_HEALTH_CRITICAL);
    CHECK(alpha.metadata.at(MUSTER_META_HEALTH_REASON).find("dependency") == std::string::npos);
    sw.set(0);
    CHECK(eventually(
        [&] {
            return health_of(registry, "alpha", a.id()) == MUSTER_HEALTH_PASSING &&
                   health_of(registry, "beta", b.id()) == MUSTER_HEALTH_PASSING;
        },
        5s));
}

TEST_CASE("registry: a check that hangs past its timeout is critical, and delays no other check or heartbeat") {
    Registry registry(std::make_shared<Chain>(std::vector<Link>{{memory_backend(), true}}), fast_options());
    CheckSpec hang;
    hang.name = "hang";
    hang.client = HealthClient::create(loader().load(std::string(MUSTER_BROKEN_DIR) + "/broken-health-hang.so"), {});
    hang.interval = 300ms;
    hang.timeout = 200ms;
    Switch sw(0);
    auto stuck = registry.register_instance({"stuck", "127.0.0.1:7001", "", {}, {hang}, {}});
    auto reason = registry.resolve("stuck")->instances.at(0).metadata.at(MUSTER_META_HEALTH_REASON);
    CHECK(reason.find("no verdict within 1200 ms") != std::string::npos);
    auto other = registry.register_instance({"other", "127.0.0.1:7002", "", {}, {sw.spec(1, 1, 100ms)}, {}});
    sw.set(2);  // the other check goes on while the hung one holds a worker
    CHECK(eventually([&] { return health_of(registry, "other", other.id()) == MUSTER_HEALTH_CRITICAL; }, 3s));
    sw.set(0);
    CHECK(eventually([&] { return health_of(registry, "other", other.id()) == MUSTER_HEALTH_PASSING; }, 3s));
    std::this_thread::sleep_for(1500ms);  // longer than the ttl: heartbeats went on
    CHECK(registry.resolve("stuck")->instances.size() == 1);
    CHECK(registry.resolve("other")->instances.size() == 1);
}

TEST_CASE("registry: metadata keys starting with muster. are refused") {
    Registry registry(std::make_shared<Chain>(std::vector<Link>{{memory_backend(), true}}), fast_options());
    CHECK_THROWS_AS(registry.register_instance({"api", "127.0.0.1:1", "", {{"muster.health.reason", "fine"}}, {}, {}}),
                    muster::sdk::Error);
}

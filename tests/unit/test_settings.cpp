#include "compose/config_file.hpp"
#include "compose/node.hpp"
#include "compose/settings.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace host;

namespace {

std::string write_file(const std::string& text) {
    static int n = 0;
    std::string path = (std::filesystem::temp_directory_path() /
                        ("muster-test-" + std::to_string(getpid()) + "-" + std::to_string(n++) + ".toml"))
                           .string();
    std::ofstream(path) << text;
    return path;
}

// Settings from command-line-like pairs: {"--ttl", "30s", "--config", FILE}.
Settings load(std::vector<std::string> args) {
    SettingsSource source;
    source.overrides_origin = "command line --";
    for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
        REQUIRE(args[i].rfind("--", 0) == 0);
        if (args[i] == "--config")
            source.config_path = args[i + 1];
        else
            source.overrides.emplace_back(args[i].substr(2), args[i + 1]);
    }
    return load_settings(source);
}

// What load() refuses it as; nullopt when it takes the settings.
std::optional<Fault> fault_of(std::vector<std::string> args, std::string* message = nullptr) {
    try {
        load(std::move(args));
    } catch (const SetupError& e) {
        if (message) *message = e.what();
        return e.fault();
    }
    return std::nullopt;
}

}  // namespace

TEST_CASE("the parser reads sections, quoted strings, bare values and comments") {
    auto entries = parse_config(
        "# c\n[discovery]\nchain = \"a, b\" # trailing\nenabled = true\n\n[backend.x]\nport = 42\n"
        "s = \"q\\\"uote\\\\\"\n",
        "t.toml");
    REQUIRE(entries.size() == 4);
    CHECK(entries[0].section == "discovery");
    CHECK(entries[0].value == "a, b");
    CHECK(entries[0].line == 3);
    CHECK(entries[1].value == "true");
    CHECK(entries[2].section == "backend.x");
    CHECK(entries[2].value == "42");
    CHECK(entries[3].value == "q\"uote\\");
}

TEST_CASE("syntax errors name the file, line and column") {
    auto line_of = [](const std::string& text) {
        try {
            parse_config(text, "f.toml");
        } catch (const SetupError& e) {
            CHECK(e.fault() == Fault::config);
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(line_of("[discovery\n").rfind("f.toml:1:", 0) == 0);
    CHECK(line_of("[discovery]\nchain \"x\"\n").rfind("f.toml:2:", 0) == 0);
    CHECK(line_of("[discovery]\nchain = \"x\n").rfind("f.toml:2:11: ", 0) == 0);  // the unterminated string
    CHECK(line_of("[discovery]\nchain = x y\n").rfind("f.toml:2:9: ", 0) == 0);
    CHECK(line_of("chain = \"x\"\n").find("outside any [section]") != std::string::npos);
    CHECK(line_of("[backend]\nx = 1\n").find("belongs in a section [backend.NAME]") != std::string::npos);
    CHECK(line_of("[d]\na = 1\na = 2\n").find("f.toml:3:") == 0);  // set twice
    CHECK(line_of("[d]\na = 1979-05-27\n").find("write it as a string") != std::string::npos);
    CHECK(line_of("[d]\na = 0.25\nb = -3\n") == "no error");
    for (const char* bad : {"[d]\na = 1.\n", "[d]\na = .5\n", "[d]\na = 1.2.3\n", "[d]\na = -\n"})
        CHECK(line_of(bad).rfind("f.toml:2:", 0) == 0);
}

TEST_CASE("the file is full TOML: arrays, inline tables, multi-line strings, dotted keys, in the file's order") {
    auto entries = parse_config(
        "[service.b]\nrole = \"querier\"\nmeta = { zone = \"a\" }\nchecks = [\"api\", \"tcp\"]\n"
        "[service.a]\nrole = 'writer'\nmeta.rack = \"r1\"\n[discovery]\nchain = "
        "\"\"\"\nnats-kv,\ncatalog-sqlite\"\"\"\n",
        "t.toml");
    REQUIRE(entries.size() == 6);
    CHECK(entries[0].section == "service.b");  // file order, not toml++'s sorted order
    CHECK(entries[1].key == "meta.zone");
    CHECK(entries[1].value == "a");
    CHECK(entries[2].value == "api, tcp");  // a list, as the settings read it
    CHECK(entries[2].line == 4);
    CHECK(entries[3].section == "service.a");
    CHECK(entries[4].key == "meta.rack");
    CHECK(entries[5].value == "nats-kv,\ncatalog-sqlite");
    auto s = load({"--config", write_file("[discovery]\nchain = \"\"\"\nmemory,\ncatalog-sqlite\"\"\"\n"
                                          "[service.q]\nrole = \"querier\"\naddress = \"127.0.0.1:1\"\n"
                                          "checks = [\"a\", \"b\"]\nmeta = { zone = \"z1\" }\n")});
    REQUIRE(s.chain.size() == 2);
    CHECK(s.chain[1].name == "catalog-sqlite");
    CHECK(s.services.at(0).checks == std::vector<std::string>{"a", "b"});
    CHECK(s.services[0].metadata.at("zone") == "z1");
}

TEST_CASE("the embedded default is catalog-sqlite with sensible timings") {
    Settings s = load({});
    REQUIRE(s.chain.size() == 1);
    CHECK(s.chain[0].name == "catalog-sqlite");
    CHECK(s.registry.heartbeat_interval.count() == 10000);
    CHECK(s.registry.ttl.count() == 30000);
}

TEST_CASE("the seed's configuration maps onto plugins") {
    auto path = write_file(
        "[database]\nurl = \"sqlite://signaldb.db\"\n\n[discovery]\nenabled = true\n"
        "heartbeat_interval = \"30s\"\n\n[queue]\nkind = \"nats\"\nurl = \"nats://localhost:4222\"\n");
    // As written: no ttl, which follows the interval (3x).
    Settings s = load({"--config", path});
    REQUIRE(s.chain.size() == 2);
    CHECK(s.chain[0].name == "nats-kv");
    CHECK(s.chain[0].options.at(0) == std::make_pair(std::string("url"), std::string("nats://localhost:4222")));
    CHECK(s.chain[1].name == "catalog-sqlite");
    CHECK(s.chain[1].options.at(0) == std::make_pair(std::string("path"), std::string("signaldb.db")));
    CHECK(s.registry.heartbeat_interval.count() == 30000);
    CHECK(s.registry.ttl.count() == 90000);
}

TEST_CASE("an unset ttl follows the heartbeat interval; a given one must exceed it") {
    CHECK(load({"--heartbeat-interval", "1s"}).registry.ttl.count() == 3000);
    CHECK(load({"--heartbeat-interval", "1s", "--ttl", "1500ms"}).registry.ttl.count() == 1500);
    std::string m;
    CHECK(fault_of({"--heartbeat-interval", "1s", "--ttl", "1s"}, &m) == Fault::config);
    CHECK(m.find("leave ttl unset") != std::string::npos);
    CHECK(fault_of({"--config", write_file("[discovery]\nheartbeat_interval = \"5s\"\nttl = \"4s\"\n")}, &m) ==
          Fault::config);
    CHECK(m.find(":3:") != std::string::npos);  // the ttl's line
}

TEST_CASE("the command line wins over the environment, which wins over the file") {
    auto path = write_file("[discovery]\nttl = \"40s\"\nheartbeat_interval = \"5s\"\n");
    setenv("MUSTER_TTL", "50s", 1);
    CHECK(load({"--config", path}).registry.ttl.count() == 50000);
    CHECK(load({"--config", path, "--ttl", "60s"}).registry.ttl.count() == 60000);
    unsetenv("MUSTER_TTL");
    CHECK(load({"--config", path}).registry.ttl.count() == 40000);
}

TEST_CASE("chains with actions, backend sections and services") {
    auto path = write_file(
        "[discovery]\nchain = \"memory, catalog-sqlite [NOTFOUND=return]\"\n"
        "[backend.catalog-sqlite]\npath = \"x.db\"\n"
        "[service.q1]\nrole = \"querier\"\naddress = \"127.0.0.1:7001\"\nmeta.zone = \"a\"\nchecks = \"health-tcp\"\n");
    Settings s = load({"--config", path});
    REQUIRE(s.chain.size() == 2);
    CHECK_FALSE(s.chain[0].return_on_empty);  // the default: an empty answer moves on
    CHECK(s.chain[1].return_on_empty);
    CHECK(s.chain[1].origins.at("path") == path + ":4");
    REQUIRE(s.services.size() == 1);
    CHECK(s.services[0].metadata.at("zone") == "a");
    CHECK(s.services[0].checks == std::vector<std::string>{"health-tcp"});
}

TEST_CASE("bad configuration is refused with the key and its line") {
    std::string m;
    CHECK(fault_of({"--config", "/nonexistent/muster.toml"}, &m) == Fault::config);
    CHECK(m.find("/nonexistent/muster.toml") != std::string::npos);
    CHECK(fault_of({"--config", std::filesystem::temp_directory_path().string()}, &m) == Fault::config);
    CHECK(m.find("is a directory") != std::string::npos);
    CHECK(fault_of({"--config", write_file("[nope]\na = 1\n")}, &m) == Fault::config);
    CHECK(m.find(":2: unknown section [nope]") != std::string::npos);
    CHECK(fault_of({"--config", write_file("[discovery]\nttl = \"forever\"\n")}, &m) == Fault::config);
    CHECK(m.find(":2:") != std::string::npos);
    CHECK(fault_of({"--config", write_file("[discovery]\ncolour = \"blue\"\n")}, &m) == Fault::config);
    CHECK(fault_of({"--heartbeat-interval", "30s", "--ttl", "10s"}, &m) == Fault::config);
    CHECK(fault_of({"--chain", "a [NOTFOUND=maybe]"}, &m) == Fault::config);
    CHECK(fault_of({"--chain", "Bad!"}, &m) == Fault::config);
    CHECK(fault_of({"--chain", "a, a"}, &m) == Fault::config);
    CHECK(fault_of({"--config", write_file("[database]\nurl = \"mysql://x\"\n")}, &m) == Fault::config);
    CHECK(fault_of({"--config", write_file("[service.x]\nrole = \"q\"\n")}, &m) == Fault::config);
    CHECK(fault_of({"--log-level", "loud"}, &m) == Fault::config);
}

TEST_CASE("health settings: named checks, their thresholds, workers and dependency severity") {
    auto s = load({"--config", write_file("[discovery]\ncheck_workers = 8\ndependency_severity = \"critical\"\n"
                                          "[check.api]\nplugin = \"health-http\"\nurl = \"http://{address}/\"\n"
                                          "interval = \"2s\"\ntimeout = \"1s\"\nsuccess_before_passing = 2\n"
                                          "failures_before_critical = 3\nderegister_critical_after = \"5m\"\n"
                                          "[service.q]\nrole = \"querier\"\naddress = \"127.0.0.1:7001\"\n"
                                          "checks = \"api\"\ndepends_on = \"router, writer:2\"\n")});
    CHECK(s.registry.check_workers == 8);
    CHECK(s.registry.dependency_severity == MUSTER_HEALTH_CRITICAL);
    const auto& api = s.checks.at("api");
    CHECK(api.plugin == "health-http");
    CHECK(api.interval == std::chrono::milliseconds(2000));
    CHECK(api.timeout == std::chrono::milliseconds(1000));
    CHECK(api.success_before_passing == 2);
    CHECK(api.failures_before_critical == 3);
    CHECK(api.deregister_critical_after == std::chrono::minutes(5));
    CHECK(api.options == std::vector<std::pair<std::string, std::string>>{{"url", "http://{address}/"}});
    CHECK(s.services.at(0).depends_on == std::vector<std::string>{"router, writer:2"});
    CHECK(s.services[0].bad_input == Fault::config);
    std::string m;
    CHECK(fault_of({"--check-workers", "0"}, &m) == Fault::config);
    CHECK(fault_of({"--dependency-severity", "passing"}, &m) == Fault::config);
    CHECK(fault_of({"--check-timeout", "20s"}, &m) == Fault::config);  // not shorter than check_interval
    CHECK(fault_of({"--config", write_file("[check.x]\nplugin = \"health-tcp\"\nfailures_before_critical = 0\n")},
                   &m) == Fault::config);
    CHECK(m.find("failures_before_critical") != std::string::npos);
}

TEST_CASE("the breakers and the mass-removal guard are settings, checked like the others") {
    auto s = load({"--config", write_file("[discovery]\nbreaker_threshold = 5\nbreaker_backoff = \"100ms\"\n"
                                          "breaker_max_backoff = \"2s\"\nguard_fraction = 0.8\n")});
    CHECK(s.chain_options.breaker.threshold == 5);
    CHECK(s.chain_options.breaker.initial_backoff == std::chrono::milliseconds(100));
    CHECK(s.chain_options.breaker.max_backoff == std::chrono::milliseconds(2000));
    CHECK(s.registry.guard_fraction == Approx(0.8));
    auto d = load({});
    CHECK(d.chain_options.breaker.threshold == 3);
    CHECK(d.registry.guard_fraction == Approx(0.5));
    std::string m;
    CHECK(fault_of({"--breaker-threshold", "0"}, &m) == Fault::config);
    CHECK(m.find("breaker_threshold") != std::string::npos);
    CHECK(fault_of({"--breaker-threshold", "lots"}, &m) == Fault::config);
    CHECK(fault_of({"--breaker-backoff", "5s", "--breaker-max-backoff", "1s"}, &m) == Fault::config);
    CHECK(fault_of({"--guard-fraction", "0"}, &m) == Fault::config);
    CHECK(fault_of({"--guard-fraction", "1.5"}, &m) == Fault::config);
    CHECK(fault_of({"--guard-fraction", "half"}, &m) == Fault::config);
    CHECK(m.find("guard_fraction") != std::string::npos);
}

TEST_CASE("a chain link may be a path to a plugin file; plugin directories add up") {
    Settings s = load({"--chain", "/opt/vendor/json-dir.so, memory", "--backend-option", "json-dir.dir=/tmp/x"});
    REQUIRE(s.chain.size() == 2);
    CHECK(s.chain[0].name == "json-dir");  // options go by the file's stem
    CHECK(s.chain[0].plugin == "/opt/vendor/json-dir.so");
    CHECK(s.chain[0].options.at(0).second == "/tmp/x");
    CHECK(s.chain[1].plugin == "memory");
    std::string m;
    CHECK(fault_of({"--chain", "/opt/vendor/readme.txt"}, &m) == Fault::config);
    CHECK(m.find("not to a plugin file") != std::string::npos);
    CHECK(load({"--plugin-dir", "/a", "--plugin-dir", "/b"}).plugin_dirs == std::vector<std::string>{"/a", "/b"});
    auto file = load({"--config", write_file("[discovery]\nplugin_dir = \"/a, /b\"\n")});
    CHECK(file.plugin_dirs == std::vector<std::string>{"/a", "/b"});
}

TEST_CASE("deadlines, keepalive and the start-up bound are settings") {
    auto d = load({});
    CHECK(d.chain_options.read_timeout.count() == 250);
    CHECK(d.chain_options.write_timeout.count() == 1000);
    CHECK(d.chain_options.keepalive.count() == 500);
    CHECK(d.startup_timeout.count() == 0);
    auto s = load({"--config", write_file("[discovery]\nread_timeout = \"100ms\"\nwrite_timeout = \"2s\"\n"
                                          "keepalive = 0\nstartup_timeout = \"1m\"\n")});
    CHECK(s.chain_options.read_timeout.count() == 100);
    CHECK(s.chain_options.write_timeout.count() == 2000);
    CHECK(s.chain_options.keepalive.count() == 0);
    CHECK(s.startup_timeout.count() == 60000);
    std::string m;
    CHECK(fault_of({"--read-timeout", "0"}, &m) == Fault::config);
    CHECK(fault_of({"--write-timeout", "soon"}, &m) == Fault::config);
}

TEST_CASE("--chain and MUSTER_CHAIN choose among the configured backends; a section naming no plugin is refused") {
    auto db =
        (std::filesystem::temp_directory_path() / ("muster-override-" + std::to_string(getpid()) + ".db")).string();
    auto file = write_file(
        "[discovery]\nchain = \"nats-kv, catalog-sqlite\"\n[backend.nats-kv]\nurl = "
        "\"nats://127.0.0.1:1\"\n[backend.catalog-sqlite]\npath = \"" +
        db + "\"\n");
    auto s = load({"--config", file, "--chain", "catalog-sqlite"});
    REQUIRE(s.chain.size() == 1);
    CHECK(s.chain[0].options == std::vector<std::pair<std::string, std::string>>{{"path", db}});
    CHECK_NOTHROW(compose(s, Startup::fail_fast));
    setenv("MUSTER_CHAIN", "catalog-sqlite", 1);
    auto from_env = load({"--config", file});
    unsetenv("MUSTER_CHAIN");
    REQUIRE(from_env.chain.size() == 1);
    CHECK(from_env.chain[0].name == "catalog-sqlite");

    // A misspelled section is not "unused": no plugin has that name.
    auto typo = load({"--config", write_file("[backend.catalog-sqlit]\npath = \"x.db\"\n"), "--chain", "memory"});
    try {
        compose(typo, Startup::fail_fast);
        FAIL("a section naming no plugin was accepted");
    } catch (const SetupError& e) {
        CHECK(e.fault() == Fault::config);
        CHECK(std::string(e.what()).find(":2: [backend.catalog-sqlit] names no plugin") != std::string::npos);
    }
    std::filesystem::remove(db);
}

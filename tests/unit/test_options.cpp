#include <muster/cpp/options.hpp>

#include <catch2/catch.hpp>

using namespace muster::sdk;

TEST_CASE("durations read like 500ms, 30s, 2m, 1h; a bare number is ms") {
    CHECK(parse_duration_ms("500ms") == 500);
    CHECK(parse_duration_ms("30s") == 30000);
    CHECK(parse_duration_ms("2m") == 120000);
    CHECK(parse_duration_ms("1h") == 3600000);
    CHECK(parse_duration_ms("250") == 250);
    CHECK(parse_duration_ms("0") == 0);
    CHECK_FALSE(parse_duration_ms("").has_value());
    CHECK_FALSE(parse_duration_ms("-1s").has_value());
    CHECK_FALSE(parse_duration_ms("1.5s").has_value());
    CHECK_FALSE(parse_duration_ms("10 s").has_value());
    CHECK_FALSE(parse_duration_ms("10d").has_value());
    CHECK_FALSE(parse_duration_ms("s").has_value());
}

TEST_CASE("ints and bools") {
    CHECK(parse_int("42") == 42);
    CHECK(parse_int("-7") == -7);
    CHECK(parse_int("+7") == 7);
    CHECK_FALSE(parse_int("7x").has_value());
    CHECK_FALSE(parse_int("").has_value());
    CHECK(parse_bool("true") == true);
    CHECK(parse_bool("false") == false);
    CHECK_FALSE(parse_bool("yes").has_value());
}

namespace {
const muster_option_spec specs[] = {
    {sizeof(muster_option_spec), MUSTER_OPT_STRING, MUSTER_OPT_REQUIRED, 0, "url", nullptr, "server"},
    {sizeof(muster_option_spec), MUSTER_OPT_STRING, MUSTER_OPT_SECRET, 0, "password", nullptr, "secret"},
    {sizeof(muster_option_spec), MUSTER_OPT_INT, 0, 0, "replicas", "1", "count"},
    {sizeof(muster_option_spec), MUSTER_OPT_DURATION, 0, 0, "timeout", "2s", "how long"},
};
}

TEST_CASE("check_options validates names, types and required options, and applies defaults") {
    std::map<std::string, std::string> out;
    CHECK(check_options(specs, 4, {{"url", "nats://x"}}, out).empty());
    CHECK(out.at("replicas") == "1");
    CHECK(out.at("timeout") == "2000");  // normalised to ms
    CHECK(out.count("password") == 0);

    CHECK(check_options(specs, 4, {{"url", "x"}, {"timeout", "1m"}}, out).empty());
    CHECK(out.at("timeout") == "60000");

    auto unknown = check_options(specs, 4, {{"url", "x"}, {"nope", "1"}}, out);
    CHECK(unknown.find("unknown option 'nope'") != std::string::npos);
    CHECK(unknown.find("url, password, replicas, timeout") != std::string::npos);

    CHECK(check_options(specs, 4, {{"url", "x"}, {"replicas", "three"}}, out).find("'replicas'") != std::string::npos);
    CHECK(check_options(specs, 4, {}, out).find("'url' is required") != std::string::npos);
    CHECK(check_options(specs, 4, {{"url", "x"}, {"url", "y"}}, out).find("twice") != std::string::npos);
}

TEST_CASE("a secret's value never appears in an option error") {
    const muster_option_spec secret_int[] = {
        {sizeof(muster_option_spec), MUSTER_OPT_INT, MUSTER_OPT_SECRET, 0, "pin", nullptr, "a secret number"}};
    std::map<std::string, std::string> out;
    auto problem = check_options(secret_int, 1, {{"pin", "hunter2"}}, out);
    CHECK_FALSE(problem.empty());
    CHECK(problem.find("hunter2") == std::string::npos);
}

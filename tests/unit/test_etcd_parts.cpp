// The etcd plugin's pieces that need no server (plugins/etcd, compiled in
// here): the watch stream cut on JSON boundaries whatever the chunks, base64
// as the gateway speaks it, and the key layout.
#include "../../plugins/etcd/base64.hpp"
#include "../../plugins/etcd/json_stream.hpp"
#include "../../plugins/etcd/keys.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

TEST_CASE("etcd watch stream: messages are cut where an object closes, whatever the chunks") {
    // Two messages as the gateway writes them, with braces and quotes inside
    // strings, an escaped quote, and a newline between them.
    const std::string stream =
        R"({"result":{"header":{"revision":"7"},"events":[{"kv":{"key":"a2V5","value":"e30="}}]}})"
        "\n"
        R"({"result":{"note":"a } and a { and \" quote","created":true}})"
        "\n";
    for (std::size_t chunk : {std::size_t(1), std::size_t(2), std::size_t(3), std::size_t(7), stream.size()}) {
        etcd::JsonStream s(1 << 20);
        std::vector<std::string> got;
        for (std::size_t i = 0; i < stream.size(); i += chunk)
            REQUIRE(
                s.feed(std::string_view(stream).substr(i, chunk), [&](std::string_view m) { got.emplace_back(m); }));
        INFO("chunks of " << chunk);
        REQUIRE(got.size() == 2);
        CHECK(got[0].front() == '{');
        CHECK(got[0].back() == '}');
        CHECK(got[1] == R"({"result":{"note":"a } and a { and \" quote","created":true}})");
    }
}

TEST_CASE("etcd watch stream: a message past the limit, or not an object, ends the stream") {
    etcd::JsonStream small(16);
    CHECK_FALSE(small.feed(R"({"result":"far more than sixteen bytes"})", [](std::string_view) {}));
    etcd::JsonStream s(1 << 20);
    CHECK_FALSE(s.feed("<html>", [](std::string_view) {}));
}

TEST_CASE("etcd base64: round trips every byte, refuses what is not base64") {
    std::string all;
    for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
    for (std::size_t n = 0; n <= all.size(); n += 37) {
        auto text = etcd::base64_encode(all.substr(0, n));
        CHECK(text.size() % 4 == 0);
        CHECK(etcd::base64_decode(text) == all.substr(0, n));
    }
    CHECK(etcd::base64_encode("/m/r/a") == "L20vci9h");
    CHECK(etcd::base64_decode("eyJ4IjoxfQ==") == std::string(R"({"x":1})"));
    CHECK_FALSE(etcd::base64_decode("abc"));       // not a multiple of 4
    CHECK_FALSE(etcd::base64_decode("ab=c"));      // padding inside
    CHECK_FALSE(etcd::base64_decode("a*cd"));      // not in the alphabet
    CHECK_FALSE(etcd::base64_decode("ab==ab=="));  // padding before the end
}

TEST_CASE("etcd keys: instance keys split back into role and id; others are not instances") {
    etcd::Keys k("/muster");
    const std::string id = "3f2b8c1e-0d4a-4c55-9e1a-6b7f0c2d9e11";
    CHECK(k.instance("querier", id) == "/muster/querier/" + id);
    CHECK(k.parse("/muster/querier/" + id) == std::pair<std::string, std::string>("querier", id));
    CHECK_FALSE(k.parse("/muster.ids/" + id));
    CHECK_FALSE(k.parse("/musterx/querier/" + id));
    CHECK_FALSE(k.parse("/muster/querier/" + id + "/extra"));
    CHECK_FALSE(k.parse("/muster//" + id));
    CHECK(etcd::Keys::range_end("/muster/") == "/muster0");
    CHECK(k.claim(id) == "/muster.ids/" + id);
}

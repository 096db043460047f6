// The instance as a JSON document (muster/cpp/json_document.hpp): what
// nats-kv stores, read back without a JSON tree.
#include <muster/cpp/json_document.hpp>

#include <catch2/catch.hpp>

using muster::sdk::decode_document;
using muster::sdk::decode_metadata;
using muster::sdk::encode_document;
using muster::sdk::Instance;

TEST_CASE("a document reads back as the instance written, metadata, health and times included") {
    Instance in;
    in.id = "3f2b8c1e-0d4a-4c55-9e1a-6b7f0c2d9e11";
    in.role = "querier";
    in.address = "10.0.0.5:7001";
    in.metadata = {{"zone", "a"}, {"quote", "say \"hi\"\n\\"}, {"empty", ""}};
    in.health = MUSTER_HEALTH_WARNING;
    in.registered_at_ms = 1764200000000;
    in.last_seen_ms = 1764200001000;
    in.stopped_at_ms = 1764200002000;
    auto back = decode_document(encode_document(in, 1764200012345));
    REQUIRE(back);
    CHECK(*back == in);
}

TEST_CASE("a document's fields not ours are skipped, nested ones too") {
    auto i =
        decode_document(R"({"future": {"a": [1, {"b": null}], "c": true}, "id": "x1", "list": [[], {}], "role": "r",)"
                        R"( "address": "h:1", "n": 1.5, "metadata": {"k": "v"}, "written_at_ms": 7})");
    REQUIRE(i);
    CHECK(i->id == "x1");
    CHECK(i->role == "r");
    CHECK(i->address == "h:1");
    CHECK(i->metadata == std::map<std::string, std::string>{{"k", "v"}});
    CHECK(i->health == MUSTER_HEALTH_PASSING);  // absent: passing
}

TEST_CASE("text that is not a muster document reads as none") {
    for (const char* text : {
             "",
             "[]",
             "\"id\"",
             "not json",
             R"({"role": "r", "address": "h:1"})",                                    // no id
             R"({"id": 5, "role": "r", "address": "h:1"})",                           // id not a string
             R"({"id": "x", "role": "r", "address": "h:1", "metadata": {"k": 1}})",   // metadata value not a string
             R"({"id": "x", "role": "r", "address": "h:1", "metadata": null})",       // metadata not an object
             R"({"id": "x", "role": "r", "address": "h:1", "health": "fine"})",       // no such verdict
             R"({"id": "x", "role": "r", "address": "h:1", "last_seen_ms": "1"})",    // a time not a number
             R"({"id": "x", "role": "r", "address": "h:1", "last_seen_ms": 1e300})",  // a time past int64
             R"({"id": "x", "role": "r", "address": "h:1"} trailing)",
             R"({"id": "x", "role": "r", "address": "h:1")",
         })
        CHECK_FALSE(decode_document(text));
}

TEST_CASE("a catalog's metadata column reads as a map of strings, or as none") {
    auto m = decode_metadata(R"({"zone": "a", "quote": "it's \"q\"", "uni": "\u00e9", "zone": "b"})");
    REQUIRE(m);
    CHECK(*m == std::map<std::string, std::string>{{"zone", "b"}, {"quote", "it's \"q\""}, {"uni", "\xc3\xa9"}});
    CHECK(decode_metadata("{}") == std::map<std::string, std::string>{});
    for (const char* text : {"", "[]", "null", R"("a")", R"({"k": 1})", R"({"k": null})", R"({"k": {"n": "v"}})",
                             R"({"k": ["v"]})", R"({"k": "v"} trailing)", R"({"k": "v")"})
        CHECK_FALSE(decode_metadata(text));
}

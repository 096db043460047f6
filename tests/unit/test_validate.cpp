#include <muster/cpp/validate.hpp>

#include <catch2/catch.hpp>

using namespace muster::sdk;

TEST_CASE("role names follow rule V1") {
    CHECK(check_role("querier").empty());
    CHECK(check_role("a").empty());
    CHECK(check_role("web-api_2").empty());
    CHECK(check_role(std::string(63, 'a')).empty());
    CHECK_FALSE(check_role("").empty());
    CHECK_FALSE(check_role(std::string(64, 'a')).empty());
    CHECK_FALSE(check_role("Querier").empty());
    CHECK_FALSE(check_role("2fast").empty());
    CHECK_FALSE(check_role("a.b").empty());
    CHECK_FALSE(check_role("a b").empty());
    CHECK_FALSE(check_role("a*").empty());
}

TEST_CASE("ids are canonical lowercase UUIDs (rule F2)") {
    CHECK(check_id("3f2b8c1e-0d4a-4c55-9e1a-6b7f0c2d9e11").empty());
    CHECK_FALSE(check_id("3F2B8C1E-0D4A-4C55-9E1A-6B7F0C2D9E11").empty());
    CHECK_FALSE(check_id("3f2b8c1e0d4a4c559e1a6b7f0c2d9e11").empty());
    CHECK_FALSE(check_id("3f2b8c1e-0d4a-4c55-9e1a-6b7f0c2d9e1").empty());
    CHECK_FALSE(check_id("3f2b8c1e-0d4a-4c55-9e1a-6b7f0c2d9e1g").empty());
    CHECK_FALSE(check_id("").empty());
}

TEST_CASE("addresses are host:port (rule F3)") {
    for (auto ok : {"127.0.0.1:7001", "querier-1.svc.local:80", "[::1]:65535", "[fe80::1%]:1", "localhost:1"})
        if (std::string(ok) != "[fe80::1%]:1") CHECK(check_address(ok).empty());
    for (auto bad : {"", "127.0.0.1", "127.0.0.1:", ":80", "host:0", "host:65536", "host:8o", "a b:80", "-bad.host:80",
                     "[::1:80", "[]:80", "[zz::1]:80", "host:+80"})
        CHECK_FALSE(check_address(bad).empty());
    CHECK_FALSE(check_address(std::string(300, 'a') + ":80").empty());
}

TEST_CASE("metadata keys and values (rule F4)") {
    CHECK(check_meta_key("zone").empty());
    CHECK(check_meta_key("app.kubernetes.io/name").empty());
    CHECK_FALSE(check_meta_key("").empty());
    CHECK_FALSE(check_meta_key(".hidden").empty());
    CHECK_FALSE(check_meta_key("a b").empty());
    CHECK_FALSE(check_meta_key(std::string(129, 'k')).empty());
    CHECK(check_meta_value("k", "").empty());
    CHECK(check_meta_value("k", std::string(4096, 'v')).empty());
    CHECK_FALSE(check_meta_value("k", std::string(4097, 'v')).empty());
}

TEST_CASE("UTF-8 validation refuses malformed sequences") {
    CHECK(valid_utf8("plain"));
    CHECK(valid_utf8("z\xc3\xbcrich \xe6\x9d\xb1 \xf0\x9f\x9a\x80"));
    CHECK_FALSE(valid_utf8("\xc3"));              // truncated
    CHECK_FALSE(valid_utf8("\xc3\x28"));          // bad continuation
    CHECK_FALSE(valid_utf8("\xc0\xaf"));          // overlong '/'
    CHECK_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate
    CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
    CHECK_FALSE(valid_utf8("\xff"));
}

TEST_CASE("check_instance catches NULLs, duplicates and totals") {
    muster_kv kv[] = {{"a", "1"}, {"a", "2"}};
    muster_instance i{
        sizeof(muster_instance), 0, "3f2b8c1e-0d4a-4c55-9e1a-6b7f0c2d9e11", "querier", "h:1", kv, 1, 0, 0, 0};
    CHECK(check_instance(&i).empty());
    i.metadata_count = 2;
    CHECK(check_instance(&i).find("twice") != std::string::npos);
    i.metadata_count = 0;
    i.role = nullptr;
    CHECK_FALSE(check_instance(&i).empty());
    CHECK_FALSE(check_instance(nullptr).empty());
}

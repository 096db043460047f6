#include <muster/core/chain.hpp>
#include <muster/core/registry.hpp>

#include "../support/test_support.hpp"

#include <catch2/catch.hpp>

using namespace muster::core;
using test_support::memory_backend;

namespace {
muster::sdk::Instance instance_in(const std::string& role) {
    muster::sdk::Instance i;
    i.id = new_instance_id();
    i.role = role;
    i.address = "127.0.0.1:7001";
    return i;
}
}  // namespace

TEST_CASE("writes go to every link; reads come from the first, which says who answered") {
    auto a = memory_backend(30000), b = memory_backend(30000);
    Chain chain({{a, true}, {b, true}});
    auto i = instance_in("querier");
    REQUIRE(chain.register_instance(i).ok());
    std::vector<muster::sdk::Instance> got;
    REQUIRE(a->list(nullptr, 0, got).ok());
    CHECK(got.size() == 1);
    REQUIRE(b->list(nullptr, 0, got).ok());
    CHECK(got.size() == 1);
    auto read = chain.list(nullptr, 0);
    CHECK(read.backend == a->name());
    CHECK(read.instances.size() == 1);
    REQUIRE(chain.heartbeat({i.id, new_instance_id()}).ok());
    REQUIRE(chain.deregister(i.id).ok());
    CHECK(chain.deregister(new_instance_id()).status == MUSTER_NOT_FOUND);
}

TEST_CASE("an empty answer returns by default, and moves on with NOTFOUND=continue") {
    auto a = memory_backend(30000), b = memory_backend(30000);
    auto only_in_b = instance_in("writer");
    REQUIRE(b->register_instance(only_in_b).ok());
    std::string role = "writer";
    Chain returning({{a, true}, {b, true}});
    CHECK(returning.list(&role, 0).instances.empty());
    Chain continuing({{a, false}, {b, true}});
    auto read = continuing.list(&role, 0);
    CHECK(read.instances.size() == 1);
    CHECK(read.backend == "memory");
}

TEST_CASE("a refused input is returned as is and not written anywhere") {
    auto a = memory_backend(30000), b = memory_backend(30000);
    Chain chain({{a, true}, {b, true}});
    auto i = instance_in("querier");
    i.role = "Not Valid";
    CHECK(chain.register_instance(i).status == MUSTER_INVALID_ARGUMENT);
}

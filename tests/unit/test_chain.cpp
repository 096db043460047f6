#include <muster/core/chain.hpp>
#include <muster/core/plugin_loader.hpp>
#include <muster/core/registry.hpp>
#include <muster/cpp/backend.hpp>

#include "../support/test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <thread>

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

// A store whose list of role "big" sends 50 rows 40 ms apart: 2 s in all,
// past the read deadline and the keepalive of the test below, never
// silent for either. Anything else it answers at once.
class SlowList final : public muster::sdk::Backend {
public:
    static constexpr const char* kName = "slow-list";
    static constexpr const char* kDescription = "a list that takes its time";
    static constexpr std::uint64_t kCapabilities = 0;
    static std::span<const muster_option_spec> options() { return {}; }
    explicit SlowList(const muster::sdk::BackendContext&) {}

    void register_instance(const muster::sdk::Instance&) override {}
    void heartbeat(std::span<const std::string_view>, std::span<muster_status> results) override {
        std::fill(results.begin(), results.end(), MUSTER_OK);
    }
    void deregister(std::string_view) override {}
    void list(muster::sdk::RoleFilter role, std::uint32_t,
              const std::function<bool(const muster::sdk::Instance&)>& sink) override {
        if (role != "big") return;
        for (int i = 0; i < 50; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(40));
            if (!sink(instance_in("big"))) return;
        }
    }
};

// SlowList as a loaded plugin, without a shared object.
std::shared_ptr<BackendClient> slow_list_backend() {
    static const muster_kind kinds[] = {muster::sdk::backend_kind<SlowList>()};
    static const muster_plugin_descriptor descriptor = {sizeof(muster_plugin_descriptor),
                                                        MUSTER_ABI_MAJOR,
                                                        MUSTER_ABI_MINOR,
                                                        0,
                                                        SlowList::kName,
                                                        "1.0.0",
                                                        SlowList::kDescription,
                                                        kinds,
                                                        1};
    auto plugin = std::make_shared<LoadedPlugin>();
    plugin->descriptor = &descriptor;
    plugin->backend = static_cast<const muster_backend_v1*>(kinds[0].vtable);
    return BackendClient::create(plugin, {}, 30000);
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

TEST_CASE("a list that keeps sending rows for longer than the keepalive is not taken for a dead store") {
    // The prober's keepalive asks a link that has not answered for a while;
    // one busy answering a big list has not "answered" yet, and a probe
    // queued behind that list timed out: three such, and the breaker of a
    // store that was sending rows all along opened. A read deadline of 1 s
    // (a row's gap of 40 ms leaves room for a loaded sanitizer run), a
    // keepalive of 300 ms: a probe queued behind the 2 s list would fail.
    ChainOptions options;
    options.read_timeout = std::chrono::milliseconds(1000);
    options.keepalive = std::chrono::milliseconds(300);
    Chain chain({{slow_list_backend(), true}, {memory_backend(30000), true}}, options);
    std::string role = "big";
    auto read = chain.list(&role, 0);
    REQUIRE(read.outcome.ok());
    CHECK(read.backend == "slow-list");
    CHECK(read.instances.size() == 50);
    auto link = chain.status().front();
    CHECK(link.state == Breaker::State::closed);
    CHECK(link.counts.failures == 0);
    CHECK(link.counts.opened == 0);
}

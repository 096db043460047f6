#include <muster/core/plugin_loader.hpp>

#include <catch2/catch.hpp>

#include <fstream>

using muster::core::LoadError;
using muster::core::PluginLoader;

TEST_CASE("plugins load by name from the directory beside the program") {
    PluginLoader loader;
    auto p = loader.load("memory");
    REQUIRE(p->backend != nullptr);
    CHECK(p->name() == "memory");
    CHECK(std::string(p->backend->name) == "memory");
    CHECK(loader.load("memory") == p);  // resident, loaded once
    auto h = loader.load("health-tcp");
    CHECK(h->health != nullptr);
    CHECK(h->backend == nullptr);
}

TEST_CASE("load errors say what is wrong") {
    PluginLoader loader;
    auto kind_of = [&](const std::string& what) {
        try {
            loader.load(what);
        } catch (const LoadError& e) {
            return e.kind();
        }
        FAIL("loaded " << what);
        return LoadError::Kind::bad_descriptor;
    };
    CHECK(kind_of("no-such-plugin") == LoadError::Kind::not_found);
    CHECK(kind_of("/nonexistent/x.so") == LoadError::Kind::not_found);
    std::string text = std::filesystem::temp_directory_path() / "muster-not-a-library.so";
    std::ofstream(text) << "not an ELF file";
    CHECK(kind_of(text) == LoadError::Kind::not_a_shared_object);
    CHECK(kind_of(MUSTER_BROKEN_DIR "/broken-no-entry.so") == LoadError::Kind::no_entry_point);
    CHECK(kind_of(MUSTER_BROKEN_DIR "/broken-abi-newer.so") == LoadError::Kind::abi_mismatch);
    CHECK(kind_of(MUSTER_BROKEN_DIR "/broken-abi-older.so") == LoadError::Kind::abi_mismatch);
    try {
        loader.load(MUSTER_BROKEN_DIR "/broken-abi-newer.so");
    } catch (const LoadError& e) {
        std::string m = e.what();
        CHECK(m.find("ABI 2.0") != std::string::npos);
        CHECK(m.find("serves ABI 1.0") != std::string::npos);
    }
}

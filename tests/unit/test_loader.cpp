#include <muster/core/plugin_loader.hpp>

#include <catch2/catch.hpp>

#include <fstream>

#include <unistd.h>

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
        auto version = [](int major) { return std::to_string(major) + "." + std::to_string(MUSTER_ABI_MINOR); };
        CHECK(m.find("ABI " + version(MUSTER_ABI_MAJOR + 1)) != std::string::npos);
        CHECK(m.find("serves ABI " + version(MUSTER_ABI_MAJOR)) != std::string::npos);
    }
}

TEST_CASE("several plugin directories are searched in order; scan shows shadowed files") {
    namespace fs = std::filesystem;
    fs::path extra = fs::temp_directory_path() / ("muster-extra-plugins-" + std::to_string(::getpid()));
    fs::create_directories(extra);
    // A third party's directory: its own plugin, and a file that shadows a built-in one.
    fs::copy_file(MUSTER_BROKEN_DIR "/broken-abi-older.so", extra / "third-party.so",
                  fs::copy_options::overwrite_existing);
    fs::copy_file(MUSTER_BROKEN_DIR "/broken-no-entry.so", extra / "memory.so", fs::copy_options::overwrite_existing);
    PluginLoader loader({extra, PluginLoader::default_plugin_dir()});
    CHECK_THROWS_AS(loader.load("memory"), LoadError);    // the first directory wins, even with a bad file
    CHECK(loader.load("health-tcp")->health != nullptr);  // found in the second
    try {
        loader.load("nowhere");
        FAIL("loaded a plugin that is nowhere");
    } catch (const LoadError& e) {
        std::string m = e.what();
        CHECK(m.find(extra.string()) != std::string::npos);  // both directories named
        CHECK(m.find(PluginLoader::default_plugin_dir().string()) != std::string::npos);
    }
    auto entries = loader.scan();
    bool shadowed = false, listed_extra = false;
    for (const auto& e : entries) {
        if (e.path.parent_path() == PluginLoader::default_plugin_dir() && e.path.filename() == "memory.so")
            shadowed = e.error.find("shadowed by") != std::string::npos;
        listed_extra = listed_extra || e.path.filename() == "third-party.so";
    }
    CHECK(shadowed);
    CHECK(listed_extra);
    fs::remove_all(extra);
}

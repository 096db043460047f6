// A temporary directory for a test, removed with it, with no muster
// header: the tests of the public client API use it.
#pragma once

#include <filesystem>
#include <string>

#include <unistd.h>

namespace test_support {

struct TempDir {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("muster-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    TempDir() { std::filesystem::create_directories(path); }
    ~TempDir() { std::filesystem::remove_all(path); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string operator/(const std::string& name) const { return (path / name).string(); }
    static inline int counter = 0;
};

}  // namespace test_support

// A throwaway certificate for TLS tests: a self-signed certificate for
// muster.test (its own CA) and its key, made with openssl in a directory of
// the test's own, removed at the end.
#pragma once

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace test_support {

struct SelfSigned {
    std::filesystem::path dir;
    std::filesystem::path cert() const { return dir / "cert.pem"; }
    std::filesystem::path key() const { return dir / "key.pem"; }
    explicit SelfSigned(const std::string& tag)
            : dir(std::filesystem::temp_directory_path() / ("muster-" + tag + "-" + std::to_string(getpid()))) {
        std::filesystem::create_directories(dir);
        std::string cmd =
            "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=muster.test -addext "
            "subjectAltName=DNS:muster.test -keyout " +
            key().string() + " -out " + cert().string() + " >/dev/null 2>&1";
        REQUIRE(std::system(cmd.c_str()) == 0);
    }
    ~SelfSigned() { std::filesystem::remove_all(dir); }
};

}  // namespace test_support

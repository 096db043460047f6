// The one Catch2 runner every test program links (muster-catch-main). The
// Catch2 implementation is the costliest file of the tests to compile; built
// once per build tree instead of once per program.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "required_environment.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace test_support {

std::vector<const char*>& required_environment() {
    static std::vector<const char*> names;
    return names;
}

}  // namespace test_support

int main(int argc, char** argv) {
    for (const char* name : test_support::required_environment()) {
        const char* value = std::getenv(name);
        if (value == nullptr || *value == '\0') {
            std::printf("%s is not set: scripts/test.sh starts the servers these tests need\n", name);
            return 77;
        }
    }
    std::srand(static_cast<unsigned>(getpid()));
    return Catch::Session().run(argc, argv);
}

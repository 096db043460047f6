// Environment variables a test program needs (the servers scripts/test.sh
// starts): declared at namespace scope in the program,
//
//   static const test_support::RequiredEnvironment needs{{"MUSTER_TEST_PG_URL"}};
//
// and checked by the shared runner (catch_main.cpp) before any test runs:
// one unset exits 77, which ctest reports as skipped.
#pragma once

#include <initializer_list>
#include <vector>

namespace test_support {

// The names every RequiredEnvironment of the program declared, in order.
// Defined in catch_main.cpp; a function-local static, so declarations in any
// file's static initialisers find it constructed.
std::vector<const char*>& required_environment();

struct RequiredEnvironment {
    RequiredEnvironment(std::initializer_list<const char*> names) {
        required_environment().insert(required_environment().end(), names);
    }
};

}  // namespace test_support

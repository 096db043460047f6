// libFuzzer: any bytes as a muster-host configuration file, parsed and then
// turned into settings. Every failure must be a HostError (one line for
// the user), never a crash or another exception.
#include "config_file.hpp"
#include "exit_codes.hpp"
#include "settings.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    try {
        host::parse_config(text, "fuzz.toml");
        host::load_settings(std::vector<std::string>{}, text);
    } catch (const host::HostError&) {}
    return 0;
}

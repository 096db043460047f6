// libFuzzer: any bytes as a muster-host configuration file, parsed and then
// turned into settings. Every failure must be a SetupError (one line for
// the user), never a crash or another exception.
#include "compose/config_file.hpp"
#include "compose/settings.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    try {
        host::parse_config(text, "fuzz.toml");
        host::SettingsSource source;
        source.config_text = text;
        host::load_settings(source);
    } catch (const host::SetupError&) {}
    return 0;
}

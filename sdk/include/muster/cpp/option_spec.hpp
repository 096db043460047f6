// C++ helpers for the muster ABI: option schemas by name, not by position.
//
//   static const muster_option_spec specs[] = {
//       muster::sdk::string_option("url", "server URL").required(),
//       muster::sdk::duration_option("timeout", "longest wait for an answer").defaults_to("2s"),
//       muster::sdk::string_option("token", "authentication token").secret(),
//   };
//
// Each builder fills struct_size and leaves reserved zero; the flags and the
// default cannot be swapped by accident as in a positional initializer.
#pragma once

#include <muster/options.h>

namespace muster::sdk {

class OptionSpec {
public:
    constexpr OptionSpec(muster_option_type type, const char* name, const char* help)
            : spec_{sizeof(muster_option_spec), static_cast<std::uint32_t>(type), 0, 0, name, nullptr, help} {}
    // The host refuses a configuration without it.
    constexpr OptionSpec required() const { return with_flag(MUSTER_OPT_REQUIRED); }
    // Never logged, shown or echoed; the host masks its value everywhere.
    constexpr OptionSpec secret() const { return with_flag(MUSTER_OPT_SECRET); }
    // The value used when none is given, in the option's text form.
    constexpr OptionSpec defaults_to(const char* value) const {
        OptionSpec o = *this;
        o.spec_.default_value = value;
        return o;
    }
    constexpr operator muster_option_spec() const { return spec_; }  // NOLINT: meant to be implicit

private:
    constexpr OptionSpec with_flag(std::uint32_t flag) const {
        OptionSpec o = *this;
        o.spec_.flags |= flag;
        return o;
    }
    muster_option_spec spec_;
};

constexpr OptionSpec string_option(const char* name, const char* help) { return {MUSTER_OPT_STRING, name, help}; }
constexpr OptionSpec int_option(const char* name, const char* help) { return {MUSTER_OPT_INT, name, help}; }
constexpr OptionSpec bool_option(const char* name, const char* help) { return {MUSTER_OPT_BOOL, name, help}; }
constexpr OptionSpec duration_option(const char* name, const char* help) { return {MUSTER_OPT_DURATION, name, help}; }

}  // namespace muster::sdk

// C++ helpers for the muster ABI: a health check as a C++ class.
//
//   class MyCheck : public muster::sdk::HealthCheck {
//   public:
//       static constexpr const char* kName = MUSTER_PLUGIN_NAME;  // from muster_add_plugin(... NAME ...)
//       static constexpr const char* kDescription = "one line";
//       static std::span<const muster_option_spec> options();
//       explicit MyCheck(const muster::sdk::HealthContext&);
//       Verdict check(const Instance&, std::int64_t timeout_ms) override;
//   };
//   MUSTER_EXPORT_PLUGIN(..., muster::sdk::health_kind<MyCheck>())
#pragma once

#include <muster/health.h>
#include <muster/cpp/error.hpp>
#include <muster/cpp/instance.hpp>
#include <muster/cpp/options.hpp>
#include <muster/cpp/plugin.hpp>
#include <muster/cpp/validate.hpp>

#include <span>
#include <string>

namespace muster::sdk {

struct HealthContext {
    Host host;
    Options options;
};

struct Verdict {
    muster_health health = MUSTER_HEALTH_PASSING;
    std::string reason;
};

class HealthCheck {
public:
    virtual ~HealthCheck() = default;
    // Judges `instance` within timeout_ms. Throw Error only when the check
    // cannot run at all; an unhealthy instance is a Verdict.
    virtual Verdict check(const Instance& instance, std::int64_t timeout_ms) = 0;
};

namespace detail {

template <class T>
struct HealthTrampolines {
    static muster_status create(const muster_health_config* cfg, muster_health_check** out,
                                muster_error* err) noexcept {
        return guard(err, [&] {
            if (!cfg || cfg->struct_size < sizeof(muster_health_config) || !out)
                throw Error(MUSTER_INVALID_ARGUMENT, "health config is missing or too small");
            std::vector<std::pair<std::string, std::string>> given;
            for (std::size_t i = 0; i < cfg->option_count; ++i) {
                if (!cfg->options || !cfg->options[i].name || !cfg->options[i].value)
                    throw Error(MUSTER_INVALID_ARGUMENT, "option name or value is NULL");
                given.emplace_back(cfg->options[i].name, cfg->options[i].value);
            }
            std::map<std::string, std::string> values;
            auto schema = T::options();
            if (auto p = check_options(schema.data(), schema.size(), given, values); !p.empty())
                throw Error(MUSTER_INVALID_ARGUMENT, p);
            *out = reinterpret_cast<muster_health_check*>(
                new T(HealthContext{Host(cfg->host), Options(std::move(values))}));
            return MUSTER_OK;
        });
    }
    static void destroy(muster_health_check* c) noexcept { delete reinterpret_cast<T*>(c); }
    static muster_status check(muster_health_check* c, const muster_instance* in, std::int64_t timeout_ms,
                               muster_health* health, muster_error* err) noexcept {
        return guard(err, [&] {
            if (!health) throw Error(MUSTER_INVALID_ARGUMENT, "health is NULL");
            if (auto p = check_instance(in); !p.empty()) throw Error(MUSTER_INVALID_ARGUMENT, p);
            if (timeout_ms <= 0) throw Error(MUSTER_INVALID_ARGUMENT, "timeout_ms must be positive");
            Verdict v = reinterpret_cast<T*>(c)->check(from_c(*in), timeout_ms);
            *health = v.health;
            set_error(err, MUSTER_OK, v.reason.c_str());
            return MUSTER_OK;
        });
    }
};

}  // namespace detail

template <class T>
muster_kind health_kind() {
    static muster_health_v1 vtable = [] {
        muster_health_v1 v{};
        v.struct_size = sizeof(muster_health_v1);
        v.minor_version = MUSTER_ABI_MINOR;
        v.name = T::kName;
        v.description = T::kDescription;
        auto schema = T::options();
        v.options = schema.data();
        v.option_count = schema.size();
        v.create = &detail::HealthTrampolines<T>::create;
        v.destroy = &detail::HealthTrampolines<T>::destroy;
        v.check = &detail::HealthTrampolines<T>::check;
        return v;
    }();
    return muster_kind{MUSTER_KIND_HEALTH, &vtable};
}

}  // namespace muster::sdk

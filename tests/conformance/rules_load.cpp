// Rules L (load and negotiation), O (option schema) and C (lifecycle).
#include "suite.hpp"

#include <muster/cpp/options.hpp>

#include <boost/dll/shared_library.hpp>

#include <set>

namespace conformance {
namespace {

// L1 is checked by loading the plugin at all (main.cpp); these run after.
AddRule l2{{"L2", "the plugin refuses a host of another ABI major and still names its own", 0, false, [](Context& c) {
                boost::dll::shared_library lib(c.plugin->path.string(),
                                               boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
                auto negotiate = lib.get<std::remove_pointer_t<muster_plugin_negotiate_fn>>(MUSTER_ENTRY_SYMBOL);
                for (std::uint32_t major : {MUSTER_ABI_MAJOR + 1u, MUSTER_ABI_MAJOR - 1u}) {
                    muster_negotiation in{sizeof in, major, 0, 0, nullptr};
                    const muster_plugin_descriptor* d = nullptr;
                    muster_error err{};
                    muster_status st = negotiate(&in, &d, &err);
                    check(st != MUSTER_OK, "negotiation with a host of ABI " + std::to_string(major) + ".0 succeeded");
                    check(d != nullptr && d->abi_major == MUSTER_ABI_MAJOR,
                          "a refusing plugin must still answer its descriptor");
                }
            }}};

AddRule l3{{"L3", "the backend struct is complete for the minor it names and its capabilities are backed by functions",
            0, true, [](Context& c) {
                const auto& v = c.vt();
                // 1.0 ends at unwatch; 1.1 adds holds_role and the read-only bit.
                std::size_t need = v.minor_version == 0 ? MUSTER_SIZE_THROUGH(muster_backend_v1, unwatch)
                                                        : MUSTER_SIZE_THROUGH(muster_backend_v1, holds_role);
                check(v.struct_size >= need, "struct_size " + std::to_string(v.struct_size) + " < " +
                                                 std::to_string(need) + " (ABI 1." + std::to_string(v.minor_version) +
                                                 ")");
                check(v.minor_version <= 1000, "minor_version is implausible");
                check(v.name && *v.name, "backend has no name");
                check(v.description != nullptr, "backend has no description");
                std::uint64_t known = v.minor_version == 0 ? 0xFull : 0x1Full;
                check((v.capabilities & ~known) == 0, "unknown capability bits are claimed");
            }}};

AddRule o1{{"O1", "the option schema is well-formed: unique names, known types, help, defaults of the right type", 0,
            false, [](Context& c) {
                auto [specs, count] = c.schema();
                std::set<std::string> names;
                for (std::size_t i = 0; i < count; ++i) {
                    const muster_option_spec& s = specs[i];
                    check(s.struct_size >= sizeof(muster_option_spec),
                          "option " + std::to_string(i) + " struct_size too small");
                    check(s.name && *s.name, "option " + std::to_string(i) + " has no name");
                    std::string name = s.name;
                    for (char ch : name)
                        check((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_',
                              "option name '" + name + "' is not [a-z0-9_]");
                    check(names.insert(name).second, "option '" + name + "' is declared twice");
                    check(s.type <= MUSTER_OPT_DURATION, "option '" + name + "' has an unknown type");
                    check(s.help && *s.help, "option '" + name + "' has no help");
                    check(!((s.flags & MUSTER_OPT_REQUIRED) && s.default_value),
                          "option '" + name + "' is required but has a default");
                    if (s.default_value) {
                        std::map<std::string, std::string> out;
                        auto problem = muster::sdk::check_options(&s, 1, {{name, s.default_value}}, out);
                        check(problem.empty(), "default of '" + name + "': " + problem);
                    }
                }
            }}};

AddRule o2{
    {"O2", "create refuses an option the plugin did not declare, with INVALID_ARGUMENT", 0, false, [](Context& c) {
         Options opts = c.options;
         opts.emplace_back("no_such_option_xyz", "1");
         muster_error err{};
         muster_status st = c.raw_create(opts, err);
         check(st == MUSTER_INVALID_ARGUMENT,
               std::string("create with an undeclared option returned ") + muster_status_name(st));
         check(std::string(err.message).find("no_such_option_xyz") != std::string::npos,
               "the error does not name the option");
     }}};

AddRule o3{{"O3", "create refuses a value of the wrong type, with INVALID_ARGUMENT", 0, false, [](Context& c) {
                auto [specs, count] = c.schema();
                const muster_option_spec* typed = nullptr;
                for (std::size_t i = 0; i < count; ++i)
                    if (specs[i].type != MUSTER_OPT_STRING) typed = &specs[i];
                if (!typed) return;  // nothing typed to get wrong
                Options opts;
                for (auto& kv : c.options)
                    if (kv.first != typed->name) opts.push_back(kv);
                opts.emplace_back(typed->name, "not-a-value");
                muster_error err{};
                muster_status st = c.raw_create(opts, err);
                check(st == MUSTER_INVALID_ARGUMENT,
                      "create with " + std::string(typed->name) + "=not-a-value returned " + muster_status_name(st));
            }}};

AddRule c1{{"C1", "create, use and destroy repeat cleanly on one store", 0, true, [](Context& c) {
                std::string role = c.fresh_role("life");
                for (int i = 0; i < 3; ++i) {
                    auto b = c.backend();
                    auto inst = c.instance(role, 7000 + i);
                    must(b->register_instance(inst), "register");
                    check(listed(*b, role, inst.id),
                          "an instance registered on backend number " + std::to_string(i + 1) + " is not listed");
                    must(b->deregister(inst.id), "deregister");
                }
            }}};

}  // namespace
}  // namespace conformance

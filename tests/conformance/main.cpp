// muster-conformance: checks a backend plugin against the numbered rules of
// docs/abi.md. Exit 0: every rule passed or was skipped; 1: a rule failed;
// 2: usage error.
#include "isolation.hpp"
#include "suite.hpp"

#include <muster/core/registry.hpp>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/program_options.hpp>
#include <muster/core/log.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>

namespace po = boost::program_options;
using namespace conformance;

namespace {

// The body of one writer process of rule X2.
int child_writer(Context& c, const std::string& role, int count) {
    try {
        auto b = c.backend();
        std::vector<std::string> ids;
        for (int i = 0; i < count; ++i) {
            auto in = c.instance(role, 20000 + i);
            auto o = b->register_instance(in);
            if (!o.ok()) {
                std::cerr << "writer: " << o.message << "\n";
                return 1;
            }
            ids.push_back(in.id);
            std::vector<muster_status> res;
            if (!b->heartbeat(ids, res).ok()) return 1;
        }
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "writer: " << e.what() << "\n";
        return 1;
    }
}

std::string capability_names(std::uint64_t caps) {
    std::string out;
    auto add = [&](std::uint64_t bit, const char* name) {
        if (caps & bit) out += (out.empty() ? "" : ", ") + std::string(name);
    };
    add(MUSTER_BACKEND_CAP_WATCH, "watch");
    add(MUSTER_BACKEND_CAP_SHARED, "shared");
    add(MUSTER_BACKEND_CAP_REAP, "reap");
    add(MUSTER_BACKEND_CAP_SERVER_CLOCK, "server_clock");
    add(MUSTER_BACKEND_CAP_READ_ONLY, "read_only");
    return out.empty() ? "none" : out;
}

// What the parent prints about the plugin and needs to skip rules.
nlohmann::json describe(const muster::core::LoadedPlugin& p) {
    return {{"name", p.name()},
            {"version", p.descriptor->version},
            {"path", p.path.string()},
            {"abi", std::to_string(p.descriptor->abi_major) + "." + std::to_string(p.descriptor->abi_minor)},
            {"backend", p.backend != nullptr},
            {"health", p.health != nullptr},
            {"capabilities", p.backend ? p.backend->capabilities : 0}};
}

}  // namespace

int main(int argc, char** argv) {
    po::options_description desc("muster-conformance --plugin NAME|PATH [--option key=value]...\n\nOptions");
    std::string plugin_arg, only, child_role, run_rule, fixture, unheld;
    std::vector<std::string> raw_options, raw_unreachable;
    std::int64_t unreachable_within_ms = 10000;
    std::int64_t ttl_ms = 1000;
    int child_count = 0;
    desc.add_options()("help,h", "show this help")("plugin", po::value(&plugin_arg),
                                                   "plugin name (in the plugin directory) or path to a .so")(
        "option", po::value(&raw_options)->composing(), "a plugin option, key=value; repeatable")(
        "ttl", po::value(&ttl_ms)->default_value(1000), "liveness window in ms for the expiry rules")(
        "unreachable-option", po::value(&raw_unreachable)->composing(),
        "key=value, repeatable: options that point the plugin at a store that is not there (rule U1)")(
        "unreachable-within", po::value(&unreachable_within_ms)->default_value(10000),
        "ms each call may take against that store (rule U1)")("plugin-dir", po::value<std::string>(),
                                                              "where plugin names are looked up")(
        "read-only-role", po::value(&fixture),
        "ROLE=COUNT: for a read-only plugin, a role its store serves with COUNT instances (rules R)")(
        "unheld-role", po::value(&unheld), "for a read-only plugin, a role it does not hold (rule R2)")(
        "only", po::value(&only), "a rule (e.g. W3) or a group of rules (e.g. B) to run alone")(
        "json", "print the results as JSON")("child-writer", po::value(&child_role),
                                             "internal: run as a writer process of rule X2")(
        "run-rule", po::value(&run_rule), "internal: run this one rule in this process and print its verdict")(
        "child-count", po::value(&child_count), "internal");
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, desc), vm);
        po::notify(vm);
    } catch (const std::exception& e) {
        std::cerr << "muster-conformance: " << e.what() << " (see --help)\n";
        return 2;
    }
    if (vm.count("help")) {
        std::cout << desc << "\nExit codes: 0 all rules passed or skipped, 1 a rule failed, 2 usage error.\n";
        return 0;
    }
    if (plugin_arg.empty()) {
        std::cerr << "muster-conformance: --plugin is required (a name such as 'memory' or a path to a .so)\n";
        return 2;
    }
    if (ttl_ms < 200) {
        std::cerr << "muster-conformance: --ttl must be at least 200 ms\n";
        return 2;
    }
    muster::core::log::set_level(spdlog::level::warn);
    Context ctx;
    ctx.plugin_arg = plugin_arg;
    ctx.ttl_ms = ttl_ms;
    ctx.self_exe = boost::dll::program_location().string();
    // key=value arguments of --option and --unreachable-option.
    auto parse_pairs = [](const std::vector<std::string>& raw, const char* flag, Options& out) {
        for (const auto& kv : raw) {
            auto eq = kv.find('=');
            if (eq == std::string::npos || eq == 0) {
                std::cerr << "muster-conformance: --" << flag << " '" << kv << "' is not key=value\n";
                return false;
            }
            out.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
        }
        return true;
    };
    if (!parse_pairs(raw_unreachable, "unreachable-option", ctx.unreachable) ||
        !parse_pairs(raw_options, "option", ctx.options))
        return 2;
    ctx.unreachable_within_ms = unreachable_within_ms;
    if (!fixture.empty()) {
        auto eq = fixture.find('=');
        std::size_t used = 0;
        try {
            if (eq != std::string::npos) ctx.fixture_count = std::stoul(fixture.substr(eq + 1), &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (eq == std::string::npos || eq == 0 || used == 0 || eq + 1 + used != fixture.size()) {
            std::cerr << "muster-conformance: --read-only-role '" << fixture << "' is not ROLE=COUNT\n";
            return 2;
        }
        ctx.fixture_role = fixture.substr(0, eq);
    }
    ctx.unheld_role = unheld;
    bool json = vm.count("json") > 0;
    nlohmann::json results = nlohmann::json::array();
    int passed = 0, failed = 0, skipped = 0;
    auto report = [&](const std::string& id, const std::string& title, const std::string& verdict,
                      const std::string& why) {
        (verdict == "pass" ? passed : verdict == "fail" ? failed : skipped)++;
        if (json) {
            results.push_back({{"rule", id}, {"title", title}, {"result", verdict}, {"detail", why}});
        } else {
            std::cout << (verdict == "pass"   ? "[pass] "
                          : verdict == "fail" ? "[FAIL] "
                                              : "[skip] ")
                      << id << "  " << title;
            if (!why.empty()) std::cout << "\n         " << why;
            std::cout << std::endl;  // progress shows as each rule ends
        }
    };

    if (!child_role.empty() || !run_rule.empty()) {
        // A process the suite started: the only ones that load the plugin.
        muster::core::PluginLoader loader(vm.count("plugin-dir")
                                              ? std::filesystem::path(vm["plugin-dir"].as<std::string>())
                                              : muster::core::PluginLoader::default_plugin_dir());
        std::string load_error;
        try {
            ctx.plugin = loader.load(plugin_arg);
            if (!ctx.plugin->backend && !ctx.plugin->health)
                load_error =
                    "the plugin provides neither the " MUSTER_KIND_BACKEND " nor the " MUSTER_KIND_HEALTH " kind";
        } catch (const std::exception& e) {
            load_error = e.what();
        }
        if (!child_role.empty()) return load_error.empty() ? child_writer(ctx, child_role, child_count) : 1;
        if (run_rule == "L1") {  // the load itself; the verdict describes the plugin to the parent
            print_verdict(load_error.empty() ? Verdict{"pass", describe(*ctx.plugin).dump()}
                                             : Verdict{"fail", load_error});
            return 0;
        }
        for (auto& rule : rules())
            if (rule.id == run_rule) {
                try {
                    if (!load_error.empty()) throw std::runtime_error(load_error);
                    rule.run(ctx);
                    print_verdict({"pass", ""});
                } catch (const std::exception& e) {
                    print_verdict({"fail", e.what()});
                }
                return 0;
            }
        return 2;
    }
    // What each rule's process is started with: this run's own arguments.
    std::vector<std::string> child_args{"--plugin", plugin_arg, "--ttl", std::to_string(ttl_ms)};
    for (const auto& kv : raw_options) child_args.insert(child_args.end(), {"--option", kv});
    for (const auto& kv : raw_unreachable) child_args.insert(child_args.end(), {"--unreachable-option", kv});
    child_args.insert(child_args.end(), {"--unreachable-within", std::to_string(unreachable_within_ms)});
    if (!fixture.empty()) child_args.insert(child_args.end(), {"--read-only-role", fixture});
    if (!unheld.empty()) child_args.insert(child_args.end(), {"--unheld-role", unheld});
    if (vm.count("plugin-dir"))
        child_args.insert(child_args.end(), {"--plugin-dir", vm["plugin-dir"].as<std::string>()});
    // Generous: the slowest rules wait a few ttls, and sanitizers slow all.
    auto rule_limit = std::chrono::milliseconds(120000 + 20 * ttl_ms);
    // L1 runs in a process of its own too: a plugin whose loading crashes or
    // hangs fails it, and the suite reports that.
    std::string load_error;
    std::uint64_t capabilities = 0;
    bool is_backend = false, is_health = false;
    {
        Verdict v = run_isolated(ctx.self_exe, child_args, "L1", rule_limit);
        auto d = nlohmann::json::parse(v.detail, nullptr, false);
        if (v.result != "pass")
            load_error = v.detail;
        else if (d.is_discarded())
            load_error = "the load's process printed an unreadable description";
        else {
            capabilities = d.value("capabilities", std::uint64_t{0});
            is_backend = d.value("backend", false);
            is_health = d.value("health", false);
        }
        if (!json && load_error.empty())
            std::cout << "muster-conformance: " << d.value("name", "") << " " << d.value("version", "") << " ("
                      << d.value("path", "") << "), ABI " << d.value("abi", "")
                      << ", capabilities: " << capability_names(capabilities) << "\n";
    }
    // --only B runs a group; --only B1 runs exactly that rule.
    auto selected = [&](const std::string& id) {
        if (only.empty()) return true;
        bool group =
            std::all_of(only.begin(), only.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
        return group ? id.rfind(only, 0) == 0 : id == only;
    };
    if (selected("L1"))
        report("L1", "the plugin loads, exports the entry point and speaks this host's ABI major",
               load_error.empty() ? "pass" : "fail", load_error);
    for (auto& rule : rules()) {
        if (!selected(rule.id)) continue;
        if (!load_error.empty()) {
            report(rule.id, rule.title, "skip", "the plugin did not load");
            continue;
        }
        if ((rule.backend_only && !is_backend) || (rule.health_only && !is_health)) {
            report(rule.id, rule.title, "skip",
                   std::string("for plugins of the ") + (rule.health_only ? MUSTER_KIND_HEALTH : MUSTER_KIND_BACKEND) +
                       " kind");
            continue;
        }
        if (rule.needs_unreachable && ctx.unreachable.empty()) {
            report(rule.id, rule.title, "skip",
                   "give --unreachable-option key=value: options pointing at a store that is not there");
            continue;
        }
        // A read-only plugin takes no writes: the rules that write to set a
        // store up (B, C, V, W, X) give way to rules R, run on a store set up
        // by whoever runs the suite.
        if ((capabilities & MUSTER_BACKEND_CAP_READ_ONLY) &&
            std::string("BCVWX").find(rule.id[0]) != std::string::npos) {
            report(rule.id, rule.title, "skip", "writes: the plugin is read-only (rules R instead)");
            continue;
        }
        if (rule.id[0] == 'R' && (capabilities & MUSTER_BACKEND_CAP_READ_ONLY) && ctx.fixture_role.empty()) {
            report(rule.id, rule.title, "skip", "give --read-only-role ROLE=COUNT: a role the store serves");
            continue;
        }
        if (rule.needs && (capabilities & rule.needs) != rule.needs) {
            report(rule.id, rule.title, "skip", "needs capability " + capability_names(rule.needs) + ", not claimed");
            continue;
        }
        Verdict v = run_isolated(ctx.self_exe, child_args, rule.id, rule_limit);
        report(rule.id, rule.title, v.result, v.detail);
    }
    if (json)
        std::cout << nlohmann::json{{"plugin", plugin_arg},
                                    {"passed", passed},
                                    {"failed", failed},
                                    {"skipped", skipped},
                                    {"rules", results}}
                         .dump(2)
                  << "\n";
    else
        std::cout << passed << " passed, " << failed << " failed, " << skipped << " skipped\n";
    return failed == 0 ? 0 : 1;
}

// health-exec: runs a command per check (the Nagios/Consul convention):
// exit 0 passing, 1 warning, anything else critical. The command is argv
// with the instance's values filled in ({address}, {id}, {role}, {host},
// {port}, {meta.KEY}); a shell only when asked, with every value quoted as
// one word. The environment is the
// command's own (PATH, the instance's MUSTER_* values and what pass_env
// names), never the host's, which may hold secrets.
#include "command.hpp"

#include <muster/cpp/health.hpp>
#include <muster/cpp/instance_template.hpp>
#include <muster/cpp/option_spec.hpp>

#include <cstdlib>

namespace {

using muster::sdk::Verdict;

class HealthExec : public muster::sdk::HealthCheck {
public:
    static constexpr const char* kName = MUSTER_PLUGIN_NAME;  // muster_add_plugin(... NAME ...)
    static constexpr const char* kDescription = "runs a command: exit 0 passing, 1 warning, else critical";
    static std::span<const muster_option_spec> options() {
        static const muster_option_spec specs[] = {
            muster::sdk::string_option("command", "the command and its arguments, with {address}-style placeholders")
                .required(),
            muster::sdk::bool_option("shell", "run the command with /bin/sh -c (each placeholder's value is quoted)")
                .defaults_to("false"),
            muster::sdk::int_option("output_limit", "bytes of output kept; the first line is the reason")
                .defaults_to("4096"),
            muster::sdk::string_option("pass_env", "comma-separated names of host variables the command may see"),
        };
        return specs;
    }

    explicit HealthExec(const muster::sdk::HealthContext& ctx)
            : command_(ctx.options.get("command")),
              shell_(ctx.options.get_bool("shell")),
              output_limit_(
                  static_cast<std::size_t>(std::max<std::int64_t>(64, ctx.options.get_int("output_limit", 4096)))) {
        if (auto p = muster::sdk::check_template(command_); !p.empty())
            throw muster::sdk::Error(MUSTER_INVALID_ARGUMENT, "command: " + p);
        if (shell_) {
            words_ = {"/bin/sh", "-c", command_};
        } else {
            auto words = health_exec::split_words(command_);
            if (!words || words->empty())
                throw muster::sdk::Error(MUSTER_INVALID_ARGUMENT, "command: empty, or a quote is not closed");
            words_ = *words;
        }
        std::string names = ctx.options.get("pass_env") + ",";
        for (std::size_t at = 0, comma; (comma = names.find(',', at)) != std::string::npos; at = comma + 1) {
            std::string name = names.substr(at, comma - at);
            while (!name.empty() && name.front() == ' ') name.erase(0, 1);
            while (!name.empty() && name.back() == ' ') name.pop_back();
            if (name.empty()) continue;
            if (const char* v = std::getenv(name.c_str())) env_.push_back(name + "=" + v);
        }
        env_.push_back("PATH=/usr/local/bin:/usr/bin:/bin");
    }

    Verdict check(const muster::sdk::Instance& instance, std::int64_t timeout_ms) override {
        std::vector<std::string> argv;
        for (const auto& w : words_) {
            std::string missing;
            // Under a shell every value is one quoted word: metadata is the
            // registrant's to choose, and must not become shell syntax.
            auto filled =
                muster::sdk::fill_template(w, instance, missing, shell_ ? muster::sdk::shell_quoted : nullptr);
            if (!filled) return {MUSTER_HEALTH_CRITICAL, "the instance has no metadata '" + missing + "'"};
            argv.push_back(*filled);
        }
        auto env = env_;
        env.push_back("MUSTER_ID=" + instance.id);
        env.push_back("MUSTER_ROLE=" + instance.role);
        env.push_back("MUSTER_ADDRESS=" + instance.address);
        auto f = health_exec::run(argv, env, output_limit_, std::chrono::milliseconds(timeout_ms), running_);
        if (!f.error.empty()) return {MUSTER_HEALTH_CRITICAL, f.error};
        if (f.timed_out)
            return {MUSTER_HEALTH_CRITICAL, "timed out after " + std::to_string(timeout_ms) + " ms (killed)"};
        std::string line = muster::sdk::utf8_line(f.output.substr(0, f.output.find('\n')));
        if (f.signal)
            return {MUSTER_HEALTH_CRITICAL,
                    "killed by signal " + std::to_string(f.signal) + (line.empty() ? "" : ": " + line)};
        muster_health h = f.exit_code == 0   ? MUSTER_HEALTH_PASSING
                          : f.exit_code == 1 ? MUSTER_HEALTH_WARNING
                                             : MUSTER_HEALTH_CRITICAL;
        if (line.empty() && h != MUSTER_HEALTH_PASSING) line = "exit status " + std::to_string(f.exit_code);
        return {h, line};
    }

private:
    std::string command_;
    bool shell_;
    std::size_t output_limit_;
    std::vector<std::string> words_;
    std::vector<std::string> env_;
    health_exec::Running running_;
};

}  // namespace

MUSTER_EXPORT_HEALTH(HealthExec, "1.0.0")

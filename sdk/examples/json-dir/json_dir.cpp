// json-dir: a backend that keeps each instance as one file in a directory
// (<dir>/<id>.json, the SDK's JSON document), shared by every process that
// names the same directory. The SDK's WatchHub re-lists the directory every
// `poll` to serve watches; reap deletes files. A write replaces its file
// atomically (rename), but two processes writing the same instance at once
// may lose one update: each instance has one owner, so that is rare.
#include <muster/cpp/backend.hpp>
#include <muster/cpp/json_document.hpp>
#include <muster/cpp/list_filter.hpp>
#include <muster/cpp/option_spec.hpp>
#include <muster/cpp/watch_hub.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

namespace {

namespace fs = std::filesystem;
using muster::sdk::Error;
using muster::sdk::Instance;

class JsonDir : public muster::sdk::Backend {
public:
    static constexpr const char* kName = MUSTER_PLUGIN_NAME;  // muster_add_plugin(... NAME ...)
    static constexpr const char* kDescription = "each instance a JSON file in a shared directory";
    static constexpr std::uint64_t kCapabilities =
        MUSTER_BACKEND_CAP_WATCH | MUSTER_BACKEND_CAP_SHARED | MUSTER_BACKEND_CAP_REAP;
    static std::span<const muster_option_spec> options() {
        static const muster_option_spec specs[] = {
            muster::sdk::string_option("dir", "the directory; created if missing").required(),
            muster::sdk::duration_option("poll", "how often watches re-read the directory").defaults_to("200ms"),
        };
        return specs;
    }

    explicit JsonDir(const muster::sdk::BackendContext& ctx) : ctx_(ctx), dir_(ctx.options.get("dir")) {
        std::error_code ec;
        fs::create_directories(dir_, ec);
        if (!fs::is_directory(dir_)) throw Error(MUSTER_UNAVAILABLE, "cannot use directory " + dir_.string());
        // Last: the hub's thread lists through the members above (and is reset first).
        hub_ = std::make_unique<muster::sdk::WatchHub>(
            [this](muster::sdk::RoleFilter role) {
                return muster::sdk::watch_view(all(role), ctx_.host.now_ms(), ctx_.ttl_ms);
            },
            std::chrono::milliseconds(ctx.options.get_duration_ms("poll", 200)), [this] { return ctx_.host.now_ms(); },
            ctx.ttl_ms);
    }
    ~JsonDir() override { hub_.reset(); }

    void register_instance(const Instance& in) override {
        std::lock_guard lk(mu_);
        auto old = read(path_of(in.id));
        if (old && old->role != in.role) throw Error(MUSTER_CONFLICT, "id is registered under role " + old->role);
        Instance doc = in;
        doc.registered_at_ms = old ? old->registered_at_ms : ctx_.host.now_ms();
        doc.last_seen_ms = ctx_.host.now_ms();
        doc.stopped_at_ms = 0;
        write(doc);
    }

    void heartbeat(std::span<const std::string_view> ids, std::span<muster_status> results) override {
        std::lock_guard lk(mu_);
        for (std::size_t i = 0; i < ids.size(); ++i) {
            auto doc = read(path_of(ids[i]));
            results[i] = doc && !doc->stopped_at_ms ? MUSTER_OK : MUSTER_NOT_FOUND;
            if (results[i] != MUSTER_OK) continue;
            doc->last_seen_ms = ctx_.host.now_ms();
            write(*doc);
        }
    }

    void deregister(std::string_view id) override {
        std::lock_guard lk(mu_);
        auto doc = read(path_of(id));
        if (!doc) throw Error(MUSTER_NOT_FOUND, "no instance with id " + std::string(id));
        if (doc->stopped_at_ms) return;
        doc->stopped_at_ms = ctx_.host.now_ms();
        write(*doc);
    }

    void list(muster::sdk::RoleFilter role, std::uint32_t flags,
              const std::function<bool(const Instance&)>& sink) override {
        auto now = ctx_.host.now_ms();
        for (const auto& i : all(role))
            if (muster::sdk::listed(i, flags, now, ctx_.ttl_ms) && !sink(i)) break;
    }

    std::uint64_t reap(std::int64_t retain_ms) override {
        std::uint64_t n = 0;
        auto now = ctx_.host.now_ms();
        for (const auto& i : all(std::nullopt))
            if (muster::sdk::reapable(i, now, ctx_.ttl_ms, retain_ms)) n += fs::remove(path_of(i.id));
        return n;
    }

    std::unique_ptr<muster::sdk::Watch> watch(muster::sdk::RoleFilter role, muster::sdk::WatchSink sink) override {
        return hub_->add(role, sink);
    }

private:
    fs::path path_of(std::string_view id) const { return dir_ / (std::string(id) + ".json"); }

    static std::optional<Instance> read(const fs::path& p) {
        std::ifstream f(p);
        if (!f) return std::nullopt;
        std::stringstream text;
        text << f.rdbuf();
        return muster::sdk::decode_document(text.str());
    }

    // Written to a temporary file first, then renamed over the old one, so
    // a reader sees either version whole.
    void write(const Instance& doc) {
        fs::path tmp = dir_ / ("." + doc.id + "." + std::to_string(getpid()) + ".tmp");
        std::ofstream(tmp) << muster::sdk::encode_document(doc, ctx_.host.now_ms());
        std::error_code ec;
        fs::rename(tmp, path_of(doc.id), ec);
        if (ec) throw Error(MUSTER_UNAVAILABLE, "cannot write " + path_of(doc.id).string() + ": " + ec.message());
        hub_->poke();  // this process's watchers learn at once, others at their next poll
    }

    std::vector<Instance> all(muster::sdk::RoleFilter role) const {
        std::vector<Instance> out;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(dir_, ec))
            if (e.path().extension() == ".json")
                if (auto i = read(e.path()); i && (!role || i->role == *role)) out.push_back(std::move(*i));
        if (ec) throw Error(MUSTER_UNAVAILABLE, "cannot read directory " + dir_.string() + ": " + ec.message());
        return out;
    }

    muster::sdk::BackendContext ctx_;
    fs::path dir_;
    std::mutex mu_;  // one writer at a time in this process
    std::unique_ptr<muster::sdk::WatchHub> hub_;
};

}  // namespace

MUSTER_EXPORT_BACKEND(JsonDir, "0.1.0")

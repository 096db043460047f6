#include "chain_settings.hpp"

#include "setup_error.hpp"

#include <filesystem>
#include <sstream>

namespace host {

std::vector<BackendSpec> parse_chain(const Sourced& s) {
    std::vector<BackendSpec> out;
    std::string text = s.value;
    for (char& c : text)
        if (c == ',') c = ' ';
    std::istringstream in(text);
    std::string tok;
    while (in >> tok) {
        if (tok.front() == '[') {
            if (out.empty())
                throw SetupError(Fault::config, s.origin + ": chain action '" + tok + "' must follow a backend name");
            if (tok == "[NOTFOUND=return]")
                out.back().return_on_empty = true;
            else if (tok == "[NOTFOUND=continue]")
                out.back().return_on_empty = false;
            else
                throw SetupError(Fault::config, s.origin + ": unknown chain action '" + tok +
                                                    "' (use [NOTFOUND=return] or [NOTFOUND=continue])");
            continue;
        }
        // A path to a plugin file links a plugin from anywhere; its options
        // go by the file's stem ([backend.STEM], --backend-option STEM.key=v).
        std::string name = tok, plugin = tok;
        if (tok.find('/') != std::string::npos) {
            std::filesystem::path p(tok);
            if (p.extension() != ".so")
                throw SetupError(Fault::config,
                                 s.origin + ": '" + tok + "' is a path but not to a plugin file (NAME.so)");
            name = p.stem().string();
        } else {
            for (char c : tok)
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
                    throw SetupError(Fault::config,
                                     s.origin + ": '" + tok +
                                         "' is not a plugin name (lowercase letters, digits, '-') nor a path to a .so");
        }
        for (const auto& b : out)
            if (b.name == name)
                throw SetupError(Fault::config, s.origin + ": backend '" + name + "' appears twice in the chain");
        out.push_back({name, plugin, false, {}, {}});
    }
    if (out.empty())
        throw SetupError(Fault::config,
                         s.origin + ": the chain is empty: name at least one backend, e.g. catalog-sqlite");
    return out;
}

void set_option(BackendSpec& b, const std::string& key, const std::string& value, const std::string& origin) {
    for (auto& [k, v] : b.options)
        if (k == key) {
            v = value;
            b.origins[key] = origin;
            return;
        }
    b.options.emplace_back(key, value);
    b.origins[key] = origin;
}

namespace {

BackendSpec* find_backend(std::vector<BackendSpec>& chain, const std::string& name) {
    for (auto& b : chain)
        if (b.name == name) return &b;
    return nullptr;
}

// The seed's form: [queue] kind = "nats" adds nats-kv, [database] url adds
// catalog-sqlite or catalog-postgres. With an explicit chain, they only
// give options to the backends it names.
void add_seed_backends(Loading& l, bool explicit_chain) {
    auto& chain = l.s.chain;
    auto seed_backend = [&](const std::string& name) -> BackendSpec& {
        if (BackendSpec* b = find_backend(chain, name)) return *b;
        chain.push_back({name, name, false, {}, {}});
        return chain.back();
    };
    if (l.queue_kind) {
        if (l.queue_kind->value != "nats")
            throw SetupError(Fault::config, l.queue_kind->origin + ": queue.kind = '" + l.queue_kind->value +
                                                "' is not supported (use \"nats\")");
        if (!explicit_chain || find_backend(chain, "nats-kv")) {
            BackendSpec& b = seed_backend("nats-kv");
            if (l.queue_url) set_option(b, "url", l.queue_url->value, l.queue_url->origin);
        }
    } else if (l.queue_url) {
        throw SetupError(Fault::config, l.queue_url->origin + ": queue.url needs kind = \"nats\" in [queue]");
    }
    if (l.database_url) {
        const std::string& url = l.database_url->value;
        const std::string& origin = l.database_url->origin;
        if (url.rfind("sqlite://", 0) == 0) {
            std::string path = url.substr(9);
            if (path.empty())
                throw SetupError(Fault::config, origin +
                                                    ": database.url: sqlite:// has no file name (e.g. "
                                                    "sqlite://muster.db)");
            if (!explicit_chain || find_backend(chain, "catalog-sqlite"))
                set_option(seed_backend("catalog-sqlite"), "path", path, origin);
        } else if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
            if (!explicit_chain || find_backend(chain, "catalog-postgres"))
                set_option(seed_backend("catalog-postgres"), "url", url, origin);
        } else {
            // Never the URL itself in the message: it may hold a password.
            throw SetupError(Fault::config, origin + ": database.url must start with sqlite:// or postgresql://");
        }
    }
}

}  // namespace

void load_chain(Loading& l, const std::vector<ConfigEntry>& entries, const std::string& config_path) {
    auto& s = l.s;
    // Explicit, or derived from the seed's sections, or the embedded
    // default (catalog-sqlite on ./muster.db).
    if (l.chain) s.chain = parse_chain(*l.chain);
    add_seed_backends(l, l.chain.has_value());
    if (s.chain.empty()) s.chain.push_back({"catalog-sqlite", "catalog-sqlite", false, {}, {}});

    for (const auto& e : entries) {
        std::string name = e.section.substr(8), where = config_path + ":" + std::to_string(e.line);
        BackendSpec* b = find_backend(s.chain, name);
        if (!b) {
            if (s.unused_backends.empty() || s.unused_backends.back().first != name)
                s.unused_backends.emplace_back(name, where);
            continue;
        }
        set_option(*b, e.key, e.value, where);
    }
    for (const auto& o : l.backend_options) {  // checked as NAME.key=value already
        auto dot = o.value.find('.'), eq = o.value.find('=');
        std::string name = o.value.substr(0, dot);
        BackendSpec* b = find_backend(s.chain, name);
        if (!b) throw SetupError(Fault::config, o.origin + ": '" + name + "' is not in the chain");
        set_option(*b, o.value.substr(dot + 1, eq - dot - 1), o.value.substr(eq + 1), o.origin);
    }
}

}  // namespace host

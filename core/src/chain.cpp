#include <muster/core/chain.hpp>
#include <muster/cpp/error.hpp>

#include <chrono>

namespace muster::core {

namespace {
std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}
}  // namespace

Chain::Chain(std::vector<Link> links) : links_(std::move(links)) {
    if (links_.empty()) throw sdk::Error(MUSTER_INVALID_ARGUMENT, "the chain has no backend");
    for (const auto& l : links_) status_.push_back({l.backend->name(), "up", {}, 0});
}

void Chain::record(std::size_t i, const Outcome& o) {
    std::lock_guard lk(mu_);
    if (moves_on(o.status) || o.status == MUSTER_INTERNAL) {
        status_[i].state = "failing";
        status_[i].last_error = o.message;
    } else {
        status_[i].state = "up";
        status_[i].last_success_ms = wall_ms();
    }
}

ChainRead Chain::list(const std::string* role, std::uint32_t flags) {
    ChainRead r;
    r.outcome = {MUSTER_UNAVAILABLE, "no backend answered"};
    for (std::size_t i = 0; i < links_.size(); ++i) {
        std::vector<sdk::Instance> got;
        Outcome o = links_[i].backend->list(role, flags, got);
        record(i, o);
        if (moves_on(o.status) || o.status == MUSTER_INTERNAL) {
            r.outcome = {o.status, links_[i].backend->name() + ": " + o.message};
            continue;
        }
        if (!o.ok()) return {o, {}, links_[i].backend->name()};
        bool last = i + 1 == links_.size();
        if (got.empty() && !links_[i].return_on_empty && !last) continue;
        return {o, std::move(got), links_[i].backend->name()};
    }
    return r;
}

template <class Call>
Outcome Chain::write_all(Call&& call) {
    Outcome first_failure;
    bool any_ok = false;
    for (std::size_t i = 0; i < links_.size(); ++i) {
        Outcome o = call(*links_[i].backend);
        record(i, o);
        if (o.ok()) {
            any_ok = true;
        } else if (!moves_on(o.status) && o.status != MUSTER_INTERNAL) {
            return o;  // the input itself was refused: no other link will differ
        } else if (first_failure.ok()) {
            first_failure = {o.status, links_[i].backend->name() + ": " + o.message};
        }
    }
    return any_ok ? Outcome{} : first_failure;
}

Outcome Chain::register_instance(const sdk::Instance& instance) {
    return write_all([&](BackendClient& b) { return b.register_instance(instance); });
}

Outcome Chain::heartbeat(const std::vector<std::string>& ids, std::vector<muster_status>& results) {
    results.assign(ids.size(), MUSTER_NOT_FOUND);
    std::vector<muster_status> one;
    return write_all([&](BackendClient& b) {
        Outcome o = b.heartbeat(ids, one);
        if (o.ok())
            for (std::size_t i = 0; i < ids.size(); ++i)
                if (one[i] == MUSTER_OK) results[i] = MUSTER_OK;
        return o;
    });
}

Outcome Chain::deregister(const std::string& id) {
    bool found = false;
    Outcome o = write_all([&](BackendClient& b) {
        Outcome r = b.deregister(id);
        if (r.ok()) found = true;
        return r.status == MUSTER_NOT_FOUND ? Outcome{} : r;
    });
    if (o.ok() && !found) return {MUSTER_NOT_FOUND, "no instance with id " + id};
    return o;
}

Outcome Chain::reap(std::int64_t retain_ms, std::uint64_t& removed) {
    removed = 0;
    return write_all([&](BackendClient& b) {
        std::uint64_t n = 0;
        Outcome o = b.reap(retain_ms, n);
        removed += n;
        return o.status == MUSTER_UNSUPPORTED ? Outcome{} : o;
    });
}

std::shared_ptr<BackendClient> Chain::watch_source() const {
    for (const auto& l : links_)
        if (l.backend->can(MUSTER_BACKEND_CAP_WATCH)) return l.backend;
    return nullptr;
}

std::vector<LinkStatus> Chain::status() const {
    std::lock_guard lk(mu_);
    return status_;
}

}  // namespace muster::core

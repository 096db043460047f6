#include <muster/core/ownership.hpp>
#include <muster/cpp/error.hpp>

namespace muster::core {

void Ownership::add(Owned o) {
    std::lock_guard lk(mu_);
    std::string id = o.instance.id;
    if (!owned_.emplace(id, std::move(o)).second)
        throw sdk::Error(MUSTER_CONFLICT, "instance " + id + " is already registered by this process");
}

bool Ownership::owns(const std::string& id) const {
    std::lock_guard lk(mu_);
    return owned_.count(id) != 0;
}

std::vector<std::string> Ownership::ids() const {
    std::lock_guard lk(mu_);
    std::vector<std::string> out;
    for (const auto& [id, o] : owned_) out.push_back(id);
    return out;
}

std::vector<Owned> Ownership::all() const {
    std::lock_guard lk(mu_);
    std::vector<Owned> out;
    for (const auto& [id, o] : owned_) out.push_back(o);
    return out;
}

std::shared_ptr<HealthState> Ownership::health_of(const std::string& id) const {
    std::lock_guard lk(mu_);
    auto it = owned_.find(id);
    return it == owned_.end() ? nullptr : it->second.health;
}

std::optional<Outcome> Ownership::remove(const std::string& id, const Write& stop) {
    std::lock_guard w(write_mu_);
    sdk::Instance gone;
    {
        std::lock_guard lk(mu_);
        auto it = owned_.find(id);
        if (it == owned_.end()) return std::nullopt;
        gone = std::move(it->second.instance);
        owned_.erase(it);
    }
    return stop(gone);
}

std::optional<Outcome> Ownership::update(const std::string& id, const std::function<bool(sdk::Instance&)>& change,
                                         const Write& write) {
    std::lock_guard w(write_mu_);
    sdk::Instance now;
    {
        std::lock_guard lk(mu_);
        auto it = owned_.find(id);
        if (it == owned_.end()) return std::nullopt;
        if (!change(it->second.instance)) return Outcome{};
        now = it->second.instance;
    }
    return write(now);
}

bool Ownership::amend(const std::string& id, const std::function<bool(sdk::Instance&)>& change) {
    std::lock_guard w(write_mu_);
    std::lock_guard lk(mu_);
    auto it = owned_.find(id);
    return it != owned_.end() && change(it->second.instance);
}

// Each id is settled in its write order against what is owned then, so a
// write-back cannot overtake the stop of the same instance and revive it.
Outcome Ownership::reconcile(const Chain::LinkCall& call, const std::set<std::string>* ids) const {
    std::vector<std::string> todo = ids ? std::vector<std::string>(ids->begin(), ids->end()) : this->ids();
    for (const auto& id : todo) {
        std::lock_guard w(write_mu_);
        std::optional<sdk::Instance> mine;
        {
            std::lock_guard lk(mu_);
            if (auto it = owned_.find(id); it != owned_.end()) mine = it->second.instance;
        }
        Outcome o = mine ? call([inst = *mine](BackendClient& b) { return b.register_instance(inst); })
                         : call([id](BackendClient& b) { return b.deregister(id); });
        // NOT_FOUND (nothing to stop) and a refusal (CONFLICT) leave nothing
        // to retry; only a link that is down does.
        if (Chain::moves_on(o.status)) return o;
    }
    return {};
}

}  // namespace muster::core

// The instances of a published snapshot, in id order: each one shared and
// immutable, so the snapshots that follow one another share the instances
// that did not change. A change to a role of 100,000 then costs a pointer
// copy per instance, not a copy of every instance's strings; a cached
// instance is held once however many snapshots list it.
//
// Reads like a std::vector<sdk::Instance> (size, [], range-for, random
// access iterators yielding const sdk::Instance&); an instance's address
// is stable for as long as any snapshot listing it lives.
#pragma once

#include <muster/cpp/instance.hpp>

#include <boost/iterator/indirect_iterator.hpp>

#include <memory>
#include <vector>

namespace muster::core {

class InstanceList {
public:
    using Item = std::shared_ptr<const sdk::Instance>;
    using value_type = sdk::Instance;
    using const_iterator = boost::indirect_iterator<std::vector<Item>::const_iterator>;
    using iterator = const_iterator;

    std::size_t size() const { return items_.size(); }
    bool empty() const { return items_.empty(); }
    const sdk::Instance& operator[](std::size_t i) const { return *items_[i]; }
    const sdk::Instance& at(std::size_t i) const { return *items_.at(i); }
    const sdk::Instance& front() const { return *items_.front(); }
    const sdk::Instance& back() const { return *items_.back(); }
    const_iterator begin() const { return const_iterator(items_.begin()); }
    const_iterator end() const { return const_iterator(items_.end()); }

    // Building, before the snapshot is published: ids ascending.
    void reserve(std::size_t n) { items_.reserve(n); }
    void push_back(sdk::Instance i) { items_.push_back(std::make_shared<const sdk::Instance>(std::move(i))); }
    void push_back(Item i) { items_.push_back(std::move(i)); }
    std::vector<Item>& items() { return items_; }
    const std::vector<Item>& items() const { return items_; }

private:
    std::vector<Item> items_;
};

}  // namespace muster::core

// C++ helpers for the muster ABI: an instance as a JSON document, the form
// nats-kv stores and any language can read (docs/abi.md, "The instance as
// JSON"). Unlike the rest of the SDK this header needs nlohmann-json
// (Debian: nlohmann-json3-dev), and only the plugins that include it do.
//
//   {"id": "...", "role": "querier", "address": "10.0.0.5:7001",
//    "metadata": {"zone": "a"}, "health": "passing",
//    "registered_at_ms": 1764200000000, "written_at_ms": 1764200012345,
//    "last_seen_ms": ..., "stopped_at_ms": ...}     <- only when not 0
#pragma once

#include <muster/cpp/instance.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace muster::sdk {

inline std::string encode_document(const Instance& in, std::int64_t written_at_ms) {
    nlohmann::json j{{"id", in.id},
                     {"role", in.role},
                     {"address", in.address},
                     {"metadata", in.metadata},
                     {"health", health_name(in.health)},
                     {"registered_at_ms", in.registered_at_ms},
                     {"written_at_ms", written_at_ms}};
    if (in.last_seen_ms != 0) j["last_seen_ms"] = in.last_seen_ms;
    if (in.stopped_at_ms != 0) j["stopped_at_ms"] = in.stopped_at_ms;
    return j.dump();
}

namespace detail {

// Reads a document straight into an Instance (nlohmann's SAX interface):
// no JSON tree is built and copied out, which was most of what listing a
// big nats-kv role cost. Unknown fields are skipped; a known field of the
// wrong type, or a missing id, role or address, makes the text no document.
class DocumentReader final : public nlohmann::json_sax<nlohmann::json> {
public:
    Instance out;

    // True when `text` was a whole document and `out` holds it.
    bool read(std::string_view text) {
        return nlohmann::json::sax_parse(text.begin(), text.end(), this) && depth_ == kDone && seen_ == kRequired;
    }

    bool null() override { return skipping(); }
    bool boolean(bool) override { return null(); }
    bool number_integer(number_integer_t v) override { return number(v); }
    bool number_unsigned(number_unsigned_t v) override { return number(static_cast<std::int64_t>(v)); }
    bool number_float(number_float_t v, const string_t&) override {
        // Past int64's range (or NaN) a conversion is undefined: no document.
        return v > -9.2e18 && v < 9.2e18 && number(static_cast<std::int64_t>(v));
    }
    bool binary(binary_t&) override { return false; }
    bool string(string_t& v) override {
        if (skip_ > 0) return true;
        if (depth_ == kMetadata) {
            out.metadata.insert_or_assign(std::move(key_), std::move(v));
            return true;
        }
        if (depth_ != kRoot) return false;
        switch (field_) {
        case Field::id:
            out.id = std::move(v);
            seen_ |= 1;
            return true;
        case Field::role:
            out.role = std::move(v);
            seen_ |= 2;
            return true;
        case Field::address:
            out.address = std::move(v);
            seen_ |= 4;
            return true;
        case Field::health: {
            auto h = parse_health(v);
            if (h) out.health = *h;
            return h.has_value();
        }
        case Field::other: return true;
        default: return false;
        }
    }
    bool start_object(std::size_t) override {
        if (skipping()) {
            ++skip_;
        } else if (depth_ == kBefore) {
            depth_ = kRoot;
        } else if (depth_ == kRoot && field_ == Field::metadata) {
            depth_ = kMetadata;
        } else {
            return false;
        }
        return true;
    }
    bool end_object() override {
        if (skip_ > 0)
            --skip_;
        else
            depth_ = depth_ == kMetadata ? kRoot : kDone;
        return true;
    }
    bool start_array(std::size_t) override {
        if (!skipping()) return false;
        ++skip_;
        return true;
    }
    bool end_array() override {
        if (skip_ == 0) return false;
        --skip_;
        return true;
    }
    bool key(string_t& k) override {
        if (skip_ > 0) return true;
        if (depth_ == kMetadata) {
            key_ = std::move(k);
            return true;
        }
        field_ = k == "id"                 ? Field::id
                 : k == "role"             ? Field::role
                 : k == "address"          ? Field::address
                 : k == "health"           ? Field::health
                 : k == "metadata"         ? Field::metadata
                 : k == "registered_at_ms" ? Field::registered_at
                 : k == "last_seen_ms"     ? Field::last_seen
                 : k == "stopped_at_ms"    ? Field::stopped_at
                                           : Field::other;
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

private:
    enum class Field { id, role, address, health, metadata, registered_at, last_seen, stopped_at, other };
    static constexpr int kBefore = 0, kRoot = 1, kMetadata = 2, kDone = 3;  // where the reader is
    static constexpr int kRequired = 7;                                     // id, role and address seen

    // Inside a value of a field not ours, or at its start.
    bool skipping() const { return skip_ > 0 || (depth_ == kRoot && field_ == Field::other); }

    bool number(std::int64_t v) {
        if (skip_ > 0) return true;
        if (depth_ != kRoot) return false;
        switch (field_) {
        case Field::registered_at: out.registered_at_ms = v; return true;
        case Field::last_seen: out.last_seen_ms = v; return true;
        case Field::stopped_at: out.stopped_at_ms = v; return true;
        case Field::other: return true;
        default: return false;
        }
    }

    int depth_ = kBefore;
    int skip_ = 0;  // containers open inside a value of a field not ours
    int seen_ = 0;
    Field field_ = Field::other;
    std::string key_;  // the metadata key whose value comes next
};

// Reads a flat JSON object of strings (the catalogs' metadata column)
// straight into a map, without a JSON tree: a list of 10,000 rows parses
// 10,000 of them.
class MetadataReader final : public nlohmann::json_sax<nlohmann::json> {
public:
    std::map<std::string, std::string> out;

    bool read(std::string_view text) {
        return nlohmann::json::sax_parse(text.begin(), text.end(), this) && state_ == kDone;
    }

    bool null() override { return false; }
    bool boolean(bool) override { return false; }
    bool number_integer(number_integer_t) override { return false; }
    bool number_unsigned(number_unsigned_t) override { return false; }
    bool number_float(number_float_t, const string_t&) override { return false; }
    bool binary(binary_t&) override { return false; }
    bool string(string_t& v) override {
        if (state_ != kInside) return false;
        out.insert_or_assign(std::move(key_), std::move(v));
        return true;
    }
    bool start_object(std::size_t) override {
        if (state_ != kBefore) return false;
        state_ = kInside;
        return true;
    }
    bool end_object() override {
        state_ = kDone;
        return true;
    }
    bool start_array(std::size_t) override { return false; }
    bool end_array() override { return false; }
    bool key(string_t& k) override {
        key_ = std::move(k);
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

private:
    static constexpr int kBefore = 0, kInside = 1, kDone = 2;
    int state_ = kBefore;
    std::string key_;  // the key whose value comes next
};

}  // namespace detail

// nullopt for text that is not a muster document (another writer's value).
inline std::optional<Instance> decode_document(std::string_view text) {
    detail::DocumentReader reader;
    if (!reader.read(text)) return std::nullopt;
    return std::move(reader.out);
}

// The metadata a catalog stores as a JSON object of strings; nullopt for
// anything else.
inline std::optional<std::map<std::string, std::string>> decode_metadata(std::string_view text) {
    detail::MetadataReader reader;
    if (!reader.read(text)) return std::nullopt;
    return std::move(reader.out);
}

}  // namespace muster::sdk

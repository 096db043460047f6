// C++ helpers for the muster ABI: the field rules F1-F5 of docs/abi.md.
// One implementation, used by the SDK trampolines (so every SDK plugin
// refuses bad input) and by the core (so bad input never reaches a plugin).
// Each check returns an empty string when the value is valid, else one line
// saying what is wrong and what is allowed.
#pragma once

#include <muster/instance.h>
#include <muster/version.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace muster::sdk {

namespace detail {
inline bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
inline bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
inline bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
inline std::string quote(std::string_view s) {
    std::string out = "'";
    for (char c : s.substr(0, 80)) out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
    if (s.size() > 80) out += "...";
    return out + "'";
}
}  // namespace detail

// F1: role names are [a-z][a-z0-9_-]{0,62} (safe as a NATS key token, a SQL
// value and a file name).
inline std::string check_role(std::string_view role) {
    if (role.empty()) return "role is empty: give a name such as 'querier'";
    if (role.size() > MUSTER_ROLE_MAX) return "role " + detail::quote(role) + " is longer than 63 characters";
    if (!(role[0] >= 'a' && role[0] <= 'z'))
        return "role " + detail::quote(role) + " must start with a lowercase letter a-z";
    for (char c : role)
        if (!detail::is_lower_alnum(c) && c != '_' && c != '-')
            return "role " + detail::quote(role) + " may hold only lowercase letters, digits, '_' and '-'";
    return {};
}

// Ids are stored lowercase: an id given in upper case (as some UUID tools
// print them) is lowered before it is checked (F2) or used.
inline std::string normalised_id(std::string id) {
    for (auto& c : id)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return id;
}

// F2: ids are UUIDs in canonical lowercase 8-4-4-4-12 form.
inline std::string check_id(std::string_view id) {
    bool ok = id.size() == 36;
    for (std::size_t i = 0; ok && i < id.size(); ++i) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            ok = id[i] == '-';
        else
            ok = detail::is_hex(id[i]) && !(id[i] >= 'A' && id[i] <= 'F');
    }
    if (!ok)
        return "id " + detail::quote(id) +
               " is not a UUID: use the lowercase 8-4-4-4-12 form, e.g. "
               "'3f2b8c1e-0d4a-4c55-9e1a-6b7f0c2d9e11'";
    return {};
}

namespace detail {
inline bool valid_hostname(std::string_view h) {
    if (h.empty() || h.size() > 253) return false;
    std::size_t start = 0;
    while (start <= h.size()) {
        std::size_t dot = h.find('.', start);
        std::string_view label = h.substr(start, dot == std::string_view::npos ? h.npos : dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
        for (char c : label)
            if (!is_alnum(c) && c != '-') return false;
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return true;
}
inline bool valid_ipv6(std::string_view h) {
    if (h.size() < 2 || h.find(':') == h.npos) return false;
    for (char c : h)
        if (!is_hex(c) && c != ':' && c != '.') return false;
    return true;
}
}  // namespace detail

// F3: addresses are host:port, where host is a DNS name, an IPv4 address or
// a bracketed IPv6 address, and port is 1-65535.
inline std::string check_address(std::string_view a) {
    const std::string hint = " (expected host:port, e.g. 10.0.0.5:7001 or [::1]:7001)";
    if (a.empty()) return "address is empty" + hint;
    if (a.size() > MUSTER_ADDRESS_MAX) return "address is longer than 255 characters";
    std::size_t colon = a.rfind(':');
    if (colon == a.npos) return "address " + detail::quote(a) + " has no port" + hint;
    std::string_view host = a.substr(0, colon), port = a.substr(colon + 1);
    bool host_ok = (host.size() > 2 && host.front() == '[' && host.back() == ']')
                       ? detail::valid_ipv6(host.substr(1, host.size() - 2))
                       : detail::valid_hostname(host);
    if (!host_ok) return "address " + detail::quote(a) + " has an invalid host" + hint;
    std::uint32_t p = 0;
    bool port_ok = !port.empty() && port.size() <= 5;
    for (char c : port) {
        if (c < '0' || c > '9') {
            port_ok = false;
            break;
        }
        p = p * 10 + static_cast<std::uint32_t>(c - '0');
    }
    if (!port_ok || p == 0 || p > 65535) return "address " + detail::quote(a) + " has an invalid port: use 1-65535";
    return {};
}

// The length of the well-formed UTF-8 character at s[i] (no overlongs, no
// surrogates), or 0 when the bytes there are not one.
inline std::size_t utf8_char_at(std::string_view s, std::size_t i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) return 1;
    std::size_t n;
    std::uint32_t cp;
    if ((c >> 5) == 0x6) {
        n = 1;
        cp = c & 0x1Fu;
    } else if ((c >> 4) == 0xE) {
        n = 2;
        cp = c & 0x0Fu;
    } else if ((c >> 3) == 0x1E) {
        n = 3;
        cp = c & 0x07u;
    } else {
        return 0;
    }
    if (i + n >= s.size()) return 0;
    for (std::size_t k = 1; k <= n; ++k) {
        unsigned char cc = static_cast<unsigned char>(s[i + k]);
        if ((cc >> 6) != 0x2) return 0;
        cp = (cp << 6) | (cc & 0x3Fu);
    }
    static constexpr std::uint32_t min_cp[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n + 1;
}

// True when `s` is well-formed UTF-8.
inline bool valid_utf8(std::string_view s) {
    for (std::size_t i = 0, n; i < s.size(); i += n)
        if ((n = utf8_char_at(s, i)) == 0) return false;
    return true;
}

// `s` as well-formed UTF-8 text on one line: a byte that starts no valid
// character becomes '?', a control character a space. For text from
// outside (a check's output, a response body) that is stored or shown.
inline std::string utf8_line(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size();) {
        std::size_t n = utf8_char_at(s, i);
        if (n == 0) {
            out += '?';
            ++i;
        } else if (n == 1 && static_cast<unsigned char>(s[i]) < 0x20) {
            out += ' ';
            ++i;
        } else {
            out.append(s.substr(i, n));
            i += n;
        }
    }
    return out;
}

// F4: metadata keys are [A-Za-z0-9][A-Za-z0-9._/-]{0,127}.
inline std::string check_meta_key(std::string_view k) {
    bool ok = !k.empty() && k.size() <= MUSTER_META_KEY_MAX && detail::is_alnum(k[0]);
    for (char c : k) ok = ok && (detail::is_alnum(c) || c == '.' || c == '_' || c == '/' || c == '-');
    if (!ok)
        return "metadata key " + detail::quote(k) +
               " is invalid: use 1-128 of A-Z a-z 0-9 . _ / -, starting with a letter or digit";
    return {};
}

// F4: metadata values are UTF-8 text of at most 4096 bytes.
inline std::string check_meta_value(std::string_view key, std::string_view v) {
    if (v.size() > MUSTER_META_VALUE_MAX)
        return "metadata value of " + detail::quote(key) + " is longer than 4096 bytes";
    if (!valid_utf8(v)) return "metadata value of " + detail::quote(key) + " is not valid UTF-8";
    return {};
}

// F1-F5 on a borrowed C instance, NULL pointers included. Timestamps are the
// store's to set and are not checked.
inline std::string check_instance(const muster_instance* in) {
    if (in == nullptr) return "instance is NULL";
    if (in->struct_size < MUSTER_SIZE_THROUGH(muster_instance, stopped_at_ms))
        return "instance struct_size is too small for ABI 1.0";
    if (!in->id || !in->role || !in->address) return "instance id, role and address must not be NULL";
    if (auto e = check_id(in->id); !e.empty()) return e;
    if (auto e = check_role(in->role); !e.empty()) return e;
    if (auto e = check_address(in->address); !e.empty()) return e;
    // F5: health is one of the three verdicts.
    if (in->health > MUSTER_HEALTH_CRITICAL) return "health must be passing, warning or critical";
    if (in->metadata_count > MUSTER_META_KEYS_MAX) return "more than 64 metadata entries";
    if (in->metadata_count > 0 && in->metadata == nullptr) return "metadata is NULL but metadata_count > 0";
    std::size_t total = 0;
    for (std::size_t i = 0; i < in->metadata_count; ++i) {
        const muster_kv& kv = in->metadata[i];
        if (!kv.key || !kv.value) return "metadata key or value is NULL";
        if (auto e = check_meta_key(kv.key); !e.empty()) return e;
        std::string_view v = kv.value;
        if (auto e = check_meta_value(kv.key, v); !e.empty()) return e;
        total += std::string_view(kv.key).size() + v.size();
        for (std::size_t j = 0; j < i; ++j)
            if (std::string_view(in->metadata[j].key) == kv.key)
                return "metadata key " + detail::quote(kv.key) + " appears twice";
    }
    if (total > MUSTER_META_TOTAL_MAX) return "metadata is larger than 16384 bytes in all";
    return {};
}

// An application's metadata may not use the keys muster writes itself
// (MUSTER_META_RESERVED_PREFIX, instance.h).
template <class Map>
std::string check_own_metadata(const Map& metadata) {
    for (const auto& [key, value] : metadata)
        if (std::string_view(key).rfind(MUSTER_META_RESERVED_PREFIX, 0) == 0)
            return "metadata key " + detail::quote(key) + " is reserved: keys starting with '" +
                   MUSTER_META_RESERVED_PREFIX + "' are written by muster itself";
    return {};
}

}  // namespace muster::sdk

// The bare etcd client the benches measure the etcd plugin against: etcd's
// JSON gateway (the API the plugin speaks) over one kept-alive libcurl
// connection, keys and values base64 as the gateway wants them.
#pragma once

#include <curl/curl.h>
#include <openssl/evp.h>

#include <string>

namespace bench {

inline std::string b64(const std::string& s) {
    std::string out(4 * ((s.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

inline std::string unb64(const std::string& s) {
    std::string out(3 * (s.size() / 4) + 3, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
    if (n < 0) return {};
    std::size_t pad = s.size() >= 2 ? (s[s.size() - 1] == '=') + (s[s.size() - 2] == '=') : 0;
    out.resize(static_cast<std::size_t>(n) - pad);  // EVP_DecodeBlock counts the padding's bytes
    return out;
}

class EtcdGateway {
public:
    explicit EtcdGateway(std::string url) : url_(std::move(url)) {
        curl_easy_setopt(h_, CURLOPT_WRITEFUNCTION, keep);
        curl_easy_setopt(h_, CURLOPT_WRITEDATA, &answer_);
        curl_easy_setopt(h_, CURLOPT_TCP_NODELAY, 1L);
    }
    ~EtcdGateway() { curl_easy_cleanup(h_); }
    EtcdGateway(const EtcdGateway&) = delete;
    EtcdGateway& operator=(const EtcdGateway&) = delete;

    // POSTs `body` (JSON) to `path` (e.g. "/v3/kv/range"); the answer's body.
    const std::string& post(const std::string& path, const std::string& body) {
        answer_.clear();
        std::string u = url_ + path;
        curl_easy_setopt(h_, CURLOPT_URL, u.c_str());
        curl_easy_setopt(h_, CURLOPT_POSTFIELDS, body.c_str());
        curl_easy_perform(h_);
        return answer_;
    }
    void put(const std::string& key, const std::string& value) {
        post("/v3/kv/put", "{\"key\":\"" + b64(key) + "\",\"value\":\"" + b64(value) + "\"}");
    }
    // Every key under `prefix` ("/a/" -> up to "/a0").
    void delete_prefix(const std::string& prefix) {
        std::string end = prefix;
        ++end.back();
        post("/v3/kv/deleterange", "{\"key\":\"" + b64(prefix) + "\",\"range_end\":\"" + b64(end) + "\"}");
    }

private:
    static size_t keep(char* data, size_t size, size_t n, void* user) {
        static_cast<std::string*>(user)->append(data, size * n);
        return size * n;
    }
    CURL* h_ = curl_easy_init();
    std::string url_;
    std::string answer_;
};

}  // namespace bench

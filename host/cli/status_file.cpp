#include "status_file.hpp"

#include <muster/core/log.hpp>

#include <cstdio>
#include <fstream>

namespace host {

void write_status_file(const std::string& path, const nlohmann::json& doc) {
    std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp);
        out << doc.dump(2) << "\n";
        if (!out) {
            muster::core::log::warn("cannot write status file {}", tmp);
            return;
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) muster::core::log::warn("cannot replace status file {}", path);
}

}  // namespace host

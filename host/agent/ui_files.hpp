// The dashboard's files (host/agent/ui/), compiled into muster-host by
// cmake/EmbedFiles.cmake: served from memory, so a request never names a
// file on disk and an installed muster has nothing more to find.
#pragma once

#include <string_view>
#include <vector>

namespace host::agent {

struct UiFile {
    std::string_view name;  // "app.js": the path under /ui/
    std::string_view body;
};

// Every file, in no particular order. THREADING: any thread.
const std::vector<UiFile>& ui_files();

}  // namespace host::agent

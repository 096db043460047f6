// GET /ui/...: the dashboard (docs/dashboard.md), a page that reads
// muster's own API and nothing else. Its files come from ui_files(); every
// answer carries a Content-Security-Policy that allows nothing from
// elsewhere (no inline script, no frames, requests to this agent only).
#pragma once

#include "http_reply.hpp"

namespace host::agent {

// The answer to a request whose path starts with "ui": a file, the
// page's settings (/ui/config.json: whether reads need a token, never the
// token), a redirect from /ui to /ui/, or a 404/405.
Response dashboard_response(const Target& t, const Request& req, bool reads_need_token);

}  // namespace host::agent

// Rows for people: columns padded to the widest cell (list, status, plugins).
#pragma once

#include <string>
#include <vector>

namespace host {

void print_table(const std::vector<std::vector<std::string>>& rows);

}  // namespace host

// muster-host's command line for the settings: one option per key of the
// settings table (compose/setting_keys.cpp), and the parsed options turned
// back into the composition layer's SettingsSource.
#pragma once

#include "compose/settings.hpp"

#include <boost/program_options.hpp>

namespace host {

// The options every subcommand accepts: --config and each setting.
boost::program_options::options_description common_options();

// --config and every setting given on the command line.
SettingsSource source_of(const boost::program_options::variables_map& vm);

}  // namespace host

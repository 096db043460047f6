/* muster plugin ABI: everything a plugin or host needs, in one include.
 * The ABI is pure C; C++ helpers live in muster/cpp/. */
#ifndef MUSTER_MUSTER_H
#define MUSTER_MUSTER_H

#include "backend.h"
#include "health.h"
#include "host.h"
#include "instance.h"
#include "layout.h"
#include "options.h"
#include "plugin.h"
#include "status.h"
#include "version.h"

#endif

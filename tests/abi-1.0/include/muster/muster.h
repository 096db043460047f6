/* muster plugin ABI: everything a plugin or host needs, in one include.
 * The ABI is pure C; C++ helpers live in muster/cpp/. */
#ifndef MUSTER_MUSTER_H
#define MUSTER_MUSTER_H

#include "version.h"
#include "status.h"
#include "host.h"
#include "options.h"
#include "instance.h"
#include "backend.h"
#include "health.h"
#include "plugin.h"
#include "layout.h"

#endif

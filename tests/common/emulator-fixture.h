/* gst-gemini tests: a check fixture with a gemini-emulator and a scratch
 * directory, for every suite that talks to the emulator.
 *
 *   TCase *tc = add_emulator_tcase (suite, "name", 60);   // one emulator for the case
 *   tcase_add_checked_fixture (tc, start_emulator, stop_emulator);  // or one per test
 *
 * This header does not include <gst/check/gstcheck.h>.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <string>

#include "emulator-process.h"

/* check.h's types, declared here so that check.h itself stays out. */
struct Suite;
struct TCase;

namespace gemini::test {

/* The emulator of the current test case; set by start_emulator (). */
extern EmulatorProcess *emu;

/* Starts `emu` (default arguments) and makes a scratch directory. */
void start_emulator ();
/* Stops `emu` and removes the scratch directory with all in it. */
void stop_emulator ();
/* A test case named `name` in `suite`, with the two above as an unchecked
 * fixture (one emulator for all its tests) and a timeout. */
TCase *add_emulator_tcase (Suite * suite, const char *name, int timeout_s);

/* The scratch directory, and a path in it. */
const char *tmp_dir ();
std::string tmp_path (const char *name);

}  // namespace gemini::test

/* gst-gemini tests: a check fixture with a gemini-emulator and a scratch
 * directory, for every suite that talks to the emulator.
 *
 *   TCase *tc = add_emulator_tcase (suite, "name", 60);   // one emulator for the case
 *   TCase *tc = add_emulator_tcase (suite, "name", 60, EmulatorPer::Test);  // one per test
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
/* Case: one emulator for all the tests of the case (an unchecked fixture:
 * started before check forks them). Test: a fresh emulator for each test
 * (a checked fixture, in the test's own process). */
enum class EmulatorPer { Case, Test };

/* A test case named `name` in `suite`, with the two above as its fixture
 * and a timeout. */
TCase *add_emulator_tcase (Suite * suite, const char *name, int timeout_s, EmulatorPer per = EmulatorPer::Case);

/* The scratch directory, and a path in it. */
const char *tmp_dir ();
std::string tmp_path (const char *name);

}  // namespace gemini::test

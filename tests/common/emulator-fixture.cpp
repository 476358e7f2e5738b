/* gst-gemini tests: the emulator fixture.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include "emulator-fixture.h"

#include <string>

#include "scratch-dir.h"

#include <gst/check/gstcheck.h>

namespace gemini::test {

EmulatorProcess *emu;
/* Plain pointers, not static objects: a test forked by check exits, and
 * must not run destructors that belong to its parent. */
static ScratchDir *scratch;

void
start_emulator ()
{
  emu = new EmulatorProcess ();
  scratch = new ScratchDir ();
}

void
stop_emulator ()
{
  delete emu;
  emu = nullptr;
  delete scratch;
  scratch = nullptr;
}

TCase *
add_emulator_tcase (Suite * suite, const char *name, int timeout_s, EmulatorPer per)
{
  TCase *tc = tcase_create (name);
  suite_add_tcase (suite, tc);
  if (per == EmulatorPer::Test)
    tcase_add_checked_fixture (tc, start_emulator, stop_emulator);
  else
    tcase_add_unchecked_fixture (tc, start_emulator, stop_emulator);
  tcase_set_timeout (tc, timeout_s);
  return tc;
}

const char *
tmp_dir ()
{
  fail_unless (scratch != nullptr, "no scratch directory: the test case has no emulator fixture");
  return scratch->path ().c_str ();
}

std::string
tmp_path (const char *name)
{
  fail_unless (scratch != nullptr, "no scratch directory: the test case has no emulator fixture");
  return scratch->file (name);
}

}  // namespace gemini::test

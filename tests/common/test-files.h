/* gst-gemini tests: files the tests read. For check tests (the helpers fail
 * the running test); this header does not include <gst/check/gstcheck.h>.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <string>

namespace gemini::test {

/* $GEMINI_RECORDED_DIR/name: one of the real Gemini answers in
 * tests/data/recorded (tests/meson.build sets the variable). Fails the
 * test when the variable is not set. */
std::string recorded_path (const char *name);

/* The whole file; fails the test when it cannot be read. */
std::string read_file (const std::string & path);

}  // namespace gemini::test

/* gst-gemini tests: files the tests read.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include "test-files.h"

#include <string>

#include "plugin/glib-raii.h"

#include <gst/check/gstcheck.h>

namespace gemini::test {

std::string
recorded_path (const char *name)
{
  const char *dir = g_getenv ("GEMINI_RECORDED_DIR");
  fail_unless (dir && *dir, "GEMINI_RECORDED_DIR is not set (run the tests with meson test)");
  GCharPtr p (g_build_filename (dir, name, nullptr));
  return p.get ();
}

std::string
read_file (const std::string & path)
{
  gchar *data = nullptr;
  gsize size = 0;
  GErrorPtr err;
  fail_unless (g_file_get_contents (path.c_str (), &data, &size, out_error (err)), "cannot read %s: %s",
      path.c_str (), err ? err->message : "");
  std::string contents (data, size);
  g_free (data);
  return contents;
}

}  // namespace gemini::test

/* gst-gemini tests: scratch directories, removed with everything in them
 * without a shell.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <sys/types.h>

#include <string>

namespace gemini::test {

/* Removes `path` and everything below it with GLib calls (no shell, no
 * rm). Symbolic links are removed, never followed. A path that does not
 * exist is not an error. Returns false, with `error`, at the first entry
 * that cannot be removed. */
bool remove_tree (const std::string & path, std::string & error);

/* A new, empty directory in g_get_tmp_dir () (g_dir_make_tmp; `name_template`
 * ends in XXXXXX), removed with its contents by the destructor. Safe with
 * check's fork mode: only the process that made it removes it, so a forked
 * test that exits does not take its parent's directory away. */
class ScratchDir {
public:
  explicit ScratchDir (const char *name_template = "gemini-test-XXXXXX");
  ~ScratchDir ();
  ScratchDir (const ScratchDir &) = delete;
  ScratchDir & operator= (const ScratchDir &) = delete;

  const std::string & path () const { return path_; }
  /* path ()/name */
  std::string file (const char *name) const;

private:
  std::string path_;
  pid_t owner_;
};

}  // namespace gemini::test

/* gst-gemini tests: scratch directories.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "scratch-dir.h"

#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "plugin/glib-raii.h"

namespace gemini::test {

static bool
failed (const char *what, const std::string & path, int err, std::string & error)
{
  error = std::string (what) + " " + path + ": " + g_strerror (err);
  return false;
}

bool
remove_tree (const std::string & path, std::string & error)
{
  GStatBuf st;
  if (g_lstat (path.c_str (), &st) != 0)
    return errno == ENOENT ? true : failed ("cannot stat", path, errno, error);
  if (!S_ISDIR (st.st_mode)) {
    if (g_unlink (path.c_str ()) != 0 && errno != ENOENT)
      return failed ("cannot remove", path, errno, error);
    return true;
  }
  /* Names first, removal after: the directory is not changed while it is
   * being read. */
  std::vector<std::string> names;
  GError *open_err = nullptr;
  GDir *dir = g_dir_open (path.c_str (), 0, &open_err);
  if (!dir) {
    error = std::string ("cannot open ") + path + ": " + open_err->message;
    g_error_free (open_err);
    return false;
  }
  while (const char *name = g_dir_read_name (dir))
    names.emplace_back (name);
  g_dir_close (dir);
  for (const std::string & name : names) {
    GCharPtr child (g_build_filename (path.c_str (), name.c_str (), nullptr));
    if (!remove_tree (child.get (), error))
      return false;
  }
  if (g_rmdir (path.c_str ()) != 0 && errno != ENOENT)
    return failed ("cannot remove", path, errno, error);
  return true;
}

ScratchDir::ScratchDir (const char *name_template) : owner_ (getpid ())
{
  GError *err = nullptr;
  GCharPtr dir (g_dir_make_tmp (name_template, &err));
  if (!dir)
    g_error ("ScratchDir: cannot make a directory from %s: %s", name_template, err->message);
  path_ = dir.get ();
}

ScratchDir::~ScratchDir ()
{
  if (getpid () != owner_)
    return;
  std::string error;
  if (!remove_tree (path_, error))
    g_printerr ("ScratchDir: %s\n", error.c_str ());
}

std::string
ScratchDir::file (const char *name) const
{
  GCharPtr p (g_build_filename (path_.c_str (), name, nullptr));
  return p.get ();
}

}  // namespace gemini::test

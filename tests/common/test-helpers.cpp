/* gst-gemini tests: the shared test helpers themselves (scratch directories,
 * GBytes helpers) and the test environment (the registry of the build dir,
 * the recordings of the repository).
 * argv[1]: the build dir.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <string>

#include <glib/gstdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bytes.h"
#include "plugin/glib-raii.h"
#include "scratch-dir.h"
#include "test-files.h"

#include <gst/check/gstcheck.h>

using namespace gemini;
using namespace gemini::test;

static std::string build_dir;

static void
write_text (const std::string & path, const char *text)
{
  fail_unless (g_file_set_contents (path.c_str (), text, -1, nullptr), "cannot write %s", path.c_str ());
}

GST_START_TEST (test_remove_tree)
{
  ScratchDir outside;
  const std::string keep = outside.file ("keep.txt");
  write_text (keep, "not ours");

  std::string root;
  {
    ScratchDir tree;
    root = tree.path ();
    fail_unless (g_file_test (root.c_str (), G_FILE_TEST_IS_DIR));
    const std::string sub = tree.file ("a"), subsub = tree.file ("a/b");
    fail_unless_equals_int (g_mkdir (sub.c_str (), 0700), 0);
    fail_unless_equals_int (g_mkdir (subsub.c_str (), 0700), 0);
    write_text (tree.file ("top.txt"), "1");
    write_text (tree.file ("a/b/deep.txt"), "2");
    write_text (tree.file ("it's \"quoted\" $(true).txt"), "3");  /* no shell to trip over */
    /* Links are removed, not followed. */
    fail_unless_equals_int (symlink (outside.path ().c_str (), tree.file ("a/link-to-dir").c_str ()), 0);
    fail_unless_equals_int (symlink (keep.c_str (), tree.file ("link-to-file").c_str ()), 0);
    fail_unless_equals_int (symlink ("/nonexistent", tree.file ("dangling").c_str ()), 0);
  }
  fail_if (g_file_test (root.c_str (), G_FILE_TEST_EXISTS), "%s survived", root.c_str ());
  const std::string kept = read_file (keep);
  fail_unless_equals_string (kept.c_str (), "not ours");

  /* A path that is not there is already removed; a file is removed too. */
  std::string error;
  fail_unless (remove_tree (root, error), "%s", error.c_str ());
  fail_unless (remove_tree (keep, error), "%s", error.c_str ());
  fail_if (g_file_test (keep.c_str (), G_FILE_TEST_EXISTS));

  /* What cannot be removed is reported, naming the path. */
  ScratchDir locked;
  const std::string inner = locked.file ("inner");
  fail_unless_equals_int (g_mkdir (inner.c_str (), 0700), 0);
  write_text (locked.file ("inner/f"), "x");
  fail_unless_equals_int (g_chmod (inner.c_str (), 0500), 0);
  if (geteuid () != 0) {  /* root may remove it anyway */
    fail_if (remove_tree (inner, error));
    fail_unless (error.find (inner) != std::string::npos, "%s", error.c_str ());
  }
  fail_unless_equals_int (g_chmod (inner.c_str (), 0700), 0);
}
GST_END_TEST;

/* A forked process that exits (as check's forked tests do) does not remove
 * its parent's directory; the parent does. */
GST_START_TEST (test_scratch_dir_owner)
{
  auto *dir = new ScratchDir ();
  const std::string path = dir->path ();
  const pid_t child = fork ();
  fail_if (child < 0);
  if (child == 0) {
    delete dir;
    _exit (g_file_test (path.c_str (), G_FILE_TEST_IS_DIR) ? 0 : 1);
  }
  int status = 0;
  fail_unless_equals_int (waitpid (child, &status, 0), child);
  fail_unless (WIFEXITED (status) && WEXITSTATUS (status) == 0, "the child removed the directory");
  fail_unless (g_file_test (path.c_str (), G_FILE_TEST_IS_DIR));
  delete dir;
  fail_if (g_file_test (path.c_str (), G_FILE_TEST_EXISTS));
}
GST_END_TEST;

GST_START_TEST (test_bytes)
{
  const std::string s ("a\0b", 3);
  GBytesPtr b (bytes_of (s));
  fail_unless_equals_int (g_bytes_get_size (b.get ()), 3);
  fail_unless (string_of (b.get ()) == s);
  fail_unless (string_of (nullptr).empty ());
}
GST_END_TEST;

/* Every test runs with a registry file of the build dir (tests/meson.build),
 * never ~/.cache/gstreamer-1.0; gst_init () in this process wrote it. */
GST_START_TEST (test_registry_in_build_dir)
{
  for (const char *var : {"GST_REGISTRY", "GST_REGISTRY_1_0"}) {
    const char *path = g_getenv (var);
    fail_unless (path && *path, "%s is not set", var);
    GCharPtr dir (g_path_get_dirname (path));
    fail_unless_equals_string (dir.get (), build_dir.c_str ());
  }
  fail_unless (g_file_test (g_getenv ("GST_REGISTRY"), G_FILE_TEST_IS_REGULAR), "no registry at %s",
      g_getenv ("GST_REGISTRY"));
}
GST_END_TEST;

/* The recordings the tests replay are in the repository. */
GST_START_TEST (test_recordings_in_repository)
{
  const char *srcdir = g_getenv ("GEMINI_TEST_SRCDIR");
  fail_unless (srcdir && *srcdir);
  GCharPtr expected (g_build_filename (srcdir, "data", "recorded", nullptr));
  fail_unless_equals_string (g_getenv ("GEMINI_RECORDED_DIR"), expected.get ());
  for (const char *name : {"test_google_image_generation_with_text.yaml", "test_google_image_or_text_output.yaml",
           "test_google_vertexai_image_generation_with_output_format.yaml", "README.md"})
    fail_unless (g_file_test (recorded_path (name).c_str (), G_FILE_TEST_IS_REGULAR), "%s missing", name);
}
GST_END_TEST;

static Suite *
helpers_suite (void)
{
  Suite *s = suite_create ("test-helpers");
  TCase *tc = tcase_create ("helpers");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_remove_tree);
  tcase_add_test (tc, test_scratch_dir_owner);
  tcase_add_test (tc, test_bytes);
  tc = tcase_create ("environment");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_registry_in_build_dir);
  tcase_add_test (tc, test_recordings_in_repository);
  return s;
}

int
main (int argc, char **argv)
{
  gst_check_init (&argc, &argv);
  build_dir = argc > 1 ? argv[1] : "";
  Suite *s = helpers_suite ();
  return gst_check_run_suite (s, "test-helpers", __FILE__);
}

/* Unit tests of plugin/gemini-reference.cpp: reference files are read with
 * a bound, regular files only, never blocking.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gemini-reference.h"
#include "scratch-dir.h"

#include <gst/check/gstcheck.h>
#include <glib/gstdio.h>

using namespace gemini;
using gemini::test::ScratchDir;

static const char kPngMagic[] = "\x89PNG\r\n\x1a\n";

static ScratchDir *scratch;

/* A file of `size` bytes that sniffs as PNG (or as nothing). */
static std::string
scratch_file (const char *name, gsize size, bool png = true)
{
  std::string path = scratch->file (name);
  std::string bytes (size, 'x');
  if (png)
    bytes.replace (0, 8, kPngMagic, 8);
  fail_unless (g_file_set_contents (path.c_str (), bytes.data (), (gssize) bytes.size (), nullptr));
  return path;
}

static void
setup (void)
{
  scratch = new ScratchDir ("test-reference-XXXXXX");
}

static void
teardown (void)
{
  delete scratch;
  scratch = nullptr;
}

static double
ms_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / 1000.0;
}

GST_START_TEST (test_split)
{
  auto v = split_reference_list (" a.png , b\\,c.jpg,, ");
  fail_unless_equals_int (v.size (), 2);
  fail_unless_equals_string (v[0].c_str (), "a.png");
  fail_unless_equals_string (v[1].c_str (), "b,c.jpg");
  fail_unless (split_reference_list ("").empty ());
}
GST_END_TEST;

GST_START_TEST (test_reads_in_order)
{
  std::string a = scratch_file ("a.png", 100), b = scratch_file ("b,c.png", 50);
  std::vector<ReferenceImage> refs;
  ReferenceError kind;
  std::string error;
  fail_unless (load_reference_images (a + "," + scratch->path () + "/b\\,c.png", 1000, refs, kind, error),
      "%s", error.c_str ());
  fail_unless_equals_int (refs.size (), 2);
  fail_unless_equals_int (g_bytes_get_size (refs[0].data.get ()), 100);
  fail_unless_equals_int (g_bytes_get_size (refs[1].data.get ()), 50);
  fail_unless_equals_string (refs[1].mime_type.c_str (), "image/png");
}
GST_END_TEST;

/* Issue 6 item 6: the budget is enforced exactly, over all files. */
GST_START_TEST (test_budget_exact)
{
  std::string a = scratch_file ("a.png", 600), b = scratch_file ("b.png", 400);
  std::vector<ReferenceImage> refs;
  ReferenceError kind;
  std::string error;
  fail_unless (load_reference_images (a + "," + b, 1000, refs, kind, error), "%s", error.c_str ());
  fail_if (load_reference_images (a + "," + b, 999, refs, kind, error));
  fail_unless (kind == ReferenceError::Settings);
  fail_unless (refs.empty ());
  fail_unless (error.find ("Reference image 2 of reference-images") != std::string::npos, "%s",
      error.c_str ());
  fail_unless (error.find ("is 400 bytes, over the 399 bytes left") != std::string::npos, "%s",
      error.c_str ());
}
GST_END_TEST;

/* Issue 6 item 6: a 2 GiB file is refused from its size, without being
 * read (a sparse file: no disk used). */
GST_START_TEST (test_huge_file_not_read)
{
  std::string path = scratch->file ("huge.png");
  int fd = g_open (path.c_str (), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  fail_unless (fd >= 0);
  fail_unless_equals_int (write (fd, kPngMagic, 8), 8);
  fail_unless_equals_int (ftruncate (fd, (off_t) 2 << 30), 0);
  close (fd);

  std::vector<ReferenceImage> refs;
  ReferenceError kind;
  std::string error;
  gint64 start = g_get_monotonic_time ();
  fail_if (load_reference_images (path, kMaxReferenceBytes, refs, kind, error));
  double ms = ms_since (start);
  fail_unless (kind == ReferenceError::Settings);
  fail_unless (error.find ("is 2147483648 bytes") != std::string::npos, "%s", error.c_str ());
  fail_unless (ms < 50, "refusing took %.1f ms: was the file read?", ms);
}
GST_END_TEST;

/* Issue 6 item 6: /dev/zero never ends; it is refused at once. */
GST_START_TEST (test_device_refused)
{
  std::vector<ReferenceImage> refs;
  ReferenceError kind;
  std::string error;
  gint64 start = g_get_monotonic_time ();
  fail_if (load_reference_images ("/dev/zero", kMaxReferenceBytes, refs, kind, error));
  fail_unless (ms_since (start) < 50);
  fail_unless (kind == ReferenceError::Settings);
  fail_unless (error.find ("\"/dev/zero\", is a character device, not a regular file")
      != std::string::npos, "%s", error.c_str ());
  fail_if (load_reference_images (scratch->path (), kMaxReferenceBytes, refs, kind, error));
  fail_unless (error.find ("is a directory") != std::string::npos, "%s", error.c_str ());
}
GST_END_TEST;

/* Issue 6 item 6: opening a FIFO for reading waits for a writer; the
 * loader must not. */
GST_START_TEST (test_fifo_refused)
{
  std::string path = scratch->file ("fifo.png");
  fail_unless_equals_int (mkfifo (path.c_str (), 0600), 0);
  std::vector<ReferenceImage> refs;
  ReferenceError kind;
  std::string error;
  gint64 start = g_get_monotonic_time ();
  fail_if (load_reference_images (path, kMaxReferenceBytes, refs, kind, error));
  fail_unless (ms_since (start) < 50);
  fail_unless (error.find ("is a FIFO, not a regular file") != std::string::npos, "%s", error.c_str ());
}
GST_END_TEST;

GST_START_TEST (test_missing_and_not_image)
{
  std::vector<ReferenceImage> refs;
  ReferenceError kind;
  std::string error;
  fail_if (load_reference_images ("/nonexistent/day.jpg", 1000, refs, kind, error));
  fail_unless (kind == ReferenceError::OpenRead);
  fail_unless (error.find ("\"/nonexistent/day.jpg\", could not be opened: No such file")
      != std::string::npos, "%s", error.c_str ());
  std::string text = scratch_file ("notes.png", 20, false);
  fail_if (load_reference_images (text, 1000, refs, kind, error));
  fail_unless (kind == ReferenceError::Settings);
  fail_unless (error.find ("is not an image file: Gemini accepts PNG, JPEG, WebP and HEIF")
      != std::string::npos, "%s", error.c_str ());
}
GST_END_TEST;

static Suite *
reference_suite (void)
{
  Suite *s = suite_create ("gemini-reference");
  TCase *tc = tcase_create ("reference");
  tcase_add_checked_fixture (tc, setup, teardown);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_split);
  tcase_add_test (tc, test_reads_in_order);
  tcase_add_test (tc, test_budget_exact);
  tcase_add_test (tc, test_huge_file_not_read);
  tcase_add_test (tc, test_device_refused);
  tcase_add_test (tc, test_fifo_refused);
  tcase_add_test (tc, test_missing_and_not_image);
  return s;
}

GST_CHECK_MAIN (reference);

/* Unit tests of plugin/gemini-block-store: blocks kept for the next image.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <thread>
#include <vector>

#include "gemini-block-store.h"

#include <gst/check/gstcheck.h>

using gemini::BlockStore;

/* A block given back comes out again for its exact size only. */
GST_START_TEST (test_reuse_same_size)
{
  BlockStore store (2);
  guint8 *a = store.take (1000);
  fail_unless (a != nullptr);
  a[999] = 7;
  store.give (a, 1000);
  fail_unless_equals_int (store.idle (), 1);
  guint8 *other = store.take (999);
  fail_unless (other != a);
  fail_unless_equals_int (store.idle (), 1);
  guint8 *again = store.take (1000);
  fail_unless (again == a);
  fail_unless_equals_int (store.reused (), 1);
  fail_unless_equals_int (store.idle (), 0);
  g_free (again);   /* any block can be freed with g_free */
  store.give (other, 999);
}
GST_END_TEST;

/* At most max_idle blocks are kept, the oldest dropped first; clear ()
 * drops them all; a store of 0 keeps nothing. */
GST_START_TEST (test_bounded)
{
  BlockStore store (2);
  guint8 *a = store.take (10), *b = store.take (20), *c = store.take (30);
  store.give (a, 10);
  store.give (b, 20);
  store.give (c, 30);
  fail_unless_equals_int (store.idle (), 2);
  guint8 *x = store.take (10);   /* a was dropped: a new block */
  fail_unless_equals_int (store.reused (), 0);
  guint8 *y = store.take (30);
  fail_unless (y == c);
  store.give (x, 10);
  store.give (y, 30);
  store.clear ();
  fail_unless_equals_int (store.idle (), 0);

  BlockStore none (0);
  none.give (none.take (5), 5);
  fail_unless_equals_int (none.idle (), 0);
  none.give (nullptr, 5);
}
GST_END_TEST;

/* Blocks come back from other threads (downstream's) while the decoders
 * take them: nothing lost, nothing handed out twice. */
GST_START_TEST (test_threads)
{
  BlockStore store (4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back ([&store] {
      for (int i = 0; i < 2000; i++) {
        guint8 *b = store.take (4096);
        b[0] = 1;
        b[4095] = 2;
        store.give (b, 4096);
      }
    });
  }
  for (auto & t : threads)
    t.join ();
  fail_unless (store.idle () >= 1 && store.idle () <= 4);
  fail_unless (store.reused () > 0);
}
GST_END_TEST;

static Suite *
block_store_suite (void)
{
  Suite *s = suite_create ("block-store");
  TCase *tc = tcase_create ("general");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_reuse_same_size);
  tcase_add_test (tc, test_bounded);
  tcase_add_test (tc, test_threads);
  return s;
}

GST_CHECK_MAIN (block_store);

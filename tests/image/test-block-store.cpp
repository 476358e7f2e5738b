/* Unit tests of plugin/gemini-block-store: blocks kept for the next image.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <memory>
#include <thread>
#include <vector>

#include "gemini-block-store.h"

#include <gst/check/gstcheck.h>

using gemini::BlockStore;

/* A block given back comes out again for its exact size; a request of
 * another size gets a new block and frees the kept ones (the images
 * changed size: they would only hold memory). */
GST_START_TEST (test_reuse_same_size)
{
  BlockStore store (2);
  guint8 *a = store.take (1000);
  fail_unless (a != nullptr);
  a[999] = 7;
  store.give (a, 1000);
  fail_unless_equals_int (store.idle (), 1);
  guint8 *again = store.take (1000);
  fail_unless (again == a);
  fail_unless_equals_int (store.reused (), 1);
  fail_unless_equals_int (store.idle (), 0);
  store.give (again, 1000);
  guint8 *other = store.take (999);
  fail_unless (other != nullptr);
  fail_unless_equals_int (store.idle (), 0);
  fail_unless_equals_int (store.reused (), 1);
  g_free (other);   /* any block can be freed with g_free */
}
GST_END_TEST;

/* At most max_idle blocks are kept, the oldest dropped first; clear ()
 * drops them all; a store of 0 keeps nothing. */
GST_START_TEST (test_bounded)
{
  BlockStore store (2);
  guint8 *a = store.take (10), *b = store.take (10), *c = store.take (10);
  store.give (a, 10);
  store.give (b, 10);
  store.give (c, 10);
  fail_unless_equals_int (store.idle (), 2);
  guint8 *x = store.take (10), *y = store.take (10);
  fail_unless ((x == c && y == b) || (x == b && y == c));   /* a was dropped */
  fail_unless_equals_int (store.reused (), 2);
  store.give (x, 10);
  store.give (y, 10);
  store.clear ();
  fail_unless_equals_int (store.idle (), 0);

  BlockStore none (0);
  none.give (none.take (5), 5);
  fail_unless_equals_int (none.idle (), 0);
  none.give (nullptr, 5);
}
GST_END_TEST;

/* Bodies: the smallest kept block that holds the request, if it is at most
 * half as large again; its capacity is told. */
GST_START_TEST (test_take_fit)
{
  BlockStore store (2);
  gsize cap = 0;
  guint8 *big = store.take_fit (3000, cap);
  fail_unless_equals_int (cap, 3000);
  guint8 *small = store.take_fit (2000, cap);
  store.give (big, 3000);
  store.give (small, 2000);
  guint8 *got = store.take_fit (1900, cap);
  fail_unless (got == small);
  fail_unless_equals_int (cap, 2000);
  store.give (got, cap);
  got = store.take_fit (2100, cap);   /* only the 3000 one fits, within 1.5x */
  fail_unless (got == big);
  fail_unless_equals_int (cap, 3000);
  store.give (got, cap);
  got = store.take_fit (1000, cap);   /* 2000 is more than half as large again */
  fail_unless (got != small && got != big);
  fail_unless_equals_int (cap, 1000);
  fail_unless_equals_int (store.idle (), 0);
  g_free (got);

  /* GDestroyNotify-shaped giving back, as GBytes and GstMemory use it. */
  guint8 *block = store.take (64);
  GBytes *bytes = g_bytes_new_with_free_func (block, 10, BlockStore::give_back,
      BlockStore::returning (std::shared_ptr<BlockStore> (&store, [] (BlockStore *) {}), block, 64));
  g_bytes_unref (bytes);
  fail_unless_equals_int (store.idle (), 1);
  fail_unless (store.take (64) == block);
  g_free (block);
}
GST_END_TEST;

/* A body of unknown length: the largest kept block, whatever its size; with
 * none kept, a new one of the size asked, and nothing freed. */
GST_START_TEST (test_take_largest)
{
  BlockStore store (3);
  gsize cap = 0;
  guint8 *a = store.take (1000), *b = store.take (3000);
  store.give (a, 1000);
  store.give (b, 3000);
  guint8 *got = store.take_largest (100000, cap);
  fail_unless (got == b);
  fail_unless_equals_int (cap, 3000);
  got = store.take_largest (100000, cap);
  fail_unless (got == a);
  fail_unless_equals_int (cap, 1000);
  fail_unless_equals_int (store.reused (), 2);
  store.give (a, 1000);
  g_free (b);
  got = store.take_fit (5000, cap);   /* a miss of take_fit frees the kept ones */
  fail_unless_equals_int (store.idle (), 0);
  store.give (got, cap);
  guint8 *fresh = store.take (7000);  /* and so does take's; then one is kept */
  store.give (fresh, 7000);
  g_free (store.take_largest (1, cap));
  fail_unless_equals_int (cap, 7000);
  got = store.take_largest (256, cap);
  fail_unless_equals_int (cap, 256);
  g_free (got);
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
  tcase_add_test (tc, test_take_fit);
  tcase_add_test (tc, test_take_largest);
  tcase_add_test (tc, test_threads);
  return s;
}

GST_CHECK_MAIN (block_store);

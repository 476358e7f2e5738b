/* gst-gemini: the cost ledger (plugin/gemini-cost.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <atomic>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "gemini-cost.h"
#include "gemini-models.h"

#include <gst/check/gstcheck.h>

using namespace gemini;

static Usage
usage (gint64 prompt, gint64 candidates, gint64 thoughts, gint64 total)
{
  Usage u;
  u.prompt_tokens = prompt;
  u.candidates_tokens = candidates;
  u.thoughts_tokens = thoughts;
  u.total_tokens = total;
  return u;
}

GST_START_TEST (test_catalogue_price)
{
  const ModelSpec *spec = find_model_spec ("gemini-3.1-flash-image");
  fail_unless (spec != nullptr);
  /* Its default size is 1K. */
  fail_unless_equals_float (catalogue_price (spec, ""), spec->price_usd[1]);
  fail_unless_equals_float (catalogue_price (spec, "1K"), spec->price_usd[1]);
  fail_unless_equals_float (catalogue_price (spec, "4K"), spec->price_usd[3]);
  /* Not a size, no model, a size no source prices. */
  fail_unless_equals_float (catalogue_price (spec, "3K"), kUnknownPrice);
  fail_unless_equals_float (catalogue_price (nullptr, "1K"), kUnknownPrice);
  const ModelSpec *nb = resolve_model ("nano-banana").spec;
  fail_unless (nb != nullptr);
  fail_unless_equals_float (catalogue_price (nb, "2K"), kUnknownPrice);
  /* A size the model does not offer. */
  if (!nb->takes_size (image_size_index ("512")))
    fail_unless_equals_float (catalogue_price (nb, "512"), kUnknownPrice);
}
GST_END_TEST;

GST_START_TEST (test_totals)
{
  CostLedger l;
  fail_unless (l.reserve (0, 0.04) == CostLedger::Admit::Ok);
  fail_unless (l.reserve (1, 0.04) == CostLedger::Admit::Ok);
  fail_unless (l.reserve (2, 0.04) == CostLedger::Admit::Ok);
  fail_unless (std::abs (l.totals ().reserved - 0.12) < 1e-12);
  /* An image from the network: its price and tokens. */
  fail_unless_equals_float (l.settle (0, usage (10, 1290, 100, 1400), true, false), 0.04);
  /* From the cache: nothing. */
  fail_unless_equals_float (l.settle (1, usage (10, 1290, 100, 1400), true, true), 0.0);
  /* No image (blocked): its tokens, no price; -1 (not sent) adds nothing. */
  fail_unless_equals_float (l.settle (2, usage (10, -1, -1, 10), false, false), 0.0);
  const CostLedger::Totals t = l.totals ();
  fail_unless_equals_float (t.spent, 0.04);
  fail_unless_equals_float (t.reserved, 0.0);
  fail_unless_equals_int64 (t.prompt_tokens, 20);
  fail_unless_equals_int64 (t.candidates_tokens, 1290);
  fail_unless_equals_int64 (t.thoughts_tokens, 100);
  fail_unless_equals_int64 (t.total_tokens, 1410);
  fail_unless_equals_uint64 (t.images_billed, 1);
  l.reset ();
  fail_unless_equals_float (l.totals ().spent, 0.0);
  fail_unless_equals_int64 (l.totals ().total_tokens, 0);
}
GST_END_TEST;

/* 0.04 per image under 0.10: two, whether they run one after the other or
 * together; a released reservation makes room again. */
GST_START_TEST (test_cap)
{
  CostLedger l;
  l.set_max_cost (0.1);
  fail_unless (l.reserve (0, 0.04) == CostLedger::Admit::Ok);
  fail_unless (l.reserve (1, 0.04) == CostLedger::Admit::Ok);
  /* In flight together: the third would pass the cap. */
  fail_unless (l.reserve (2, 0.04) == CostLedger::Admit::OverCap);
  /* One was a cache hit: its price goes back. */
  l.settle (0, Usage (), true, true);
  fail_unless (l.reserve (2, 0.04) == CostLedger::Admit::Ok);
  l.settle (1, Usage (), true, false);
  l.settle (2, Usage (), true, false);
  fail_unless (std::abs (l.totals ().spent - 0.08) < 1e-12);
  fail_unless (l.reserve (3, 0.04) == CostLedger::Admit::OverCap);
  /* Exactly up to the cap is allowed (0.08 + 0.02 = 0.1, not exact in binary). */
  fail_unless (l.reserve (3, 0.02) == CostLedger::Admit::Ok);
  /* A cancelled request gives its reservation back. */
  l.release (3);
  fail_unless_equals_float (l.totals ().reserved, 0.0);
  /* A failure before an image costs nothing. */
  fail_unless (l.reserve (4, 0.02) == CostLedger::Admit::Ok);
  l.settle (4, Usage (), false, false);
  fail_unless (std::abs (l.totals ().spent - 0.08) < 1e-12);
  /* Free images pass whatever was spent; an unknown price does not. */
  fail_unless (l.reserve (5, 0) == CostLedger::Admit::Ok);
  fail_unless (l.reserve (6, kUnknownPrice) == CostLedger::Admit::UnknownPrice);
  l.release_all ();
  fail_unless_equals_float (l.totals ().reserved, 0.0);
}
GST_END_TEST;

/* Without a cap: an unknown price is admitted, counted as unpriced. */
GST_START_TEST (test_unknown_price_without_cap)
{
  CostLedger l;
  fail_unless (l.reserve (0, kUnknownPrice) == CostLedger::Admit::Ok);
  fail_unless_equals_float (l.settle (0, usage (1, 2, 0, 3), true, false), 0.0);
  fail_unless_equals_uint64 (l.totals ().unpriced_images, 1);
  fail_unless_equals_uint64 (l.totals ().images_billed, 1);
  fail_unless_equals_float (l.totals ().spent, 0.0);
}
GST_END_TEST;

/* Threads reserving at once never pass the cap together. */
GST_START_TEST (test_cap_concurrent)
{
  CostLedger l;
  l.set_max_cost (1.0);
  std::vector<std::thread> threads;
  std::atomic<int> admitted {0};
  for (int t = 0; t < 8; t++)
    threads.emplace_back ([&l, &admitted, t] {
      for (int i = 0; i < 100; i++)
        if (l.reserve (guint64 (t * 100 + i), 0.01) == CostLedger::Admit::Ok)
          admitted++;
    });
  for (auto & th : threads)
    th.join ();
  fail_unless_equals_int (admitted.load (), 100);
}
GST_END_TEST;

static Suite *
cost_suite (void)
{
  Suite *s = suite_create ("cost");
  TCase *tc = tcase_create ("ledger");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_catalogue_price);
  tcase_add_test (tc, test_totals);
  tcase_add_test (tc, test_cap);
  tcase_add_test (tc, test_unknown_price_without_cap);
  tcase_add_test (tc, test_cap_concurrent);
  return s;
}

GST_CHECK_MAIN (cost);

/* gst-gemini: what a stream spends, and the spend cap.
 *
 * The ledger keeps running totals of the tokens billed and of the estimated
 * cost (list price per image from the model catalogue, or the
 * price-per-image property), and decides whether an image may start under
 * max-cost. A request reserves its price when it starts, so that requests
 * in flight together cannot overshoot the cap; the reservation becomes
 * spent when its image comes from the network, and is released when the
 * answer cost nothing (from the cache, no image, cancelled).
 *
 * Knows nothing of GstElement. Thread-safe.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <map>
#include <mutex>
#include <string>

#include "gemini-models.h"
#include "gemini-protocol.h"

namespace gemini {

/* The catalogue's list price of one image of `spec` at `image_size`
 * ("" = the model's default size): kUnknownPrice for a model not in the
 * catalogue (nullptr) or a price no source gives. */
double catalogue_price (const ModelSpec * spec, const std::string & image_size);

class CostLedger {
public:
  struct Totals {
    gint64 prompt_tokens = 0;
    gint64 candidates_tokens = 0;
    gint64 thoughts_tokens = 0;
    gint64 total_tokens = 0;
    double spent = 0;             /* USD, images billed so far */
    double reserved = 0;          /* USD, requests in flight */
    guint64 images_billed = 0;
    guint64 unpriced_images = 0;  /* billed, but no price known: not in `spent` */
  };

  enum class Admit {
    Ok,
    OverCap,        /* spent + reserved + price would pass max-cost */
    UnknownPrice,   /* a cap is set and the image has no known price */
  };

  /* A new stream: totals to 0. */
  void reset ();
  /* max-cost in USD; 0 or less: no cap. */
  void set_max_cost (double max_cost);
  double max_cost () const;

  /* `price` of image `index` (kUnknownPrice if not known), about to be
   * requested: reserved when admitted. */
  Admit reserve (guint64 index, double price);
  /* Its answer: tokens count unless it came from the cache; the price is
   * spent for an image from the network, released otherwise. Returns what
   * this image cost (0 when nothing). */
  double settle (guint64 index, const Usage & usage, bool image, bool from_cache);
  /* Cancelled before an answer: the reservation goes back. */
  void release (guint64 index);
  void release_all ();

  Totals totals () const;

private:
  mutable std::mutex lock_;
  std::map<guint64, double> reserved_;   /* index -> price (kUnknownPrice kept as is) */
  Totals totals_;
  double max_cost_ = 0;
};

}  // namespace gemini

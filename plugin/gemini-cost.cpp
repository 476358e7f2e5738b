/* gst-gemini: the cost ledger. See gemini-cost.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-cost.h"

#include <algorithm>

namespace gemini {

/* Sums of prices in USD are not exact in binary: 0.04 + 0.04 + 0.02 must
 * still fit under 0.1. */
static constexpr double kCentFraction = 1e-9;

double
catalogue_price (const ModelSpec * spec, const std::string & image_size)
{
  if (!spec)
    return kUnknownPrice;
  int i = image_size_index (image_size.empty () && spec->default_size ? spec->default_size : image_size);
  if (i < 0 || !spec->takes_size (i))
    return kUnknownPrice;
  const double price = spec->price_usd[gsize (i)];
  return price < 0 ? kUnknownPrice : price;
}

void
CostLedger::reset ()
{
  std::lock_guard<std::mutex> lk (lock_);
  reserved_.clear ();
  totals_ = Totals ();
}

void
CostLedger::set_max_cost (double max_cost)
{
  std::lock_guard<std::mutex> lk (lock_);
  max_cost_ = max_cost;
}

double
CostLedger::max_cost () const
{
  std::lock_guard<std::mutex> lk (lock_);
  return max_cost_;
}

CostLedger::Admit
CostLedger::reserve (guint64 index, double price)
{
  std::lock_guard<std::mutex> lk (lock_);
  if (max_cost_ > 0) {
    if (price < 0)
      return Admit::UnknownPrice;
    if (totals_.spent + totals_.reserved + price > max_cost_ + kCentFraction)
      return Admit::OverCap;
  }
  auto [it, added] = reserved_.emplace (index, price);
  if (!added) {
    /* The same image again (after a flush): one reservation. */
    if (it->second > 0)
      totals_.reserved -= it->second;
    it->second = price;
  }
  if (price > 0)
    totals_.reserved += price;
  return Admit::Ok;
}

double
CostLedger::settle (guint64 index, const Usage & usage, bool image, bool from_cache)
{
  std::lock_guard<std::mutex> lk (lock_);
  double price = 0;
  bool known = true;
  if (auto it = reserved_.find (index); it != reserved_.end ()) {
    known = it->second >= 0;
    price = std::max (0.0, it->second);
    totals_.reserved -= price;
    reserved_.erase (it);
  }
  if (reserved_.empty ())
    totals_.reserved = 0;   /* no drift from rounding */
  if (from_cache)
    return 0;
  auto add = [] (gint64 & total, gint64 n) {
    if (n > 0)
      total += n;
  };
  add (totals_.prompt_tokens, usage.prompt_tokens);
  add (totals_.candidates_tokens, usage.candidates_tokens);
  add (totals_.thoughts_tokens, usage.thoughts_tokens);
  add (totals_.total_tokens, usage.total_tokens);
  if (!image)
    return 0;
  totals_.images_billed++;
  if (!known)
    totals_.unpriced_images++;
  totals_.spent += price;
  return price;
}

void
CostLedger::release (guint64 index)
{
  std::lock_guard<std::mutex> lk (lock_);
  if (auto it = reserved_.find (index); it != reserved_.end ()) {
    totals_.reserved -= std::max (0.0, it->second);
    reserved_.erase (it);
  }
  if (reserved_.empty ())
    totals_.reserved = 0;
}

void
CostLedger::release_all ()
{
  std::lock_guard<std::mutex> lk (lock_);
  reserved_.clear ();
  totals_.reserved = 0;
}

CostLedger::Totals
CostLedger::totals () const
{
  std::lock_guard<std::mutex> lk (lock_);
  return totals_;
}

}  // namespace gemini

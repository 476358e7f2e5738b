/* gst-gemini: generations that wait to start. See gemini-pending.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-pending.h"

#include <algorithm>

namespace gemini {

/* Enough to find the next prompt's pts for every generation that can still
 * be waiting for its frame to go out (the queue, the images in flight and
 * those held for order), with room to spare. */
static constexpr gsize kRecentPts = 256;

PendingQueue::Push
PendingQueue::push (Generation g, Policy policy, std::vector<Generation> * dropped, bool may_wait)
{
  std::unique_lock<std::mutex> lk (lock_);
  const guint64 flushes = flushes_;
  const guint64 releases = releases_[g.origin];
  auto interrupted = [&] {
    return flushing_ || flushes_ != flushes || releases_[g.origin] != releases;
  };
  if (policy == Policy::Queue && may_wait)
    cond_.wait (lk, [&] { return interrupted () || ended_ || waiting_.size () < capacity_; });
  if (interrupted ())
    return Push::Flushing;
  if (ended_)
    return Push::Ended;
  if (policy == Policy::Latest) {
    for (Generation & old : waiting_)
      if (dropped)
        dropped->push_back (std::move (old));
    waiting_.clear ();
  }
  g.seq = pushed_++;
  recent_pts_.emplace_back (g.seq, g.pts);
  if (recent_pts_.size () > kRecentPts)
    recent_pts_.pop_front ();
  waiting_.push_back (std::move (g));
  cond_.notify_all ();
  return Push::Added;
}

PendingQueue::Pop
PendingQueue::pop (Generation & out)
{
  std::lock_guard<std::mutex> lk (lock_);
  if (waiting_.empty ())
    return ended_ ? Pop::Ended : Pop::Empty;
  out = std::move (waiting_.front ());
  waiting_.pop_front ();
  /* Room: a waiting input may add its generation. */
  cond_.notify_all ();
  return Pop::Item;
}

void
PendingQueue::end ()
{
  std::lock_guard<std::mutex> lk (lock_);
  ended_ = true;
  cond_.notify_all ();
}

bool
PendingQueue::ended () const
{
  std::lock_guard<std::mutex> lk (lock_);
  return ended_;
}

gsize
PendingQueue::set_flushing (bool flushing)
{
  std::lock_guard<std::mutex> lk (lock_);
  flushing_ = flushing;
  const gsize n = waiting_.size ();
  waiting_.clear ();
  if (flushing) {
    flushes_++;
  } else {
    ended_ = false;
    recent_pts_.clear ();
  }
  cond_.notify_all ();
  return n;
}

gsize
PendingQueue::drop_origin (guint origin)
{
  std::lock_guard<std::mutex> lk (lock_);
  const gsize before = waiting_.size ();
  std::erase_if (waiting_, [origin] (const Generation & g) { return g.origin == origin; });
  releases_[origin]++;
  cond_.notify_all ();
  return before - waiting_.size ();
}

bool
PendingQueue::has_origin (guint origin) const
{
  std::lock_guard<std::mutex> lk (lock_);
  return std::any_of (waiting_.begin (), waiting_.end (), [origin] (const Generation & g) {
    return g.origin == origin;
  });
}

gsize
PendingQueue::size () const
{
  std::lock_guard<std::mutex> lk (lock_);
  return waiting_.size ();
}

guint64
PendingQueue::pushed () const
{
  std::lock_guard<std::mutex> lk (lock_);
  return pushed_;
}

std::optional<GstClockTime>
PendingQueue::next_pts (guint64 seq) const
{
  std::lock_guard<std::mutex> lk (lock_);
  auto it = std::find_if (recent_pts_.begin (), recent_pts_.end (),
      [seq] (const auto & e) { return e.first == seq + 1; });
  if (it == recent_pts_.end () || !GST_CLOCK_TIME_IS_VALID (it->second))
    return std::nullopt;
  return it->second;
}

}  // namespace gemini

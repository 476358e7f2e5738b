/* gst-gemini: big blocks of memory kept for the next image.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-block-store.h"

#include <algorithm>

namespace gemini {

guint8 *
BlockStore::take (gsize size)
{
  {
    std::lock_guard<std::mutex> lk (lock_);
    for (auto it = idle_.end (); it != idle_.begin ();) {
      --it;
      if (it->second == size) {
        guint8 *block = it->first;
        idle_.erase (it);
        reused_++;
        return block;
      }
    }
  }
  /* A miss: the size changed, and the kept blocks would only take memory. */
  clear ();
  return static_cast<guint8 *> (g_try_malloc (size));
}

guint8 *
BlockStore::take_fit (gsize size, gsize & capacity)
{
  {
    std::lock_guard<std::mutex> lk (lock_);
    auto best = idle_.end ();
    for (auto it = idle_.begin (); it != idle_.end (); ++it) {
      if (it->second >= size && it->second - size <= size / 2 && (best == idle_.end () || it->second < best->second))
        best = it;
    }
    if (best != idle_.end ()) {
      guint8 *block = best->first;
      capacity = best->second;
      idle_.erase (best);
      reused_++;
      return block;
    }
  }
  clear ();
  capacity = size;
  return static_cast<guint8 *> (g_try_malloc (size));
}

guint8 *
BlockStore::take_largest (gsize size, gsize & capacity)
{
  {
    std::lock_guard<std::mutex> lk (lock_);
    auto best = std::max_element (idle_.begin (), idle_.end (),
        [] (const auto & a, const auto & b) { return a.second < b.second; });
    if (best != idle_.end ()) {
      guint8 *block = best->first;
      capacity = best->second;
      idle_.erase (best);
      reused_++;
      return block;
    }
  }
  capacity = size;
  return static_cast<guint8 *> (g_try_malloc (size));
}

struct BlockStore::Returned {
  std::shared_ptr<BlockStore> store;
  guint8 *block;
  gsize size;
};

gpointer
BlockStore::returning (std::shared_ptr<BlockStore> store, guint8 * block, gsize size)
{
  return new Returned {std::move (store), block, size};
}

void
BlockStore::give_back (gpointer returned)
{
  auto *r = static_cast<Returned *> (returned);
  if (r->store)
    r->store->give (r->block, r->size);
  else
    g_free (r->block);
  delete r;
}

void
BlockStore::give (guint8 * block, gsize size)
{
  if (!block)
    return;
  guint8 *drop = nullptr;
  {
    std::lock_guard<std::mutex> lk (lock_);
    if (max_idle_ == 0) {
      drop = block;
    } else {
      if (idle_.size () >= max_idle_) {
        drop = idle_.front ().first;
        idle_.erase (idle_.begin ());
      }
      idle_.emplace_back (block, size);
    }
  }
  /* Not under the lock: freeing megabytes takes a while. */
  g_free (drop);
}

void
BlockStore::clear ()
{
  std::vector<std::pair<guint8 *, gsize>> drop;
  {
    std::lock_guard<std::mutex> lk (lock_);
    drop.swap (idle_);
  }
  for (auto & b : drop)
    g_free (b.first);
}

gsize
BlockStore::idle () const
{
  std::lock_guard<std::mutex> lk (lock_);
  return idle_.size ();
}

guint64
BlockStore::reused () const
{
  std::lock_guard<std::mutex> lk (lock_);
  return reused_;
}

}  // namespace gemini

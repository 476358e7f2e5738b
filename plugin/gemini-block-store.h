/* gst-gemini: big blocks of memory kept for the next image.
 *
 * Each decoded frame is megabytes (64 MB at 4K RGBA), and memory fresh from
 * the system costs a page fault per 4 KiB page when first written: on the
 * 2-core virtual machine of docs/performance.md, filling a fresh 64 MB block
 * took 290 ms of CPU, a reused one 50 ms. glibc hands blocks over 32 MB
 * back to the system at once (and smaller ones whenever it trims), so the
 * next frame pays again. A store keeps a few freed blocks and hands one out
 * again for a request of exactly its size, the common case of a stream of
 * images of one size. Why not a GstBufferPool: it needs one size fixed in
 * advance and keeps every buffer it ever made, while images are decoded
 * before the output has negotiated, at whatever size the model answers.
 * No GStreamer types: the decoders allocate from it.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace gemini {

class BlockStore {
 public:
  /* At most `max_idle` freed blocks are kept; the oldest goes first. */
  explicit BlockStore (guint max_idle = 2) : max_idle_ (max_idle) {}
  ~BlockStore () { clear (); }
  BlockStore (const BlockStore &) = delete;
  BlockStore & operator= (const BlockStore &) = delete;

  /* A block of `size` bytes (contents undefined): a kept one of that exact
   * size, else a new one (g_try_malloc; nullptr when out of memory), and
   * then the kept ones are freed: the images changed size. Every block can
   * also be freed with g_free. */
  guint8 *take (gsize size);
  /* A block of at least `size` bytes and at most half as much again (HTTP
   * bodies, whose length varies a little from answer to answer): the
   * smallest kept one that fits, else a new one of `size` (the kept ones
   * freed, as by take ()). `capacity` says how big it is. */
  guint8 *take_fit (gsize size, gsize & capacity);
  /* For a body whose length was not announced (chunked, as the API
   * answers): the largest kept block, whatever its size (the last answers'
   * size is the best guess of this one's, and the reader grows a block
   * that is short); else a new one of `size`. Frees nothing: an unknown
   * length says nothing of the sizes. */
  guint8 *take_largest (gsize size, gsize & capacity);
  /* Gives a block back, `size` its size or less (a block is only ever
   * handed out again for requests that fit in `size`); it is kept or freed.
   * Thread-safe, like take (): blocks come back from downstream's threads.
   * give_back () has the shape of a GDestroyNotify for a GBytes or a
   * GstMemory: it takes a Returned. */
  void give (guint8 * block, gsize size);
  struct Returned;
  static void give_back (gpointer returned);
  /* What give_back () needs: new'ed, deleted by it. */
  static gpointer returning (std::shared_ptr<BlockStore> store, guint8 * block, gsize size);
  /* Frees every kept block (the element stopping). */
  void clear ();
  /* Blocks kept, and how many take () calls were served from them. */
  gsize idle () const;
  guint64 reused () const;

 private:
  const guint max_idle_;
  mutable std::mutex lock_;
  std::vector<std::pair<guint8 *, gsize>> idle_;   /* oldest first */
  guint64 reused_ = 0;
};

}  // namespace gemini

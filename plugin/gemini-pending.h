/* gst-gemini: generations that wait to start.
 *
 * A generation is one prompt from the pipeline (a prompt_sink buffer, a
 * sampled reference frame) or from a property set while playing, with the
 * reference images it goes with and where its frames belong in the stream.
 * Inputs add generations; the scheduler's source takes them when it has a
 * free slot. The queue is what back-pressures upstream: with
 * stale-policy=queue an input waits while `capacity` generations are
 * already waiting, so a subtitle file is read as fast as images are made,
 * not into memory. With stale-policy=latest an input never waits: what
 * waits is replaced (and counted as dropped).
 *
 * Every wait ends on flushing, on the input's release, or when the
 * scheduler takes a generation. Thread-safe; knows nothing of GstElement.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gemini-protocol.h"

namespace gemini {

struct Generation {
  /* The prompt; nullopt: the prompt property when the job is built. */
  std::optional<std::string> prompt;
  /* Reference frames of the pads at the time it was made; the
   * reference-images files are added when the job is built. */
  std::vector<ReferenceImage> pad_references;
  GstClockTime pts = GST_CLOCK_TIME_NONE;       /* in the driving input's segment */
  /* The same as running time: when a live stream shows it. */
  GstClockTime running_time = GST_CLOCK_TIME_NONE;
  GstClockTime duration = GST_CLOCK_TIME_NONE;  /* its own, when known */
  /* Which input made it: kFromProperty, kFromPromptPad or a reference
   * pad's number; its release drops what it left waiting. */
  guint origin = 0;
  /* edit-mode: the conversation starts again with this prompt (a new
   * prompt stream, or gemini-reset-history, came before it). */
  bool reset_history = false;
  guint64 seq = 0;                              /* set by push () */

  static constexpr guint kFromProperty = G_MAXUINT;
  static constexpr guint kFromPromptPad = G_MAXUINT - 1;
};

class PendingQueue {
public:
  enum class Policy { Queue, Latest };
  enum class Push { Added, Flushing, Ended };
  enum class Pop { Item, Empty, Ended };

  explicit PendingQueue (gsize capacity = 1) : capacity_ (std::max<gsize> (1, capacity)) {}

  /* Adds `g`. Queue: waits while `capacity` generations wait (unless
   * !may_wait: the application's thread, setting a property, never waits). Latest: every
   * waiting generation is dropped (appended to `dropped`). Flushing: while
   * set_flushing (true), or if it is set while waiting. Ended: after
   * end (), nothing is added. */
  Push push (Generation g, Policy policy, std::vector<Generation> * dropped = nullptr, bool may_wait = true);
  /* Whether a generation of `origin` is waiting: property changes while
   * one waits need no other (the job reads the properties when it starts). */
  bool has_origin (guint origin) const;
  /* Never blocks. Ended: end () was called and nothing waits. */
  Pop pop (Generation & out);
  /* The input has no more (EOS): what waits still goes. */
  void end ();
  bool ended () const;
  /* Drops what waits and wakes waiting inputs, which return Flushing
   * until set_flushing (false). Clearing it also clears end (): a flush
   * starts the input again. Returns how many were dropped. */
  gsize set_flushing (bool flushing);
  /* A released pad: what it left waiting goes, its waits return. */
  gsize drop_origin (guint origin);
  gsize size () const;
  /* Generations pushed since the start (their seq numbers). */
  guint64 pushed () const;
  /* The pts of the generation pushed after `seq`, if it is known: the end of
   * a prompt's slot when its buffer had no duration. */
  std::optional<GstClockTime> next_pts (guint64 seq) const;

private:
  const gsize capacity_;
  mutable std::mutex lock_;
  std::condition_variable cond_;
  std::deque<Generation> waiting_;
  bool flushing_ = false;
  bool ended_ = false;
  guint64 pushed_ = 0;
  /* Flushes, and releases by origin: a push waiting across one returns. */
  guint64 flushes_ = 0;
  std::map<guint, guint64> releases_;
  /* The pts of the last few generations pushed, by seq (next_pts ()). */
  std::deque<std::pair<guint64, GstClockTime>> recent_pts_;
};

}  // namespace gemini

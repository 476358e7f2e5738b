/* gst-gemini: the request sink pads, prompt_sink and reference_sink_%u.
 *
 * The pads only turn buffers into generations and hand them to the element
 * (which queues them for the scheduler); they never wait on the network.
 * A prompt buffer makes a generation with the latest frame of every
 * reference pad. Without a prompt pad, the lowest-numbered reference pad
 * drives: each frame its sampler takes makes a generation with the prompt
 * property. The driving pad's segment, flushes and EOS are the stream's;
 * the other pads only keep their latest frame.
 *
 * Like textoverlay's text pad, the pads take over from the properties when
 * they exist. Thread-safe: each pad's streaming thread, the application
 * (request, release) and the element (snapshots) meet under one lock, never
 * held while encoding or calling back.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gemini-pending.h"
#include "gemini-prompt-text.h"
#include "gemini-reference-frame.h"

namespace gemini {

class InputPads {
public:
  struct Config {
    guint reference_max_size = 1024;
    GstClockTime reference_interval = 0;
    guint reference_every = 1;
  };

  struct Callbacks {
    /* A new generation; the chain returns what this returns (it may block:
     * that is the back-pressure). */
    std::function<GstFlowReturn (Generation)> generation;
    /* Bad input on `pad`, skipped: one sentence, with what to do. */
    std::function<void (GstPad *, const std::string &)> warning;
    /* The driving pad's stream. */
    std::function<void (const GstSegment &)> segment;
    std::function<void (guint32 seqnum)> flush_start;
    std::function<void (guint32 seqnum)> flush_stop;
    std::function<void ()> eos;
    /* A pad went: what it left waiting or in flight is to be cancelled. */
    std::function<void (guint origin)> released;
  };

  explicit InputPads (Callbacks callbacks) : cb_ (std::move (callbacks)) {}
  ~InputPads ();
  InputPads (const InputPads &) = delete;
  InputPads & operator= (const InputPads &) = delete;

  /* Read at each sampled frame and snapshot: settable while playing. */
  void set_config (const Config & config);

  /* request_new_pad / release_pad. nullptr with a reason when refused
   * (a second prompt_sink). */
  GstPad *request (GstElement * element, GstPadTemplate * templ, const gchar * name, std::string & refused);
  void release (GstElement * element, GstPad * pad);

  /* Whether any sink pad exists: the stream is then driven by them. */
  bool any () const;
  bool has_prompt_pad () const;
  /* The latest frame of every reference pad, encoded for upload (each frame
   * is encoded once, however many requests it goes with). Problems are
   * passed to the warning callback. Not under any lock of the caller. */
  std::vector<ReferenceImage> snapshot ();
  /* Flush and new streams: the frames, segments and samplers start again. */
  void reset ();

  static const gchar *kResetHistoryEvent;

private:
  struct PadState {
    GstPad *pad = nullptr;
    bool prompt = false;
    guint number = 0;
    PromptFormat format = PromptFormat::Utf8;
    GstSegment segment {};
    FrameSampler sampler;
    GstSample *latest = nullptr;          /* reference pads: the latest frame */
    GstSample *encoded_from = nullptr;    /* the frame `encoded` was made of (a ref: a
                                           * recycled buffer can come back at the same
                                           * address with new pixels) */
    ReferenceImage encoded;
    std::set<std::string> warned;         /* each problem once per stream */
    bool reset_history = false;           /* for the next generation of this pad */
  };

  Callbacks cb_;
  mutable std::mutex lock_;
  Config config_;
  std::map<GstPad *, PadState> pads_;

  static GstFlowReturn chain (GstPad * pad, GstObject * parent, GstBuffer * buf);
  static gboolean event (GstPad * pad, GstObject * parent, GstEvent * event);
  static gboolean query (GstPad * pad, GstObject * parent, GstQuery * query);
  GstFlowReturn prompt_chain (GstPad * pad, GstBuffer * buf);
  GstFlowReturn reference_chain (GstPad * pad, GstBuffer * buf);
  gboolean handle_event (GstPad * pad, GstEvent * event);
  bool driving_locked (GstPad * pad) const;
  PadState *find_locked (GstPad * pad);
  void warn_once (GstPad * pad, const std::string & key, const std::string & text);
};

}  // namespace gemini

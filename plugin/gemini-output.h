/* gst-gemini: the output stage — caps, conversion, timestamps, pushing.
 *
 * Takes decoded images in the order they go out and turns them into
 * buffers on the src pad: negotiates caps (renegotiating when the size
 * changes or downstream asks), converts only when downstream does not take
 * the decoder's own format, timestamps image N at N x image-duration, and
 * fills a failed image's slot (a repeat of the last frame, or a GAP). Runs
 * on the streaming thread only, so it holds no lock.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include <string>

#include "gemini-image.h"

namespace gemini {

/* What went wrong, for the element to post. */
struct OutputError {
  GQuark domain = 0;
  gint code = 0;
  std::string text;
  std::string debug;
  GstStructure *details = nullptr;   /* owned by whoever posts it */
};

class OutputStage {
public:
  explicit OutputStage (GstPad * srcpad) : pad_ (srcpad) {}
  ~OutputStage ();
  OutputStage (const OutputStage &) = delete;
  OutputStage & operator= (const OutputStage &) = delete;

  /* A new stream (pad activated): nothing sent, nothing negotiated. */
  void start ();
  /* After a flush: a new segment and a discontinuity come next. */
  void flushed ();
  /* Forgets the last frame (PAUSED->READY). */
  void stop ();

  /* The framerate in the caps: 0/1 (still images) unless live. */
  void set_framerate (gint n, gint d) { fps_n_ = n; fps_d_ = d; }
  /* STREAM_START, once per stream. */
  void push_stream_start (GstElement * element);
  /* Caps for `img`: the decoder's own format when downstream takes it (no
   * conversion), else downstream's first choice. */
  bool negotiate (const DecodedImage & img, OutputError & error);
  /* The segment [0, num_images x image_duration], sent again when
   * num_images grows (a prompt set while playing). */
  void push_segment (guint64 num_images, GstClockTime image_duration);
  /* A given segment (the driving input's, or a live one), sent when it
   * differs from the last one sent or none was since the last flush. */
  void push_segment (const GstSegment & segment);
  bool segment_sent () const { return segment_sent_; }
  /* Wraps the pixels without a copy when no conversion is needed; nullptr
   * if the conversion could not run. */
  GstBuffer *make_buffer (DecodedImage & img);
  /* Pushes `buf` in the slot of image images_done (); the slot counts as
   * done only once the buffer went out, so that after a flush the same
   * image is made again. `keep`: remembered for repeat_last (). */
  GstFlowReturn push_frame (GstBuffer * buf, GstClockTime duration, bool keep);
  /* As push_frame, at a given time: frames from the pipeline's inputs
   * and live frames. */
  GstFlowReturn push_frame_at (GstBuffer * buf, GstClockTime pts, GstClockTime duration, bool keep);
  /* Live: the last frame kept, again at `pts`. False when there is none. */
  bool repeat_last_at (GstClockTime pts, GstClockTime duration, GstFlowReturn & flow);
  /* A GAP at a given time (when a segment was sent). */
  void skip_at (GstClockTime pts, GstClockTime duration);
  bool have_last () const { return last_buffer_ != nullptr; }
  /* on-error=repeat-last: the last frame again, in this slot. False when
   * there is none yet. */
  bool repeat_last (GstClockTime duration, GstFlowReturn & flow);
  /* on-error=skip: a GAP for this slot (when a segment exists: before the
   * first image there is neither caps nor segment), and the slot counts. */
  void skip (GstClockTime duration);

  guint64 images_done () const { return images_done_; }

private:
  GstPad *pad_;
  bool stream_started_ = false;
  bool segment_sent_ = false;
  guint64 images_done_ = 0;
  GstVideoInfo in_info_ {};
  GstVideoInfo out_info_ {};
  bool have_caps_ = false;
  GstVideoConverter *converter_ = nullptr;
  GstBuffer *last_buffer_ = nullptr;
  bool discont_ = true;
  gint fps_n_ = 0, fps_d_ = 1;
  GstSegment last_segment_ {};
};

}  // namespace gemini

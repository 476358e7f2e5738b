/* gst-gemini: reference frames (the reference_sink_%u pads) to images ready
 * for upload, and the sampling that decides which frames make requests.
 *
 * No element state: the pad's chain function calls these and prefixes the
 * pad name to any problem.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

#include <string>

#include "gemini-protocol.h"

/* Template caps of the reference pads: raw video in the formats the
 * conversion below is tested with (videoconvert takes them all; the list
 * keeps negotiation from picking something exotic), opaque formats first so
 * that an upstream that picks by order sends frames that go as JPEG rather
 * than PNG, and the encoded formats Gemini takes as they are. System memory only: GL or DMA frames need a
 * download element upstream. */
#define GEMINI_REFERENCE_SINK_CAPS \
  "video/x-raw, format = (string) { I420, YV12, NV12, NV21, YUY2, UYVY, Y42B, Y444, " \
  "RGBx, BGRx, xRGB, xBGR, RGB, BGR, GRAY8, RGBA, BGRA, ARGB, ABGR }, " \
  "width = (int) [ 1, 32767 ], height = (int) [ 1, 32767 ]; " \
  "image/png; image/jpeg; image/webp"

namespace gemini {

/* Longest a conversion (decode, scale, encode) may take before the frame is
 * refused. Generous: see the measured figure in gemini-reference-frame.cpp. */
inline constexpr GstClockTime kReferenceConvertTimeout = 5 * GST_SECOND;

/* JPEG quality for opaque frames: high enough that the model sees no
 * blocking, a fraction of PNG's size for camera images. */
inline constexpr int kReferenceJpegQuality = 90;

/* Turns a reference sample into an image to upload (`out.origin` is set to
 * `origin`, say the pad name; the MIME type is detected from the bytes).
 *
 * Raw video: scaled down (never up) to square pixels with the longest side
 * at most `max_size` (0: no scaling), aspect ratio kept, and encoded: PNG
 * when the frame has alpha that is not all opaque, JPEG otherwise.
 *
 * PNG, JPEG, WebP: passed through byte for byte when the dimensions in the
 * image header fit `max_size` and the size fits kMaxReferenceBytes
 * (gemini-reference.h); otherwise decoded, scaled and encoded as above.
 *
 * Every wait is bounded by kReferenceConvertTimeout. On refusal returns
 * false and sets `problem` to one sentence naming the caps and what to do:
 * a buffer smaller than its caps say, caps that are not an image, bytes that
 * do not decode, a conversion that fails or takes too long. */
bool reference_from_sample (GstSample * sample, guint max_size, const std::string & origin,
    ReferenceImage & out, std::string & problem);

/* Decides which reference frames make requests: every `every`-th frame
 * (counting all frames offered), and at most one per `interval` of running
 * time. Both rules apply when both are set. The first frame, and the first
 * after reset (), is always taken. A frame without a running time
 * (GST_CLOCK_TIME_NONE) is judged by `every` alone and does not move the
 * interval. A running time earlier than the last taken one (a flush, a new
 * segment) restarts the interval from that frame. Not thread-safe: the
 * caller's pad lock or streaming thread serialises it. */
class FrameSampler {
public:
  /* interval 0: no time limit; every 0 is taken as 1. */
  FrameSampler (GstClockTime interval = 0, guint every = 1);

  /* Counts a frame at `running_time`; true when it is to be used. */
  bool take (GstClockTime running_time);
  /* Forgets everything, counts included: the next frame is taken. */
  void reset ();

  guint64 seen () const { return seen_; }
  guint64 taken () const { return taken_; }

private:
  GstClockTime interval_;
  guint every_;
  guint64 seen_ = 0;
  guint64 taken_ = 0;
  GstClockTime last_taken_time_ = GST_CLOCK_TIME_NONE;
};

/* Width and height from a PNG, JPEG or WebP header, without decoding;
 * false when the header is not there or not understood. Exposed for the
 * tests. */
bool probe_image_size (const guint8 * data, gsize size, guint & width, guint & height);

}  // namespace gemini

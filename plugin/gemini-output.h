/* gst-gemini: the output stage — caps, scaling, conversion, timestamps,
 * pushing.
 *
 * Takes decoded images in the order they go out and turns them into
 * buffers on the src pad: negotiates caps (renegotiating when the size
 * changes or downstream asks with RECONFIGURE), scales to a size downstream
 * fixed (scale-mode), converts only when downstream does not take the
 * decoder's own format, writes into downstream's buffer pool when it has to
 * write at all, passes the model's PNG or JPEG bytes through untouched when
 * downstream takes image/png or image/jpeg, timestamps image N at N x
 * image-duration (filling its slot at downstream's framerate when that is
 * fixed), and fills a failed image's slot (a repeat of the last frame, or a
 * GAP). Runs on the streaming thread only; set_flushing () is the one call
 * from other threads.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include <mutex>
#include <string>

#include "gemini-enums.h"
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

  /* The framerate wanted in the caps: 0/1 for still images (unless
   * downstream fixes another: then each image fills its slot at that
   * rate). Live: the framerate property, or 0/1 for downstream's choice
   * (30/1 when downstream leaves it open too). */
  void set_framerate (gint n, gint d, bool live = false)
  {
    wanted_changed_ |= n != fps_n_ || d != fps_d_ || live != live_;
    fps_n_ = n;
    fps_d_ = d;
    live_ = live;
  }
  /* The framerate in the negotiated caps (0/1 before). */
  void framerate (gint & n, gint & d) const { n = out_fps_n_; d = out_fps_d_; }
  /* How an image meets a size downstream fixed; applies at the next
   * negotiate (). `argb`: the letterbox bars. */
  void set_scaling (GstGeminiScaleMode mode, guint32 argb);
  /* Live: keep the last image's decoded pixels, so that a RECONFIGURE
   * between images renegotiates the repeated frame too. */
  void set_keep_source (bool keep) { keep_source_ = keep; }
  /* Unblocks (and then refuses) a wait for a buffer of downstream's pool.
   * Any thread. */
  void set_flushing (bool flushing);
  /* STREAM_START, once per stream. */
  void push_stream_start (GstElement * element);
  /* Caps for `img` (and `encoded`, the bytes the model sent, when there
   * are any): downstream's first choice of raw video, image/png and
   * image/jpeg; for raw video the decoder's own format when downstream takes
   * it (no conversion), and the model's size unless downstream fixes one.
   * A failure names the caps field that did not fit. */
  bool negotiate (const DecodedImage & img, OutputError & error, GBytes * encoded = nullptr);
  /* The segment [0, num_images x image_duration], sent again when
   * num_images grows (a prompt set while playing). */
  void push_segment (guint64 num_images, GstClockTime image_duration);
  /* A given segment (the driving input's, or a live one), sent when it
   * differs from the last one sent or none was since the last flush. */
  void push_segment (const GstSegment & segment);
  bool segment_sent () const { return segment_sent_; }
  /* Raw RGBA negotiated: images are best decoded straight to RGBA
   * (DecodeLimits::rgba), so that the output passes them on as they are. */
  bool decodes_to_rgba () const
  {
    return have_caps_ && kind_ == Kind::Raw && GST_VIDEO_INFO_FORMAT (&out_info_) == GST_VIDEO_FORMAT_RGBA;
  }
  /* Before any caps: whether downstream's first choice is RGBA and not RGB
   * (as negotiate () then picks), so that even the first image is decoded
   * to it. Once negotiated: decodes_to_rgba (). A caps query. */
  bool downstream_prefers_rgba () const;
  /* The frame in the negotiated caps (`img` may have no pixels, only its
   * header's size: they are decoded from `encoded` if needed): the pixels
   * wrapped without a copy when nothing needs converting; scaled or converted into a buffer of
   * downstream's pool; or the model's bytes (`encoded`) as they came for
   * image/png and image/jpeg, re-encoded only when the format or size
   * differs. nullptr if the conversion could not run. */
  GstBuffer *make_buffer (DecodedImage & img, GBytes * encoded = nullptr);
  /* As push_frame_at, then, when the negotiated framerate is not 0/1, the
   * same image again at each frame of that rate until pts + duration, so
   * that a constant-rate encoder gets every frame. */
  GstFlowReturn push_image (GstBuffer * buf, GstClockTime pts, GstClockTime duration, bool keep);
  /* Pushes `buf` in the slot of image images_done (); the slot counts as
   * done only once the buffer went out, so that after a flush the same
   * image is made again. `keep`: remembered for repeat_last (). */
  GstFlowReturn push_frame (GstBuffer * buf, GstClockTime duration, bool keep);
  /* As push_frame, at a given time: frames from the pipeline's inputs
   * and live frames. */
  GstFlowReturn push_frame_at (GstBuffer * buf, GstClockTime pts, GstClockTime duration, bool keep);
  /* A draft image (previews=true) at `pts`: pushed, but not an image (it
   * does not count, and is not kept for repeat-last unless `keep`). */
  GstFlowReturn push_preview (GstBuffer * buf, GstClockTime pts, GstClockTime duration, bool keep)
  {
    GstFlowReturn flow = push_frame_at (buf, pts, duration, keep);
    if (flow == GST_FLOW_OK)
      images_done_--;
    return flow;
  }
  /* Live: the last frame kept, again at `pts`. False when there is none. */
  bool repeat_last_at (GstClockTime pts, GstClockTime duration, GstFlowReturn & flow,
      OutputError * error = nullptr);
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

  enum class Kind { Raw, Png, Jpeg };
  Kind kind () const { return kind_; }
  /* The negotiated caps take the model's bytes as they came: the next
   * images need no pixels. */
  bool passes_through () const { return have_caps_ && kind_ != Kind::Raw && passthrough_; }

private:
  /* The image being output, as the decoder made it. */
  struct Source {
    GstBuffer *pixels = nullptr;      /* stride x height bytes, RGB or RGBA */
    int width = 0, height = 0;
    bool has_alpha = false;
    gsize stride = 0;
    GBytes *encoded = nullptr;        /* as the model sent it, or null */
    ImageFormat format = ImageFormat::Unknown;   /* of `encoded` */
  };

  bool negotiate_source (const Source & src, OutputError & error);
  GstBuffer *render (Source & src);
  bool ensure_pixels (Source & src);
  GstBuffer *scale_to_rgb (const Source & src);
  bool configure_converter (const Source & src);
  void decide_allocation (GstCaps * caps);
  void explain_refusal (GstCaps * offer, const Source & src, OutputError & error);
  GstCaps *offer_caps () const;
  bool restore_last_caps ();
  /* After a RECONFIGURE between images: the kept source again. */
  bool refresh_last (OutputError & error);
  void clear_source (Source & src);

  GstPad *pad_;
  bool stream_started_ = false;
  bool segment_sent_ = false;
  guint64 images_done_ = 0;
  GstVideoInfo in_info_ {};
  GstVideoInfo out_info_ {};   /* raw output; for encoded output, what is encoded */
  bool have_caps_ = false;
  Kind kind_ = Kind::Raw;
  ImageFormat in_format_ = ImageFormat::Unknown;
  bool passthrough_ = false;   /* encoded output: the model's bytes as they came */
  GstVideoConverter *converter_ = nullptr;
  GstBuffer *last_buffer_ = nullptr;
  GstCaps *last_caps_ = nullptr;   /* the caps last_buffer_ went out with */
  bool discont_ = true;
  gint fps_n_ = 0, fps_d_ = 1;
  bool live_ = false;
  gint out_fps_n_ = 0, out_fps_d_ = 1;
  GstGeminiScaleMode scale_mode_ = GST_GEMINI_SCALE_MODE_LETTERBOX;
  guint32 letterbox_argb_ = 0xff000000u;
  bool wanted_changed_ = false;   /* framerate or scaling: negotiate again */
  bool keep_source_ = false;
  Source last_source_;
  GstSegment last_segment_ {};
  std::mutex pool_lock_;       /* pool_ and flushing_: set_flushing () */
  GstBufferPool *pool_ = nullptr;
  bool flushing_ = false;
};

}  // namespace gemini

/* gst-gemini: the output stage. See gemini-output.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-output.h"

#include "glib-raii.h"

GST_DEBUG_CATEGORY_EXTERN (gst_gemini_image_src_debug);
#define GST_CAT_DEFAULT gst_gemini_image_src_debug

namespace gemini {

OutputStage::~OutputStage ()
{
  if (converter_)
    gst_video_converter_free (converter_);
  gst_clear_buffer (&last_buffer_);
}

void
OutputStage::start ()
{
  stream_started_ = false;
  segment_sent_ = false;
  images_done_ = 0;
  have_caps_ = false;
  discont_ = true;
}

void
OutputStage::flushed ()
{
  segment_sent_ = false;
  discont_ = true;
}

void
OutputStage::stop ()
{
  gst_clear_buffer (&last_buffer_);
}

void
OutputStage::push_stream_start (GstElement * element)
{
  if (stream_started_)
    return;
  /* With several sink pads GStreamer cannot derive an id from upstream's
   * (gst_pad_create_stream_id insists on one): a random one, as
   * GstAggregator makes. */
  GCharPtr stream_id (element->numsinkpads <= 1 ? gst_pad_create_stream_id (pad_, element, nullptr)
      : g_strdup_printf ("geminiimagesrc-%08x", g_random_int ()));
  GstEvent *ev = gst_event_new_stream_start (stream_id.get ());
  gst_event_set_group_id (ev, gst_util_group_id_next ());
  gst_pad_push_event (pad_, ev);
  stream_started_ = true;
}

bool
OutputStage::repeat_last (GstClockTime duration, GstFlowReturn & flow)
{
  if (!last_buffer_)
    return false;
  flow = push_frame (gst_buffer_copy (last_buffer_), duration, false);
  return true;
}

void
OutputStage::skip (GstClockTime duration)
{
  if (segment_sent_)
    gst_pad_push_event (pad_, gst_event_new_gap (images_done_ * duration, duration));
  images_done_++;
}

/* Picks the output format: the decoder's own when downstream takes it
 * (no conversion), else downstream's first choice. */
bool
OutputStage::negotiate (const DecodedImage & img, OutputError & error)
{
  GstVideoFormat native = img.has_alpha ? GST_VIDEO_FORMAT_RGBA : GST_VIDEO_FORMAT_RGB;

  GstVideoInfo in_info;
  gst_video_info_set_format (&in_info, native, img.width, img.height);
  in_info.fps_n = fps_n_;
  in_info.fps_d = fps_d_;

  bool same_input = have_caps_ && gst_video_info_is_equal (&in_info, &in_info_);
  if (same_input && !gst_pad_check_reconfigure (pad_))
    return true;

  GstCaps *filter = gst_pad_get_pad_template_caps (pad_);
  filter = gst_caps_make_writable (filter);
  gst_caps_set_simple (filter, "width", G_TYPE_INT, img.width, "height", G_TYPE_INT,
      img.height, "framerate", GST_TYPE_FRACTION, fps_n_, fps_d_, "pixel-aspect-ratio",
      GST_TYPE_FRACTION, 1, 1, nullptr);
  GstCaps *peer = gst_pad_peer_query_caps (pad_, filter);
  gst_caps_unref (filter);

  auto details = [&img] (GstCaps * caps) {
    GstStructure *d = gst_structure_new ("gemini-negotiation", "width", G_TYPE_INT, img.width,
        "height", G_TYPE_INT, img.height, nullptr);
    if (caps)
      gst_structure_set (d, "caps", GST_TYPE_CAPS, caps, nullptr);
    return d;
  };
  if (gst_caps_is_empty (peer)) {
    GCharPtr msg (g_strdup_printf ("Downstream accepts no raw video format for a %dx%d "
            "image; put videoconvert (and videoscale) after geminiimagesrc.",
            img.width, img.height));
    error = OutputError {GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION, msg.get (),
        "the peer's caps query gave no intersection with our template", details (nullptr)};
    gst_caps_unref (peer);
    return false;
  }

  GstCaps *native_caps = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING,
      gst_video_format_to_string (native), nullptr);
  GstCaps *chosen;
  if (gst_caps_can_intersect (peer, native_caps))
    chosen = gst_caps_intersect_full (peer, native_caps, GST_CAPS_INTERSECT_FIRST);
  else
    chosen = gst_caps_ref (peer);
  gst_caps_unref (native_caps);
  gst_caps_unref (peer);
  chosen = gst_caps_fixate (chosen);

  GstVideoInfo out_info;
  /* A RECONFIGURE that changes nothing must not send a new caps event. */
  GstCaps *current = gst_pad_get_current_caps (pad_);
  bool unchanged = current && gst_caps_is_equal (current, chosen);
  if (current)
    gst_caps_unref (current);
  if (!gst_video_info_from_caps (&out_info, chosen)
      || (!unchanged && !gst_pad_set_caps (pad_, chosen))) {
    GCharPtr caps_str (gst_caps_to_string (chosen));
    GCharPtr msg (g_strdup_printf ("Downstream refused the caps %s.", caps_str.get ()));
    error = OutputError {GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION, msg.get (),
        "gst_pad_set_caps failed", details (chosen)};
    gst_caps_unref (chosen);
    return false;
  }
  GST_DEBUG_OBJECT (pad_, "Negotiated %" GST_PTR_FORMAT, chosen);
  gst_caps_unref (chosen);

  if (converter_) {
    gst_video_converter_free (converter_);
    converter_ = nullptr;
  }
  if (GST_VIDEO_INFO_FORMAT (&out_info) != native)
    converter_ = gst_video_converter_new (&in_info, &out_info, nullptr);
  in_info_ = in_info;
  out_info_ = out_info;
  have_caps_ = true;
  return true;
}

/* Wraps the decoded pixels without a copy when no conversion is needed;
 * nullptr if the conversion could not run. */
GstBuffer *
OutputStage::make_buffer (DecodedImage & img)
{
  if (!converter_ && img.stride == (gsize) GST_VIDEO_INFO_PLANE_STRIDE (&out_info_, 0)) {
    gsize size = img.size;
    guint8 *data = img.pixels.release ();
    return gst_buffer_new_wrapped (data, size);
  }

  GstBuffer *in = gst_buffer_new_wrapped (img.pixels.release (), img.size);
  GstBuffer *out = gst_buffer_new_allocate (nullptr, GST_VIDEO_INFO_SIZE (&out_info_), nullptr);
  GstVideoInfo in_info = in_info_;
  in_info.stride[0] = (gint) img.stride;
  GstVideoFrame in_frame, out_frame;
  bool converted = false;
  if (gst_video_frame_map (&in_frame, &in_info, in, GST_MAP_READ)) {
    if (gst_video_frame_map (&out_frame, &out_info_, out, GST_MAP_WRITE)) {
      if (converter_) {
        gst_video_converter_frame (converter_, &in_frame, &out_frame);
        converted = true;
      } else {
        converted = gst_video_frame_copy (&out_frame, &in_frame);
      }
      gst_video_frame_unmap (&out_frame);
    }
    gst_video_frame_unmap (&in_frame);
  }
  gst_buffer_unref (in);
  /* Never push an unfilled buffer. */
  if (!converted)
    gst_clear_buffer (&out);
  return out;
}

/* Pushes `buf` in the slot of image `images_done`. The slot counts as done
 * only once the buffer went out, so that after a flush the same image is
 * made again; `keep` remembers it for on-error=repeat-last. */
GstFlowReturn
OutputStage::push_frame (GstBuffer * buf, GstClockTime duration, bool keep)
{
  /* prepare() checked num-images x image-duration against the timeline. */
  return push_frame_at (buf, images_done_ * duration, duration, keep);
}

bool
OutputStage::repeat_last_at (GstClockTime pts, GstClockTime duration, GstFlowReturn & flow)
{
  if (!last_buffer_)
    return false;
  /* A new buffer sharing the pixels: only its timestamps differ. */
  flow = push_frame_at (gst_buffer_copy (last_buffer_), pts, duration, false);
  if (flow == GST_FLOW_OK)
    images_done_--;   /* a repeat is not an image */
  return true;
}

void
OutputStage::skip_at (GstClockTime pts, GstClockTime duration)
{
  if (segment_sent_ && GST_CLOCK_TIME_IS_VALID (pts))
    gst_pad_push_event (pad_, gst_event_new_gap (pts, duration));
  images_done_++;
}

void
OutputStage::push_segment (const GstSegment & segment)
{
  if (segment_sent_ && gst_segment_is_equal (&segment, &last_segment_))
    return;
  gst_segment_copy_into (&segment, &last_segment_);
  gst_pad_push_event (pad_, gst_event_new_segment (&segment));
  segment_sent_ = true;
}

GstFlowReturn
OutputStage::push_frame_at (GstBuffer * buf, GstClockTime pts, GstClockTime duration, bool keep)
{
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DURATION (buf) = duration;
  GST_BUFFER_OFFSET (buf) = images_done_;
  GST_BUFFER_OFFSET_END (buf) = images_done_ + 1;
  if (discont_)
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
  else
    GST_BUFFER_FLAG_UNSET (buf, GST_BUFFER_FLAG_DISCONT);
  /* Holding a ref makes the buffer read-only downstream: only when needed. */
  GstBuffer *kept = keep ? gst_buffer_ref (buf) : nullptr;
  GstFlowReturn flow = gst_pad_push (pad_, buf);
  if (flow == GST_FLOW_OK) {
    images_done_++;
    discont_ = false;
    if (kept)
      gst_buffer_replace (&last_buffer_, kept);
  }
  if (kept)
    gst_buffer_unref (kept);
  return flow;
}

void
OutputStage::push_segment (guint64 num_images, GstClockTime image_duration)
{
  /* A stop lets videorate and muxers give the last image its full
   * duration; a prompt set while playing adds images, and moves it. */
  GstSegment segment;
  gst_segment_init (&segment, GST_FORMAT_TIME);
  segment.stop = num_images * image_duration;
  if (segment_sent_ && segment.stop == last_segment_.stop)
    return;
  push_segment (segment);
}


}  // namespace gemini

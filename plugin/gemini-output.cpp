/* gst-gemini: the output stage. See gemini-output.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-output.h"

#include "gemini-image-encode.h"
#include "glib-raii.h"

GST_DEBUG_CATEGORY_EXTERN (gst_gemini_image_src_debug);
#define GST_CAT_DEFAULT gst_gemini_image_src_debug

namespace gemini {

OutputStage::~OutputStage ()
{
  if (converter_)
    gst_video_converter_free (converter_);
  gst_clear_buffer (&last_buffer_);
  gst_clear_caps (&last_caps_);
  clear_source (last_source_);
  if (pool_) {
    gst_buffer_pool_set_active (pool_, FALSE);
    gst_object_unref (pool_);
  }
}

void
OutputStage::clear_source (Source & src)
{
  gst_clear_buffer (&src.pixels);
  if (src.encoded)
    g_bytes_unref (src.encoded);
  src = Source ();
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
  gst_clear_caps (&last_caps_);
  clear_source (last_source_);
}

void
OutputStage::set_scaling (GstGeminiScaleMode mode, guint32 argb)
{
  if (mode != scale_mode_ || argb != letterbox_argb_)
    wanted_changed_ = true;
  scale_mode_ = mode;
  letterbox_argb_ = argb;
}

void
OutputStage::set_flushing (bool flushing)
{
  std::lock_guard<std::mutex> lk (pool_lock_);
  flushing_ = flushing;
  if (pool_)
    gst_buffer_pool_set_flushing (pool_, flushing);
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

/* The kept frame may have other caps than the current ones (a draft
 * renegotiated since): they are sent again before it is repeated, and the
 * next image negotiates afresh. */
bool
OutputStage::restore_last_caps ()
{
  if (!last_caps_)
    return true;
  GstCaps *current = gst_pad_get_current_caps (pad_);
  const bool same = current && gst_caps_is_equal (current, last_caps_);
  if (current)
    gst_caps_unref (current);
  if (same)
    return true;
  wanted_changed_ = true;
  return gst_pad_set_caps (pad_, last_caps_);
}

bool
OutputStage::repeat_last (GstClockTime duration, GstFlowReturn & flow)
{
  if (!last_buffer_)
    return false;
  if (!restore_last_caps ()) {
    flow = GST_FLOW_NOT_NEGOTIATED;
    return true;
  }
  flow = push_image (gst_buffer_copy (last_buffer_), images_done_ * duration, duration, false);
  return true;
}

void
OutputStage::skip (GstClockTime duration)
{
  if (segment_sent_)
    gst_pad_push_event (pad_, gst_event_new_gap (images_done_ * duration, duration));
  images_done_++;
}

namespace {

const char *
media_type (OutputStage::Kind kind)
{
  switch (kind) {
    case OutputStage::Kind::Png: return "image/png";
    case OutputStage::Kind::Jpeg: return "image/jpeg";
    default: return "video/x-raw";
  }
}

/* Sets `field` to `want` when downstream left it out, or to the value
 * nearest `want` when it left a choice. */
void
fixate_int (GstStructure * s, const char *field, int want)
{
  if (!gst_structure_has_field (s, field))
    gst_structure_set (s, field, G_TYPE_INT, want, nullptr);
  else
    gst_structure_fixate_field_nearest_int (s, field, want);
}

void
fixate_fraction (GstStructure * s, const char *field, int n, int d)
{
  if (!gst_structure_has_field (s, field))
    gst_structure_set (s, field, GST_TYPE_FRACTION, n, d, nullptr);
  else
    gst_structure_fixate_field_nearest_fraction (s, field, n, d);
}

/* Rounds down to even: chroma-subsampled formats place planes by pairs. */
int
even (double v)
{
  return int (v) & ~1;
}

}  // namespace

/* Our template with the framerate we can give: live, the property's (or
 * any but 0/1); still images, any. */
GstCaps *
OutputStage::offer_caps () const
{
  GstCaps *offer = gst_caps_make_writable (gst_pad_get_pad_template_caps (pad_));
  if (live_) {
    /* A live stream keeps the rate it started with (its timing does). */
    if (fps_n_ > 0)
      gst_caps_set_simple (offer, "framerate", GST_TYPE_FRACTION, fps_n_, fps_d_, nullptr);
    else if (have_caps_ && out_fps_n_ > 0)
      gst_caps_set_simple (offer, "framerate", GST_TYPE_FRACTION, out_fps_n_, out_fps_d_, nullptr);
    else
      gst_caps_set_simple (offer, "framerate", GST_TYPE_FRACTION_RANGE, 1, G_MAXINT, G_MAXINT, 1, nullptr);
  }
  return offer;
}

bool
OutputStage::downstream_prefers_rgba () const
{
  if (have_caps_)
    return decodes_to_rgba ();
  GstCaps *offer = offer_caps ();
  GstCaps *peer = gst_pad_peer_query_caps (pad_, offer);
  gst_caps_unref (offer);
  bool rgba = false;
  if (!gst_caps_is_empty (peer) && !gst_caps_is_any (peer)) {
    GstCaps *first = gst_caps_copy_nth (peer, 0);
    GstCaps *rgb_caps = gst_caps_from_string ("video/x-raw, format=RGB");
    GstCaps *rgba_caps = gst_caps_from_string ("video/x-raw, format=RGBA");
    rgba = gst_caps_can_intersect (first, rgba_caps) && !gst_caps_can_intersect (first, rgb_caps);
    gst_caps_unref (rgba_caps);
    gst_caps_unref (rgb_caps);
    gst_caps_unref (first);
  }
  gst_caps_unref (peer);
  return rgba;
}

/* Names the first caps field that made negotiation fail: each field of the
 * offer is added in turn until downstream's caps stop intersecting. */
void
OutputStage::explain_refusal (GstCaps * offer, const Source & src, OutputError & error)
{
  GstCaps *peer = gst_pad_peer_query_caps (pad_, nullptr);
  GCharPtr peer_str (gst_caps_to_string (peer));
  std::string field, text;
  for (guint i = 0; i < gst_caps_get_size (offer) && field.empty (); i++) {
    const GstStructure *full = gst_caps_get_structure (offer, i);
    GstCaps *partial = gst_caps_new_empty_simple (gst_structure_get_name (full));
    if (!gst_caps_can_intersect (partial, peer)) {
      gst_caps_unref (partial);
      continue;
    }
    /* This media type is taken: which of its fields is not? */
    for (int f = 0; f < gst_structure_n_fields (full); f++) {
      const char *name = gst_structure_nth_field_name (full, f);
      gst_structure_set_value (gst_caps_get_structure (partial, 0), name,
          gst_structure_get_value (full, name));
      if (!gst_caps_can_intersect (partial, peer)) {
        GCharPtr ours (gst_value_serialize (gst_structure_get_value (full, name)));
        field = name;
        text = "Downstream takes " + std::string (gst_structure_get_name (full))
            + " but not with " + name + " " + ours.get () + " (it accepts " + peer_str.get () + ").";
        if (field == "framerate")
          text += live_ && fps_n_ > 0 ? " Set the framerate property to a rate downstream takes, or "
              "put videorate after geminiimagesrc." : " Put videorate after geminiimagesrc.";
        else if (field == "format")
          text += " Put videoconvert after geminiimagesrc.";
        else
          text += " Put videoconvert and videoscale after geminiimagesrc.";
        break;
      }
    }
    gst_caps_unref (partial);
  }
  if (field.empty ()) {
    field = "media-type";
    text = "Downstream accepts none of video/x-raw, image/png and image/jpeg in system memory "
        "(it accepts " + std::string (peer_str.get ()) + "); put videoconvert (and videoscale, or "
        "an upload element such as glupload) after geminiimagesrc.";
  }
  GstStructure *d = gst_structure_new ("gemini-negotiation", "field", G_TYPE_STRING, field.c_str (),
      "width", G_TYPE_INT, src.width, "height", G_TYPE_INT, src.height,
      "caps", GST_TYPE_CAPS, peer, nullptr);
  error = OutputError {GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION, text,
      "no intersection with downstream's caps; first field refused: " + field, d};
  gst_caps_unref (peer);
}

bool
OutputStage::negotiate (const DecodedImage & img, OutputError & error, GBytes * encoded)
{
  Source src;
  src.width = img.width;
  src.height = img.height;
  src.has_alpha = img.has_alpha;
  src.stride = img.stride;
  src.encoded = encoded;
  src.format = encoded ? sniff_image_format ((const guint8 *) g_bytes_get_data (encoded, nullptr),
      g_bytes_get_size (encoded)) : ImageFormat::Unknown;
  return negotiate_source (src, error);
}

/* Picks the caps: downstream's first choice of media type (the model's own
 * encoded format when downstream takes both), the decoder's own raw format
 * when taken, the model's size and PAR 1/1 unless downstream fixes them,
 * and the wanted framerate or the one nearest it. */
bool
OutputStage::negotiate_source (const Source & src, OutputError & error)
{
  GstVideoFormat native = src.has_alpha ? GST_VIDEO_FORMAT_RGBA : GST_VIDEO_FORMAT_RGB;
  GstVideoInfo in_info;
  gst_video_info_set_format (&in_info, native, src.width, src.height);
  in_info.stride[0] = (gint) src.stride;
  /* GstVideoConverter wants the same rate on both sides. */
  in_info.fps_n = out_fps_n_;
  in_info.fps_d = out_fps_d_;

  bool same_input = have_caps_ && !wanted_changed_ && in_format_ == src.format
      && gst_video_info_is_equal (&in_info, &in_info_);
  if (same_input && !gst_pad_check_reconfigure (pad_))
    return true;

  GstCaps *offer = offer_caps ();
  GstCaps *peer = gst_pad_peer_query_caps (pad_, offer);
  if (gst_caps_is_empty (peer)) {
    gst_caps_unref (peer);
    explain_refusal (offer, src, error);
    gst_caps_unref (offer);
    return false;
  }
  gst_caps_unref (offer);

  /* Downstream's first choice; between PNG and JPEG, the model's own. */
  Kind kind = Kind::Raw;
  const char *first = gst_structure_get_name (gst_caps_get_structure (peer, 0));
  if (g_str_equal (first, "image/png") || g_str_equal (first, "image/jpeg")) {
    kind = g_str_equal (first, "image/png") ? Kind::Png : Kind::Jpeg;
    Kind own = src.format == ImageFormat::Png ? Kind::Png : src.format == ImageFormat::Jpeg ? Kind::Jpeg : kind;
    GstCaps *own_caps = gst_caps_new_empty_simple (media_type (own));
    if (gst_caps_can_intersect (peer, own_caps))
      kind = own;
    gst_caps_unref (own_caps);
  }
  GstCaps *of_kind = gst_caps_new_empty_simple (media_type (kind));
  if (kind == Kind::Raw) {
    /* The decoder's own layout if downstream takes it; but RGBA for an
     * opaque image when downstream's first choice takes RGBA and not RGB
     * (videoconvert ! video/x-raw,format=RGBA answers RGBA first): then the
     * next images are decoded straight to it (decodes_to_rgba ()) and
     * nothing converts them. */
    GstCaps *native_caps = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING,
        gst_video_format_to_string (native), nullptr);
    GstCaps *rgba_caps = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING, "RGBA", nullptr);
    GstCaps *first = gst_caps_copy_nth (peer, 0);
    if (native == GST_VIDEO_FORMAT_RGB && !gst_caps_can_intersect (first, native_caps)
        && gst_caps_can_intersect (first, rgba_caps))
      gst_caps_replace (&of_kind, rgba_caps);
    else if (gst_caps_can_intersect (peer, native_caps))
      gst_caps_replace (&of_kind, native_caps);
    gst_caps_unref (first);
    gst_caps_unref (rgba_caps);
    gst_caps_unref (native_caps);
  }
  GstCaps *chosen = gst_caps_intersect_full (peer, of_kind, GST_CAPS_INTERSECT_FIRST);
  gst_caps_unref (of_kind);
  gst_caps_unref (peer);
  chosen = gst_caps_truncate (chosen);
  chosen = gst_caps_make_writable (chosen);
  GstStructure *s = gst_caps_get_structure (chosen, 0);
  fixate_int (s, "width", src.width);
  fixate_int (s, "height", src.height);
  if (live_)
    fixate_fraction (s, "framerate", fps_n_ > 0 ? fps_n_ : 30, fps_n_ > 0 ? fps_d_ : 1);
  else
    fixate_fraction (s, "framerate", fps_n_, fps_d_);
  if (kind == Kind::Raw)
    fixate_fraction (s, "pixel-aspect-ratio", 1, 1);
  chosen = gst_caps_fixate (chosen);
  s = gst_caps_get_structure (chosen, 0);

  int out_w = 0, out_h = 0, fps_n = 0, fps_d = 1;
  gst_structure_get_int (s, "width", &out_w);
  gst_structure_get_int (s, "height", &out_h);
  gst_structure_get_fraction (s, "framerate", &fps_n, &fps_d);

  GstVideoInfo out_info;
  bool info_ok;
  if (kind == Kind::Raw) {
    info_ok = gst_video_info_from_caps (&out_info, chosen);
  } else {
    /* What gets encoded when the bytes cannot pass through. */
    info_ok = out_w > 0 && out_h > 0;
    gst_video_info_set_format (&out_info, native, MAX (out_w, 1), MAX (out_h, 1));
  }

  /* A RECONFIGURE that changes nothing must not send a new caps event. */
  GstCaps *current = gst_pad_get_current_caps (pad_);
  bool unchanged = current && gst_caps_is_equal (current, chosen);
  if (current)
    gst_caps_unref (current);
  if (!info_ok || (!unchanged && !gst_pad_set_caps (pad_, chosen))) {
    GCharPtr caps_str (gst_caps_to_string (chosen));
    std::string msg = std::string ("Downstream refused the caps ") + caps_str.get ()
        + " (it accepted them in its caps query).";
    error = OutputError {GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION, msg,
        "gst_pad_set_caps failed", gst_structure_new ("gemini-negotiation",
            "width", G_TYPE_INT, src.width, "height", G_TYPE_INT, src.height,
            "caps", GST_TYPE_CAPS, chosen, nullptr)};
    gst_caps_unref (chosen);
    return false;
  }
  GST_DEBUG_OBJECT (pad_, "Negotiated %" GST_PTR_FORMAT " for a %dx%d image", chosen,
      src.width, src.height);
  if (kind == Kind::Raw && !unchanged)
    decide_allocation (chosen);
  else if (kind != Kind::Raw) {
    std::lock_guard<std::mutex> lk (pool_lock_);
    if (pool_) {
      gst_buffer_pool_set_active (pool_, FALSE);
      gst_clear_object (&pool_);
    }
  }
  in_info.fps_n = out_info.fps_n = fps_n;
  in_info.fps_d = out_info.fps_d = fps_d;
  in_info_ = in_info;
  out_info_ = out_info;
  kind_ = kind;
  in_format_ = src.format;
  out_fps_n_ = fps_n;
  out_fps_d_ = fps_d;
  wanted_changed_ = false;
  passthrough_ = kind != Kind::Raw && src.width == out_w && src.height == out_h
      && ((kind == Kind::Png && src.format == ImageFormat::Png)
          || (kind == Kind::Jpeg && src.format == ImageFormat::Jpeg));
  have_caps_ = true;
  if (configure_converter (src)) {
    gst_caps_unref (chosen);
    return true;
  }
  have_caps_ = false;
  GCharPtr caps_str (gst_caps_to_string (chosen));
  gst_caps_unref (chosen);
  error = OutputError {GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
      std::string ("Cannot convert a ") + std::to_string (src.width) + "x" + std::to_string (src.height)
      + (src.has_alpha ? " RGBA" : " RGB") + " image to " + caps_str.get () + ".",
      "gst_video_converter_new failed", nullptr};
  return false;
}

/* The converter from the decoder's RGB(A) to the output (or, for encoded
 * output, to RGB(A) at the output's size), with the scale-mode's
 * rectangles; none when the pixels can be taken as they are. */
bool
OutputStage::configure_converter (const Source & src)
{
  if (converter_) {
    gst_video_converter_free (converter_);
    converter_ = nullptr;
  }
  const int W = GST_VIDEO_INFO_WIDTH (&out_info_), H = GST_VIDEO_INFO_HEIGHT (&out_info_);
  const bool same_size = W == src.width && H == src.height;
  if (passthrough_ || (same_size && GST_VIDEO_INFO_FORMAT (&out_info_) == GST_VIDEO_INFO_FORMAT (&in_info_)))
    return true;

  GstStructure *options = gst_structure_new_empty ("options");
  if (!same_size) {
    /* Aspect ratios in display terms: the output's pixels may not be square. */
    const double par = double (GST_VIDEO_INFO_PAR_N (&out_info_)) / MAX (GST_VIDEO_INFO_PAR_D (&out_info_), 1);
    const double out_w_disp = W * par;
    const double sx = out_w_disp / src.width, sy = double (H) / src.height;
    if (scale_mode_ == GST_GEMINI_SCALE_MODE_LETTERBOX) {
      const double k = MIN (sx, sy);
      int dw = MIN (W, MAX (2, even (src.width * k / par + 0.5)));
      int dh = MIN (H, MAX (2, even (src.height * k + 0.5)));
      if (dw > W - 2 && dw < W) dw = W;
      if (dh > H - 2 && dh < H) dh = H;
      gst_structure_set (options,
          GST_VIDEO_CONVERTER_OPT_DEST_X, G_TYPE_INT, even ((W - dw) / 2.0),
          GST_VIDEO_CONVERTER_OPT_DEST_Y, G_TYPE_INT, even ((H - dh) / 2.0),
          GST_VIDEO_CONVERTER_OPT_DEST_WIDTH, G_TYPE_INT, dw,
          GST_VIDEO_CONVERTER_OPT_DEST_HEIGHT, G_TYPE_INT, dh,
          GST_VIDEO_CONVERTER_OPT_FILL_BORDER, G_TYPE_BOOLEAN, TRUE,
          GST_VIDEO_CONVERTER_OPT_BORDER_ARGB, G_TYPE_UINT, letterbox_argb_, nullptr);
    } else if (scale_mode_ == GST_GEMINI_SCALE_MODE_CROP) {
      const double k = MAX (sx, sy);
      const int cw = MIN (src.width, MAX (1, int (out_w_disp / k + 0.5)));
      const int ch = MIN (src.height, MAX (1, int (H / k + 0.5)));
      gst_structure_set (options,
          GST_VIDEO_CONVERTER_OPT_SRC_X, G_TYPE_INT, (src.width - cw) / 2,
          GST_VIDEO_CONVERTER_OPT_SRC_Y, G_TYPE_INT, (src.height - ch) / 2,
          GST_VIDEO_CONVERTER_OPT_SRC_WIDTH, G_TYPE_INT, cw,
          GST_VIDEO_CONVERTER_OPT_SRC_HEIGHT, G_TYPE_INT, ch, nullptr);
    }
  }
  converter_ = gst_video_converter_new (&in_info_, &out_info_, options);
  return converter_ != nullptr;
}

/* Downstream's buffer pool when it offers one (the frames are then written
 * where downstream wants them), else a video pool of our own, which
 * recycles the frames' memory. */
void
OutputStage::decide_allocation (GstCaps * caps)
{
  GstQuery *query = gst_query_new_allocation (caps, TRUE);
  if (!gst_pad_peer_query (pad_, query))
    GST_DEBUG_OBJECT (pad_, "Downstream did not answer the ALLOCATION query");
  GstBufferPool *pool = nullptr;
  guint size = 0, min = 0, max = 0;
  if (gst_query_get_n_allocation_pools (query) > 0)
    gst_query_parse_nth_allocation_pool (query, 0, &pool, &size, &min, &max);
  GstVideoInfo info;
  gst_video_info_from_caps (&info, caps);
  size = MAX (size, (guint) GST_VIDEO_INFO_SIZE (&info));
  const bool downstream_pool = pool != nullptr;
  if (!pool)
    pool = gst_video_buffer_pool_new ();
  GstStructure *config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, caps, size, min, max);
  if (gst_query_find_allocation_meta (query, GST_VIDEO_META_API_TYPE, nullptr))
    gst_buffer_pool_config_add_option (config, GST_BUFFER_POOL_OPTION_VIDEO_META);
  bool ok = gst_buffer_pool_set_config (pool, config);
  if (!ok) {
    /* The pool changed the parameters: take them if they still fit. */
    config = gst_buffer_pool_get_config (pool);
    ok = gst_buffer_pool_config_validate_params (config, caps, size, min, max)
        && gst_buffer_pool_set_config (pool, config);
    if (!ok)
      gst_structure_free (config);
  }
  ok = ok && gst_buffer_pool_set_active (pool, TRUE);
  gst_query_unref (query);
  GST_DEBUG_OBJECT (pad_, "%s %s buffer pool", ok ? "Using" : "Not using",
      downstream_pool ? "downstream's" : "our own");

  std::lock_guard<std::mutex> lk (pool_lock_);
  if (pool_) {
    gst_buffer_pool_set_active (pool_, FALSE);
    gst_object_unref (pool_);
    pool_ = nullptr;
  }
  if (!ok) {
    gst_object_unref (pool);
    return;
  }
  pool_ = pool;
  if (flushing_)
    gst_buffer_pool_set_flushing (pool_, TRUE);
}

GstBuffer *
OutputStage::make_buffer (DecodedImage & img, GBytes * encoded)
{
  Source src;
  src.width = img.width;
  src.height = img.height;
  src.has_alpha = img.has_alpha;
  src.stride = img.stride;
  const gsize size = img.size;
  /* Without pixels (the attempt read only the header, for pass-through
   * output) they are decoded here only if this frame needs them. */
  if (img.pixels && img.store) {
    /* The block goes back to the store when the last frame using it is
     * freed, wherever downstream frees it. */
    guint8 *data = img.pixels.release ();
    src.pixels = gst_buffer_new_wrapped_full (GstMemoryFlags (0), data, img.capacity, 0, size,
        BlockStore::returning (std::move (img.store), data, img.capacity), BlockStore::give_back);
  } else if (img.pixels) {
    src.pixels = gst_buffer_new_wrapped (img.pixels.release (), size);
  }
  if (encoded) {
    src.encoded = g_bytes_ref (encoded);
    src.format = sniff_image_format ((const guint8 *) g_bytes_get_data (encoded, nullptr),
        g_bytes_get_size (encoded));
  }
  GstBuffer *out = render (src);
  if (keep_source_ && out) {
    clear_source (last_source_);
    last_source_ = src;   /* takes the references */
  } else {
    clear_source (src);
  }
  return out;
}

/* The decoder's pixels at the output's size and RGB(A) format, for an
 * encoder. */
GstBuffer *
OutputStage::scale_to_rgb (const Source & src)
{
  if (!converter_)
    return gst_buffer_ref (src.pixels);
  GstBuffer *out = gst_buffer_new_allocate (nullptr, GST_VIDEO_INFO_SIZE (&out_info_), nullptr);
  GstVideoFrame in_frame, out_frame;
  bool ok = false;
  if (gst_video_frame_map (&in_frame, &in_info_, src.pixels, GST_MAP_READ)) {
    if (gst_video_frame_map (&out_frame, &out_info_, out, GST_MAP_WRITE)) {
      gst_video_converter_frame (converter_, &in_frame, &out_frame);
      ok = true;
      gst_video_frame_unmap (&out_frame);
    }
    gst_video_frame_unmap (&in_frame);
  }
  if (!ok)
    gst_clear_buffer (&out);
  return out;
}

/* Decodes `src.encoded` when the pixels were left undecoded; false when
 * there is nothing to decode or it fails. */
bool
OutputStage::ensure_pixels (Source & src)
{
  if (src.pixels)
    return true;
  if (!src.encoded)
    return false;
  DecodeLimits limits;
  limits.max_pixels = guint64 (src.width) * guint64 (src.height);
  limits.rgba = src.has_alpha;   /* the layout the header promised */
  DecodedImage img;
  std::string error;
  if (!decode_image (src.encoded, limits, img, error) || img.width != src.width || img.height != src.height
      || img.has_alpha != src.has_alpha || img.stride != src.stride) {
    GST_WARNING_OBJECT (pad_, "Could not decode the image for conversion: %s", error.c_str ());
    return false;
  }
  src.pixels = gst_buffer_new_wrapped (img.pixels.release (), img.size);
  return true;
}

GstBuffer *
OutputStage::render (Source & src)
{
  if (kind_ != Kind::Raw) {
    if (passthrough_ && src.encoded)
      return gst_buffer_new_wrapped_bytes (src.encoded);
    if (!ensure_pixels (src))
      return nullptr;
    /* Another format or size than the model's: decoded pixels, encoded. */
    GstBuffer *rgb = scale_to_rgb (src);
    if (!rgb)
      return nullptr;
    GstMapInfo map;
    GstBuffer *out = nullptr;
    if (gst_buffer_map (rgb, &map, GST_MAP_READ)) {
      DecodedImage view;
      view.width = GST_VIDEO_INFO_WIDTH (&out_info_);
      view.height = GST_VIDEO_INFO_HEIGHT (&out_info_);
      view.has_alpha = GST_VIDEO_INFO_HAS_ALPHA (&out_info_);
      view.stride = converter_ ? GST_VIDEO_INFO_PLANE_STRIDE (&out_info_, 0) : src.stride;
      view.size = map.size;
      view.pixels.reset (map.data);   /* borrowed: released below */
      std::string error;
      GBytes *bytes = encode_image (view, kind_ == Kind::Png ? ImageFormat::Png : ImageFormat::Jpeg, 90, error);
      (void) view.pixels.release ();
      gst_buffer_unmap (rgb, &map);
      if (bytes) {
        out = gst_buffer_new_wrapped_bytes (bytes);
        g_bytes_unref (bytes);
      } else {
        GST_WARNING_OBJECT (pad_, "Encoding for %s failed: %s", media_type (kind_), error.c_str ());
      }
    }
    gst_buffer_unref (rgb);
    return out;
  }

  if (!ensure_pixels (src))
    return nullptr;
  if (!converter_ && src.stride == (gsize) GST_VIDEO_INFO_PLANE_STRIDE (&out_info_, 0)) {
    /* No copy of the pixels at all. When the source is kept, a buffer of
     * its own sharing the memory, so that the frame stays writable (for
     * its meta); a writer downstream gets a copy of the memory then. */
    return keep_source_ ? gst_buffer_copy (src.pixels) : gst_buffer_ref (src.pixels);
  }

  /* Written once, straight into downstream's buffer when it has a pool. */
  GstBuffer *out = nullptr;
  GstBufferPool *pool;
  {
    std::lock_guard<std::mutex> lk (pool_lock_);
    pool = pool_ ? GST_BUFFER_POOL (gst_object_ref (pool_)) : nullptr;
  }
  if (pool) {
    if (gst_buffer_pool_acquire_buffer (pool, &out, nullptr) != GST_FLOW_OK)
      out = nullptr;
    gst_object_unref (pool);
    if (!out)
      return nullptr;   /* flushing */
  } else {
    out = gst_buffer_new_allocate (nullptr, GST_VIDEO_INFO_SIZE (&out_info_), nullptr);
  }
  GstVideoFrame in_frame, out_frame;
  bool converted = false;
  if (gst_video_frame_map (&in_frame, &in_info_, src.pixels, GST_MAP_READ)) {
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
  /* Never push an unfilled buffer. */
  if (!converted)
    gst_clear_buffer (&out);
  return out;
}

bool
OutputStage::refresh_last (OutputError & error)
{
  if ((!last_source_.pixels && !last_source_.encoded) || !gst_pad_check_reconfigure (pad_))
    return true;
  /* Looked at again by negotiate_source: it must see the flag. */
  gst_pad_mark_reconfigure (pad_);
  const GstVideoInfo before = out_info_;
  const Kind kind_before = kind_;
  if (!negotiate_source (last_source_, error))
    return false;
  if (kind_ == kind_before && gst_video_info_is_equal (&before, &out_info_))
    return true;   /* the same caps: the frame stands */
  GstBuffer *fresh = render (last_source_);
  if (!fresh)
    return true;   /* keep showing the old frame */
  /* The image's metadata (GstGeminiImageMeta) goes with it. */
  gst_buffer_copy_into (fresh, last_buffer_, GST_BUFFER_COPY_META, 0, -1);
  gst_buffer_replace (&last_buffer_, fresh);
  gst_buffer_unref (fresh);
  if (last_caps_)
    gst_caps_unref (last_caps_);
  last_caps_ = gst_pad_get_current_caps (pad_);
  return true;
}

GstFlowReturn
OutputStage::push_image (GstBuffer * buf, GstClockTime pts, GstClockTime duration, bool keep)
{
  if (out_fps_n_ <= 0 || !GST_CLOCK_TIME_IS_VALID (pts) || !GST_CLOCK_TIME_IS_VALID (duration))
    return push_frame_at (buf, pts, duration, keep);
  /* Frame k of the rate is at k / rate: the image covers the frames from
   * the first at or after pts to the last before pts + duration, so that
   * consecutive images tile the timeline without gap or overlap. */
  const guint64 n = out_fps_n_, d = out_fps_d_;
  auto frame_time = [n, d] (guint64 k) { return gst_util_uint64_scale (k, GST_SECOND * d, n); };
  auto first_frame = [n, d] (GstClockTime t) { return gst_util_uint64_scale_ceil (t, n, GST_SECOND * d); };
  guint64 k0 = first_frame (pts), k1 = first_frame (pts + duration);
  if (k1 <= k0)
    k1 = k0 + 1;
  GstBuffer *image = gst_buffer_ref (buf);
  GstFlowReturn flow = push_frame_at (buf, frame_time (k0), frame_time (k0 + 1) - frame_time (k0), keep);
  for (guint64 k = k0 + 1; k < k1 && flow == GST_FLOW_OK; k++) {
    flow = push_frame_at (gst_buffer_copy (image), frame_time (k), frame_time (k + 1) - frame_time (k), false);
    if (flow == GST_FLOW_OK)
      images_done_--;   /* a repeat is not an image */
  }
  gst_buffer_unref (image);
  return flow;
}

/* Pushes `buf` in the slot of image `images_done`. The slot counts as done
 * only once the buffer went out, so that after a flush the same image is
 * made again; `keep` remembers it for on-error=repeat-last. */
GstFlowReturn
OutputStage::push_frame (GstBuffer * buf, GstClockTime duration, bool keep)
{
  /* prepare() checked num-images x image-duration against the timeline. */
  return push_image (buf, images_done_ * duration, duration, keep);
}

bool
OutputStage::repeat_last_at (GstClockTime pts, GstClockTime duration, GstFlowReturn & flow,
    OutputError * error)
{
  if (!last_buffer_)
    return false;
  OutputError refused;
  if (!refresh_last (refused)) {
    /* Downstream changed its caps to ones we cannot give: the caller posts
     * why, or it is logged. */
    GST_WARNING_OBJECT (pad_, "%s", refused.text.c_str ());
    if (error)
      *error = refused;
    else if (refused.details)
      gst_structure_free (refused.details);
    flow = GST_FLOW_NOT_NEGOTIATED;
    return true;
  }
  if (!restore_last_caps ()) {
    flow = GST_FLOW_NOT_NEGOTIATED;
    return true;
  }
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
    if (kept) {
      gst_buffer_replace (&last_buffer_, kept);
      if (last_caps_)
        gst_caps_unref (last_caps_);
      last_caps_ = gst_pad_get_current_caps (pad_);
    }
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

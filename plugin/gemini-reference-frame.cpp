/* gst-gemini: reference frames to images ready for upload, and sampling.
 *
 * The conversion follows gst_video_convert_sample (gst-plugins-base,
 * gst-libs/gst/video/convertframe.c): appsrc ! videoconvert ! videoscale !
 * encoder ! appsink, prerolled in PAUSED, waiting on the bus with a timeout.
 * It is not called directly because it links no decoder (encoded input
 * fails with "Internal data stream error") and picks the encoder by rank
 * with its defaults (jpegenc quality 85). Here opaque frames are scaled to
 * RGB by the pipeline and encoded by libjpeg (gemini-image-encode.h): a
 * standard 4:2:0 JFIF. jpegenc was not used for them: it writes the YUV it
 * gets as full-range whatever the caps say (videoconvert hands it
 * limited-range video as it is: an NV12 green came out 13,238,14), and
 * given RGB it writes an Adobe RGB JPEG, three times the bytes, which not
 * every decoder reads. Frames with transparency go through pngenc. Encoded
 * input is decoded first with gemini-image.
 *
 * Measured on the development machine (2 cores, Debian 12, GStreamer
 * 1.22, load average about 4 from other builds): a 1920x1080 I420 frame of
 * SMPTE bars to a 1024x576 JPEG takes 45-90 ms once the plugins are loaded
 * (test_raw_i420_to_jpeg prints it). The 5 s kReferenceConvertTimeout is
 * far above all of it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-reference-frame.h"

#include <gst/video/video.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "gemini-image.h"
#include "gemini-image-encode.h"
#include "gemini-reference.h"
#include "glib-raii.h"
#include "gst-raii.h"

namespace gemini {

namespace {

/* Sets the pipeline to NULL however the conversion ends. */
struct PipelineOwner {
  GstElement *pipeline = nullptr;
  ~PipelineOwner ()
  {
    if (pipeline) {
      gst_element_set_state (pipeline, GST_STATE_NULL);
      gst_object_unref (pipeline);
    }
  }
};

std::string
caps_text (const GstCaps * caps)
{
  if (!caps)
    return "(no caps)";
  GCharPtr s (gst_caps_to_string (caps));
  return s.get ();
}

guint32
be32 (const guint8 * p)
{
  return (guint32 (p[0]) << 24) | (guint32 (p[1]) << 16) | (guint32 (p[2]) << 8) | p[3];
}

guint
be16 (const guint8 * p)
{
  return (guint (p[0]) << 8) | p[1];
}

guint
le16 (const guint8 * p)
{
  return guint (p[0]) | (guint (p[1]) << 8);
}

guint32
le24 (const guint8 * p)
{
  return guint32 (p[0]) | (guint32 (p[1]) << 8) | (guint32 (p[2]) << 16);
}

bool
probe_jpeg (const guint8 * d, gsize size, guint & width, guint & height)
{
  gsize i = 2;
  while (i + 4 <= size) {
    if (d[i] != 0xFF)
      return false;
    guint8 marker = d[i + 1];
    if (marker == 0xFF) {  /* fill byte */
      i++;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  /* no length */
      i += 2;
      continue;
    }
    guint len = be16 (d + i + 2);
    if (len < 2)
      return false;
    bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8
        && marker != 0xCC;
    if (sof) {
      if (i + 9 > size)
        return false;
      height = be16 (d + i + 5);
      width = be16 (d + i + 7);
      return width > 0 && height > 0;
    }
    if (marker == 0xDA)  /* scan data before any frame header */
      return false;
    i += 2 + len;
  }
  return false;
}

bool
probe_webp (const guint8 * d, gsize size, guint & width, guint & height)
{
  if (size < 30 || memcmp (d, "RIFF", 4) != 0 || memcmp (d + 8, "WEBP", 4) != 0)
    return false;
  const guint8 *chunk = d + 12;
  if (memcmp (chunk, "VP8X", 4) == 0) {
    width = 1 + le24 (d + 24);
    height = 1 + le24 (d + 27);
    return true;
  }
  if (memcmp (chunk, "VP8L", 4) == 0) {
    if (d[20] != 0x2F)
      return false;
    guint32 bits = guint32 (d[21]) | (guint32 (d[22]) << 8) | (guint32 (d[23]) << 16)
        | (guint32 (d[24]) << 24);
    width = 1 + (bits & 0x3FFF);
    height = 1 + ((bits >> 14) & 0x3FFF);
    return true;
  }
  if (memcmp (chunk, "VP8 ", 4) == 0) {
    if (d[23] != 0x9D || d[24] != 0x01 || d[25] != 0x2A)
      return false;
    width = le16 (d + 26) & 0x3FFF;
    height = le16 (d + 28) & 0x3FFF;
    return width > 0 && height > 0;
  }
  return false;
}

/* Output size: square pixels (a non-square pixel aspect ratio is applied to
 * the width, as a display would), then scaled down so the longest side is
 * at most max_size. */
void
target_size (guint width, guint height, gint par_n, gint par_d, guint max_size,
    guint & out_w, guint & out_h)
{
  double w = width, h = height;
  if (par_n > 0 && par_d > 0 && par_n != par_d)
    w = w * par_n / par_d;
  double longest = std::max (w, h);
  if (max_size > 0 && longest > max_size) {
    double scale = max_size / longest;
    w *= scale;
    h *= scale;
  }
  out_w = std::max (1u, guint (std::lround (w)));
  out_h = std::max (1u, guint (std::lround (h)));
}

/* The bytes of the buffer as a GBytes (a copy: the buffer's memory belongs
 * to upstream's pool). */
GBytesPtr
buffer_bytes (GstBuffer * buf)
{
  GstMapInfo map;
  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return nullptr;
  GBytesPtr bytes (g_bytes_new (map.data, map.size));
  gst_buffer_unmap (buf, &map);
  return bytes;
}

/* A buffer smaller than its caps and video meta say would make videoconvert
 * read past its end: refused before it gets there. */
bool
raw_buffer_fits (GstBuffer * buf, const GstVideoInfo & info, std::string & detail)
{
  gsize size = gst_buffer_get_size (buf);
  GstVideoMeta *meta = gst_buffer_get_video_meta (buf);
  if (!meta) {
    if (size < GST_VIDEO_INFO_SIZE (&info)) {
      detail = "the buffer holds " + std::to_string (size) + " bytes where the caps need "
          + std::to_string (GST_VIDEO_INFO_SIZE (&info));
      return false;
    }
    return true;
  }
  if (meta->width != (guint) GST_VIDEO_INFO_WIDTH (&info)
      || meta->height != (guint) GST_VIDEO_INFO_HEIGHT (&info)
      || meta->n_planes != GST_VIDEO_INFO_N_PLANES (&info)) {
    detail = "its video meta (" + std::to_string (meta->width) + "x"
        + std::to_string (meta->height) + ") does not match the caps";
    return false;
  }
  /* Each component's last row must end inside the buffer (rows before it
   * may be padded to the stride, the last one need not be). */
  const GstVideoFormatInfo *finfo = info.finfo;
  for (guint c = 0; c < GST_VIDEO_FORMAT_INFO_N_COMPONENTS (finfo); c++) {
    guint p = GST_VIDEO_FORMAT_INFO_PLANE (finfo, c);
    guint64 rows = GST_VIDEO_FORMAT_INFO_SCALE_HEIGHT (finfo, c, meta->height);
    guint64 row_bytes = guint64 (GST_VIDEO_FORMAT_INFO_PSTRIDE (finfo, c))
        * GST_VIDEO_FORMAT_INFO_SCALE_WIDTH (finfo, c, meta->width);
    if (meta->stride[p] <= 0 || guint64 (meta->stride[p]) < row_bytes
        || guint64 (meta->offset[p]) + guint64 (meta->stride[p]) * (rows - 1) + row_bytes > size) {
      detail = "plane " + std::to_string (p) + " of its video meta reaches past the "
          + std::to_string (size) + "-byte buffer";
      return false;
    }
  }
  return true;
}

/* The scaled RGB frame of `sample` as a JPEG (libjpeg, 4:2:0 JFIF). */
bool
rgb_sample_to_jpeg (GstSample * sample, GBytesPtr & out, std::string & error)
{
  GstVideoInfo info;
  GstBuffer *buf = gst_sample_get_buffer (sample);
  GstVideoFrame frame;
  if (!buf || !gst_video_info_from_caps (&info, gst_sample_get_caps (sample))
      || GST_VIDEO_INFO_FORMAT (&info) != GST_VIDEO_FORMAT_RGB
      || !gst_video_frame_map (&frame, &info, buf, GST_MAP_READ)) {
    error = "the scaled frame could not be read";
    return false;
  }
  DecodedImage img = allocate_image (GST_VIDEO_INFO_WIDTH (&info), GST_VIDEO_INFO_HEIGHT (&info), false);
  const gsize row = gsize (img.width) * 3;
  for (int y = 0; y < img.height; y++)
    memcpy (img.pixels.get () + gsize (y) * img.stride,
        static_cast<const guint8 *> (GST_VIDEO_FRAME_PLANE_DATA (&frame, 0))
        + gsize (y) * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0), row);
  gst_video_frame_unmap (&frame);
  std::string jpeg;
  if (!encode_jpeg (img, kReferenceJpegQuality, jpeg, error))
    return false;
  out.reset (g_bytes_new (jpeg.data (), jpeg.size ()));
  return true;
}

/* appsrc ! videoconvert ! videoscale ! capsfilter ! pngenc|identity ! appsink,
 * prerolled with one buffer; opaque frames come out as RGB for libjpeg. */
bool
encode_raw (GstBuffer * buf, GstCaps * caps, guint out_w, guint out_h, bool alpha,
    GBytesPtr & out, std::string & error)
{
  static const char *const kNames[] = { "appsrc", "videoconvert", "videoscale", "capsfilter",
    nullptr, "appsink" };
  const char *encoder = alpha ? "pngenc" : "identity";
  PipelineOwner owner;
  owner.pipeline = gst_pipeline_new ("gemini-reference-convert");
  GstElement *el[6];
  for (int i = 0; i < 6; i++) {
    const char *name = kNames[i] ? kNames[i] : encoder;
    el[i] = gst_element_factory_make (name, nullptr);
    if (!el[i]) {
      error = std::string ("the element ") + name + " is missing (install gst-plugins-base "
          "and gst-plugins-good)";
      return false;
    }
    gst_bin_add (GST_BIN (owner.pipeline), el[i]);
  }
  GstElement *src = el[0], *filter = el[3], *sink = el[5];
  g_object_set (src, "caps", caps, "format", GST_FORMAT_TIME, nullptr);
  GstCapsPtr scaled (gst_caps_new_simple ("video/x-raw", "width", G_TYPE_INT, (gint) out_w,
      "height", G_TYPE_INT, (gint) out_h, "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1,
      nullptr));
  if (!alpha)
    gst_caps_set_simple (scaled.get (), "format", G_TYPE_STRING, "RGB", nullptr);
  g_object_set (filter, "caps", scaled.get (), nullptr);
  /* videoscale would add borders to keep a non-square pixel aspect ratio:
   * the size asked for already keeps it. */
  g_object_set (el[2], "add-borders", FALSE, nullptr);
  g_object_set (sink, "sync", FALSE, nullptr);
  if (!gst_element_link_many (el[0], el[1], el[2], el[3], el[4], el[5], nullptr)) {
    error = std::string ("videoconvert, videoscale and ") + encoder + " could not be linked";
    return false;
  }
  if (gst_element_set_state (owner.pipeline, GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE) {
    error = "the conversion pipeline did not start";
    return false;
  }
  /* A copy of the buffer's metadata, sharing its memory: timestamps from
   * the upstream segment mean nothing to this pipeline. */
  GstBuffer *copy = gst_buffer_copy (buf);
  GST_BUFFER_PTS (copy) = 0;
  GST_BUFFER_DTS (copy) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION (copy) = GST_CLOCK_TIME_NONE;
  GstFlowReturn flow = GST_FLOW_OK;
  g_signal_emit_by_name (src, "push-buffer", copy, &flow);
  gst_buffer_unref (copy);
  if (flow != GST_FLOW_OK) {
    error = std::string ("the frame was refused (") + gst_flow_get_name (flow) + ")";
    return false;
  }

  GstBusPtr bus (gst_element_get_bus (owner.pipeline));
  GstMessagePtr msg (gst_bus_timed_pop_filtered (bus.get (), kReferenceConvertTimeout,
      (GstMessageType) (GST_MESSAGE_ERROR | GST_MESSAGE_ASYNC_DONE)));
  if (!msg) {
    error = "the conversion took longer than "
        + std::to_string (kReferenceConvertTimeout / GST_MSECOND) + " ms";
    return false;
  }
  if (GST_MESSAGE_TYPE (msg.get ()) == GST_MESSAGE_ERROR) {
    GError *gerr = nullptr;
    gst_message_parse_error (msg.get (), &gerr, nullptr);
    error = std::string (GST_OBJECT_NAME (GST_MESSAGE_SRC (msg.get ()))) + ": "
        + (gerr ? gerr->message : "unknown error");
    if (gerr)
      g_error_free (gerr);
    return false;
  }
  GstSample *raw_result = nullptr;
  g_signal_emit_by_name (sink, "pull-preroll", &raw_result);
  GstSamplePtr result (raw_result);
  if (result && !alpha)
    return rgb_sample_to_jpeg (result.get (), out, error);
  GstBuffer *encoded = result ? gst_sample_get_buffer (result.get ()) : nullptr;
  if (!encoded) {
    error = std::string (encoder) + " produced nothing";
    return false;
  }
  out = buffer_bytes (encoded);
  if (!out) {
    error = "the encoded image could not be read";
    return false;
  }
  return true;
}

bool
finish (GBytesPtr bytes, const std::string & origin, const std::string & what,
    ReferenceImage & out, std::string & problem)
{
  gsize size = g_bytes_get_size (bytes.get ());
  if (size > kMaxReferenceBytes) {
    problem = what + " is " + std::to_string (size) + " bytes once encoded, over the "
        "per-image limit of " + std::to_string (kMaxReferenceBytes) + " bytes; lower "
        "reference-max-size";
    return false;
  }
  gsize n = 0;
  auto data = static_cast<const guint8 *> (g_bytes_get_data (bytes.get (), &n));
  const char *mime = image_format_mime_type (sniff_image_format (data, n));
  out = ReferenceImage (origin, mime ? mime : "", std::move (bytes));
  return true;
}

/* Whether every pixel of a packed format with alpha is opaque: videoconvert
 * often hands a camera's frames over as RGBA or ABGR, and those are better
 * sent as JPEG (a fraction of PNG's size). */
bool
all_opaque (GstBuffer * buf, const GstVideoInfo & info)
{
  if (GST_VIDEO_INFO_N_PLANES (&info) != 1)
    return false;
  GstMapInfo map;
  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return false;
  const gint pstride = GST_VIDEO_INFO_COMP_PSTRIDE (&info, GST_VIDEO_COMP_A);
  gsize offset = GST_VIDEO_INFO_COMP_OFFSET (&info, GST_VIDEO_COMP_A);
  gsize stride = GST_VIDEO_INFO_PLANE_STRIDE (&info, 0);
  /* The layout the buffer says it has (raw_buffer_fits () checked it). */
  if (GstVideoMeta *meta = gst_buffer_get_video_meta (buf)) {
    offset = meta->offset[0] + GST_VIDEO_FORMAT_INFO_POFFSET (info.finfo, GST_VIDEO_COMP_A);
    stride = meta->stride[0];
  }
  bool opaque = true;
  for (gint y = 0; opaque && y < GST_VIDEO_INFO_HEIGHT (&info); y++) {
    const guint8 *a = map.data + offset + gsize (y) * stride;
    for (gint x = 0; x < GST_VIDEO_INFO_WIDTH (&info); x++, a += pstride)
      if (*a != 0xff) {
        opaque = false;
        break;
      }
  }
  gst_buffer_unmap (buf, &map);
  return opaque;
}

bool
from_raw (GstBuffer * buf, GstCaps * caps, guint max_size,
    const std::string & origin, ReferenceImage & out, std::string & problem)
{
  std::string what = "the reference frame (" + caps_text (caps) + ")";
  GstCapsFeatures *features = gst_caps_get_features (caps, 0);
  if (features && !gst_caps_features_is_equal (features, GST_CAPS_FEATURES_MEMORY_SYSTEM_MEMORY)) {
    problem = what + " is not in system memory; add a download element (gldownload, say) "
        "upstream";
    return false;
  }
  GstVideoInfo info;
  if (!gst_video_info_from_caps (&info, caps)) {
    problem = what + " has incomplete or invalid raw video caps; put videoconvert upstream";
    return false;
  }
  std::string detail;
  if (!raw_buffer_fits (buf, info, detail)) {
    problem = what + " is refused: " + detail + "; check the element upstream";
    return false;
  }
  /* raw_buffer_fits () checked the buffer holds every row. */
  bool alpha = GST_VIDEO_INFO_HAS_ALPHA (&info) && !all_opaque (buf, info);
  guint w = 0, h = 0;
  target_size (GST_VIDEO_INFO_WIDTH (&info), GST_VIDEO_INFO_HEIGHT (&info),
      GST_VIDEO_INFO_PAR_N (&info), GST_VIDEO_INFO_PAR_D (&info), max_size, w, h);
  GBytesPtr encoded;
  std::string error;
  if (!encode_raw (buf, caps, w, h, alpha, encoded, error)) {
    problem = what + " could not be encoded as " + (alpha ? "PNG" : "JPEG") + " (" + error
        + "); convert it upstream with videoconvert to RGBA or I420";
    return false;
  }
  return finish (std::move (encoded), origin, what, out, problem);
}

bool
from_encoded (GstBuffer * buf, GstCaps * caps, guint max_size, const std::string & origin,
    ReferenceImage & out, std::string & problem)
{
  std::string what = "the reference image (" + caps_text (caps) + ")";
  GBytesPtr bytes = buffer_bytes (buf);
  if (!bytes) {
    problem = what + " could not be mapped for reading; check the element upstream";
    return false;
  }
  gsize size = 0;
  auto data = static_cast<const guint8 *> (g_bytes_get_data (bytes.get (), &size));
  ImageFormat format = sniff_image_format (data, size);
  if (format != ImageFormat::Png && format != ImageFormat::Jpeg && format != ImageFormat::Webp) {
    problem = what + " does not hold PNG, JPEG or WebP data (its bytes say "
        + image_format_name (format) + "); check the element upstream";
    return false;
  }
  /* The header, not the caps, is trusted for the size: caps from a parser
   * are read from the same header, caps set by hand may be wrong. */
  guint width = 0, height = 0;
  bool known = probe_image_size (data, size, width, height);
  if (known && (max_size == 0 || std::max (width, height) <= max_size)
      && size <= kMaxReferenceBytes) {
    out = ReferenceImage (origin, image_format_mime_type (format), std::move (bytes));
    return true;
  }

  DecodedImage decoded;
  std::string error;
  if (!decode_image (bytes.get (), DecodeLimits (), decoded, error)) {
    problem = what + " could not be decoded (" + error + "); send a valid image or scale "
        "it down upstream";
    return false;
  }
  GstVideoInfo info;
  gst_video_info_set_format (&info, decoded.has_alpha ? GST_VIDEO_FORMAT_RGBA
      : GST_VIDEO_FORMAT_RGB, decoded.width, decoded.height);
  GstCapsPtr raw_caps (gst_video_info_to_caps (&info));
  gsize pixels_size = decoded.size;
  GstBuffer *raw = gst_buffer_new_wrapped_full ((GstMemoryFlags) 0, decoded.pixels.get (),
      pixels_size, 0, pixels_size, decoded.pixels.get (), g_free);
  decoded.pixels.release ();
  gsize offsets[GST_VIDEO_MAX_PLANES] = { 0 };
  gint strides[GST_VIDEO_MAX_PLANES] = { (gint) decoded.stride };
  gst_buffer_add_video_meta_full (raw, GST_VIDEO_FRAME_FLAG_NONE,
      GST_VIDEO_INFO_FORMAT (&info), decoded.width, decoded.height, 1, offsets, strides);
  guint w = 0, h = 0;
  target_size (decoded.width, decoded.height, 1, 1, max_size, w, h);
  GBytesPtr encoded;
  bool ok = encode_raw (raw, raw_caps.get (), w, h, decoded.has_alpha, encoded, error);
  gst_buffer_unref (raw);
  if (!ok) {
    problem = what + " could not be re-encoded at " + std::to_string (w) + "x"
        + std::to_string (h) + " (" + error + "); scale it down upstream";
    return false;
  }
  return finish (std::move (encoded), origin, what, out, problem);
}

}  // namespace

bool
probe_image_size (const guint8 * data, gsize size, guint & width, guint & height)
{
  switch (sniff_image_format (data, size)) {
    case ImageFormat::Png:
      /* The signature, then IHDR first, as the PNG spec requires. */
      if (size < 24 || memcmp (data + 12, "IHDR", 4) != 0)
        return false;
      width = be32 (data + 16);
      height = be32 (data + 20);
      return width > 0 && height > 0 && width <= G_MAXINT32 && height <= G_MAXINT32;
    case ImageFormat::Jpeg:
      return probe_jpeg (data, size, width, height);
    case ImageFormat::Webp:
      return probe_webp (data, size, width, height);
    default:
      return false;
  }
}

bool
reference_from_sample (GstSample * sample, guint max_size, const std::string & origin,
    ReferenceImage & out, std::string & problem)
{
  GstBuffer *buf = sample ? gst_sample_get_buffer (sample) : nullptr;
  GstCaps *caps = sample ? gst_sample_get_caps (sample) : nullptr;
  if (!buf || !caps || gst_caps_get_size (caps) < 1 || !gst_caps_is_fixed (caps)) {
    problem = "the reference sample has no buffer or no fixed caps (" + caps_text (caps)
        + "); check the element upstream";
    return false;
  }
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  if (gst_structure_has_name (s, "video/x-raw"))
    return from_raw (buf, caps, max_size, origin, out, problem);
  if (gst_structure_has_name (s, "image/png") || gst_structure_has_name (s, "image/jpeg")
      || gst_structure_has_name (s, "image/webp"))
    return from_encoded (buf, caps, max_size, origin, out, problem);
  problem = "the reference caps " + caps_text (caps) + " are not raw video, PNG, JPEG or "
      "WebP; decode upstream (decodebin) or add videoconvert";
  return false;
}

FrameSampler::FrameSampler (GstClockTime interval, guint every)
    : interval_ (interval), every_ (every ? every : 1)
{
}

bool
FrameSampler::take (GstClockTime running_time)
{
  guint64 index = seen_++;
  if (index % every_ != 0)
    return false;
  if (interval_ > 0 && GST_CLOCK_TIME_IS_VALID (running_time)
      && GST_CLOCK_TIME_IS_VALID (last_taken_time_) && running_time >= last_taken_time_
      && running_time - last_taken_time_ < interval_)
    return false;
  if (GST_CLOCK_TIME_IS_VALID (running_time))
    last_taken_time_ = running_time;
  taken_++;
  return true;
}

void
FrameSampler::reset ()
{
  seen_ = 0;
  taken_ = 0;
  last_taken_time_ = GST_CLOCK_TIME_NONE;
}

}  // namespace gemini

/* Unit tests of plugin/gemini-reference-frame.cpp: reference samples to
 * upload-ready images (real videotestsrc frames in several formats, encoded
 * passthrough and re-encoding, hostile buffers) and FrameSampler.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <cstring>
#include <string>

#include "gemini-reference-frame.h"
#include "gemini-reference.h"
#include "image-check.h"
#include "image-encode.h"

#include <gst/check/gstcheck.h>
#include <gst/app/gstappsink.h>
#include <gst/video/video.h>

using namespace gemini;
using gemini::emulator::Rgb;
using gemini::test::decode_or_fail;
using gemini::test::expect_color;

static const Rgb kRed { 255, 0, 0 };
static const Rgb kGreen { 0, 255, 0 };
static const Rgb kBlue { 0, 0, 255 };

/* Compares a std::string result; fail_unless_equals_string would keep a
 * pointer into a temporary. */
#define EXPECT_TEXT(expr, want) \
  do { \
    std::string got_ = (expr); \
    fail_unless_equals_string (got_.c_str (), want); \
  } while (0)

/* The first sample of `launch` (a pipeline description ending in
 * "appsink name=sink"). */
static GstSample *
first_sample (const std::string & launch)
{
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch (launch.c_str (), &error);
  fail_unless (pipeline != nullptr, "%s: %s", launch.c_str (), error ? error->message : "?");
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (sink), 10 * GST_SECOND);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  fail_unless (sample != nullptr, "no sample from %s", launch.c_str ());
  return sample;
}

static GstSample *
test_frame (const char *pattern, const char *format, int width, int height,
    const char *extra = "")
{
  return first_sample (std::string ("videotestsrc num-buffers=1 pattern=") + pattern
      + " ! video/x-raw, format=" + format + ", width=" + std::to_string (width)
      + ", height=" + std::to_string (height) + extra + " ! appsink name=sink sync=false");
}

/* An encoded image from videotestsrc through `encoder` (pngenc, jpegenc). */
static GstSample *
encoded_frame (const char *pattern, const char *format, int width, int height,
    const char *encoder)
{
  return first_sample (std::string ("videotestsrc num-buffers=1 pattern=") + pattern
      + " ! video/x-raw, format=" + format + ", width=" + std::to_string (width)
      + ", height=" + std::to_string (height) + " ! " + encoder
      + " ! appsink name=sink sync=false");
}

static ReferenceImage
convert_or_fail (GstSample * sample, guint max_size)
{
  ReferenceImage out;
  std::string problem;
  fail_unless (reference_from_sample (sample, max_size, "reference_sink_0", out, problem),
      "%s", problem.c_str ());
  fail_unless_equals_string (out.origin.c_str (), "reference_sink_0");
  fail_unless (out.data != nullptr);
  return out;
}

static std::string
refuse (GstSample * sample, guint max_size)
{
  ReferenceImage out;
  std::string problem;
  fail_if (reference_from_sample (sample, max_size, "reference_sink_0", out, problem));
  fail_if (problem.empty ());
  fail_unless (out.data == nullptr);
  return problem;
}

static DecodedImage
decode (const ReferenceImage & ref, ImageFormat expected)
{
  gsize size = 0;
  auto data = static_cast<const guint8 *> (g_bytes_get_data (ref.data.get (), &size));
  fail_unless (sniff_image_format (data, size) == expected, "%s is not %s",
      ref.mime_type.c_str (), image_format_name (expected));
  fail_unless_equals_string (ref.mime_type.c_str (), image_format_mime_type (expected));
  return decode_or_fail (data, size, ref.mime_type.c_str ());
}

GST_START_TEST (test_template_caps)
{
  GstCaps *tmpl = gst_caps_from_string (GEMINI_REFERENCE_SINK_CAPS);
  fail_unless (tmpl != nullptr);
  for (const char *c : { "video/x-raw, format=RGBA, width=64, height=64, framerate=0/1",
           "video/x-raw, format=I420, width=1920, height=1080",
           "video/x-raw, format=NV21, width=2, height=2", "video/x-raw, format=GRAY8, width=9, height=9",
           "video/x-raw, format=Y444, width=9, height=9", "image/png", "image/jpeg",
           "image/webp, width=10, height=10" }) {
    GstCaps *caps = gst_caps_from_string (c);
    fail_unless (gst_caps_can_intersect (tmpl, caps), "template refuses %s", c);
    gst_caps_unref (caps);
  }
  for (const char *c : { "video/x-raw(memory:GLMemory), format=RGBA, width=64, height=64",
           "video/x-h264", "image/gif", "video/x-raw, format=v210, width=64, height=64" }) {
    GstCaps *caps = gst_caps_from_string (c);
    fail_if (gst_caps_can_intersect (tmpl, caps), "template takes %s", c);
    gst_caps_unref (caps);
  }
  gst_caps_unref (tmpl);
}
GST_END_TEST;

/* An alpha format becomes PNG, scaled down with its aspect ratio. */
GST_START_TEST (test_raw_rgba_to_png)
{
  /* Translucent: PNG, alpha kept. */
  GstSample *sample = test_frame ("solid-color foreground-color=0x80ff0000", "RGBA", 640, 480);
  ReferenceImage ref = convert_or_fail (sample, 320);
  DecodedImage img = decode (ref, ImageFormat::Png);
  fail_unless_equals_int (img.width, 320);
  fail_unless_equals_int (img.height, 240);
  fail_unless (img.has_alpha);
  fail_unless (img.pixels.get ()[(120 * img.stride) + 160 * 4 + 3] < 200, "alpha not kept");
  gst_sample_unref (sample);

  /* All opaque, as videoconvert often hands a camera's frames over: JPEG. */
  for (const char *format : {"RGBA", "ABGR", "BGRA"}) {
    GstSample *opaque = test_frame ("red", format, 640, 480);
    ReferenceImage jpeg = convert_or_fail (opaque, 320);
    DecodedImage pixels = decode (jpeg, ImageFormat::Jpeg);
    fail_unless_equals_int (pixels.width, 320);
    expect_color (emulator::pixel_at (pixels, 160, 120), kRed, 8, format);
    gst_sample_unref (opaque);
  }
}
GST_END_TEST;

/* A full HD I420 frame becomes a 1024-wide JPEG; logs how long a busy
 * one (SMPTE bars) takes. */
GST_START_TEST (test_raw_i420_to_jpeg)
{
  GstSample *bars = test_frame ("smpte", "I420", 1920, 1080);
  /* One conversion first: the timing below is without plugin loading. */
  ReferenceImage first = convert_or_fail (bars, 1024);
  /* A standard JFIF (YCbCr), not jpegenc's Adobe RGB JPEG of RGB input. */
  gsize n = 0;
  auto bytes = static_cast<const guint8 *> (g_bytes_get_data (first.data.get (), &n));
  fail_unless (n > 11 && memcmp (bytes + 6, "JFIF", 4) == 0, "no JFIF header");
  fail_unless (g_strstr_len (reinterpret_cast<const char *> (bytes), MIN (n, 4096), "Adobe") == nullptr,
      "an Adobe marker: RGB components");
  gint64 start = g_get_monotonic_time ();
  convert_or_fail (bars, 1024);
  double ms = (g_get_monotonic_time () - start) / 1000.0;
  g_printerr ("1920x1080 I420 (SMPTE bars) to 1024x576 JPEG: %.1f ms\n", ms);
  fail_unless (ms < GST_TIME_AS_MSECONDS (kReferenceConvertTimeout));
  gst_sample_unref (bars);

  GstSample *sample = test_frame ("red", "I420", 1920, 1080);
  ReferenceImage ref = convert_or_fail (sample, 1024);
  DecodedImage img = decode (ref, ImageFormat::Jpeg);
  fail_unless_equals_int (img.width, 1024);
  fail_unless_equals_int (img.height, 576);
  expect_color (emulator::mean_color (img), kRed, 12, "I420 mean");
  gst_sample_unref (sample);
}
GST_END_TEST;

/* More opaque formats: semi-planar, packed 4:2:2, padded RGB, grey. */
GST_START_TEST (test_raw_other_formats)
{
  struct Case { const char *format, *pattern; int w, h; guint max; int out_w, out_h; Rgb colour; };
  const Case cases[] = {
    { "NV12", "green", 300, 200, 150, 150, 100, kGreen },
    { "YUY2", "blue", 200, 400, 100, 50, 100, kBlue },
    { "BGRx", "red", 400, 100, 100, 100, 25, kRed },
    { "Y444", "green", 99, 33, 0, 99, 33, kGreen },
    /* videotestsrc writes white as 235 in GRAY8, and GStreamer reads GRAY8
     * as full range (videoconvert to RGB gives 235 too). */
    { "GRAY8", "white", 160, 120, 1000, 160, 120, Rgb { 235, 235, 235 } },
  };
  for (const Case & c : cases) {
    GstSample *sample = test_frame (c.pattern, c.format, c.w, c.h);
    ReferenceImage ref = convert_or_fail (sample, c.max);
    DecodedImage img = decode (ref, ImageFormat::Jpeg);
    fail_unless (img.width == c.out_w && img.height == c.out_h, "%s: %dx%d, want %dx%d",
        c.format, img.width, img.height, c.out_w, c.out_h);
    expect_color (emulator::mean_color (img), c.colour, 12, c.format);
    gst_sample_unref (sample);
  }
}
GST_END_TEST;

/* Small frames are never scaled up; non-square pixels come out square. */
GST_START_TEST (test_raw_no_upscale_and_par)
{
  GstSample *sample = test_frame ("red", "I420", 64, 48);
  DecodedImage img = decode (convert_or_fail (sample, 1024), ImageFormat::Jpeg);
  fail_unless (img.width == 64 && img.height == 48);
  gst_sample_unref (sample);

  /* PAL 4:3 (720x576 at 16/15) shows as 768x576. */
  sample = test_frame ("red", "I420", 720, 576, ", pixel-aspect-ratio=16/15");
  img = decode (convert_or_fail (sample, 0), ImageFormat::Jpeg);
  fail_unless (img.width == 768 && img.height == 576, "%dx%d", img.width, img.height);
  img = decode (convert_or_fail (sample, 384), ImageFormat::Jpeg);
  fail_unless (img.width == 384 && img.height == 288, "%dx%d", img.width, img.height);
  gst_sample_unref (sample);
}
GST_END_TEST;

/* A buffer shorter than its caps say is refused before anything reads it. */
GST_START_TEST (test_raw_short_buffer)
{
  GstCaps *caps = gst_caps_from_string ("video/x-raw, format=I420, width=320, height=240, "
      "framerate=30/1");
  GstBuffer *buf = gst_buffer_new_allocate (nullptr, 1000, nullptr);
  gst_buffer_memset (buf, 0, 0x80, 1000);
  GstSample *sample = gst_sample_new (buf, caps, nullptr, nullptr);
  EXPECT_TEXT (refuse (sample, 0),
      "the reference frame (video/x-raw, format=(string)I420, width=(int)320, height=(int)240, "
      "framerate=(fraction)30/1) is refused: the buffer holds 1000 bytes where the caps need "
      "115200; check the element upstream");
  gst_sample_unref (sample);

  /* Big enough in total, but a video meta whose second plane starts near
   * the end. */
  gst_buffer_unref (buf);
  buf = gst_buffer_new_allocate (nullptr, 115200, nullptr);
  gsize offsets[GST_VIDEO_MAX_PLANES] = { 0, 115000, 76800 + 19200 };
  gint strides[GST_VIDEO_MAX_PLANES] = { 320, 160, 160 };
  gst_buffer_add_video_meta_full (buf, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_FORMAT_I420,
      320, 240, 3, offsets, strides);
  sample = gst_sample_new (buf, caps, nullptr, nullptr);
  std::string problem = refuse (sample, 0);
  fail_unless (problem.find ("plane 1 of its video meta reaches past the 115200-byte buffer")
      != std::string::npos, "%s", problem.c_str ());
  gst_sample_unref (sample);
  gst_buffer_unref (buf);
  gst_caps_unref (caps);
}
GST_END_TEST;

GST_START_TEST (test_refuse_other_caps)
{
  GstBuffer *buf = gst_buffer_new_allocate (nullptr, 64, nullptr);
  GstCaps *caps = gst_caps_from_string ("video/x-h264, stream-format=byte-stream");
  GstSample *sample = gst_sample_new (buf, caps, nullptr, nullptr);
  EXPECT_TEXT (refuse (sample, 0),
      "the reference caps video/x-h264, stream-format=(string)byte-stream are not raw video, "
      "PNG, JPEG or WebP; decode upstream (decodebin) or add videoconvert");
  gst_sample_unref (sample);
  gst_caps_unref (caps);

  /* Caps that say PNG over bytes that are not an image. */
  gst_buffer_memset (buf, 0, 'x', 64);
  caps = gst_caps_from_string ("image/png");
  sample = gst_sample_new (buf, caps, nullptr, nullptr);
  EXPECT_TEXT (refuse (sample, 0),
      "the reference image (image/png) does not hold PNG, JPEG or WebP data (its bytes say "
      "unknown); check the element upstream");
  gst_sample_unref (sample);
  gst_caps_unref (caps);
  gst_buffer_unref (buf);

  ReferenceImage out;
  std::string problem;
  fail_if (reference_from_sample (nullptr, 0, "x", out, problem));
  fail_unless (problem.find ("no buffer or no fixed caps") != std::string::npos);
}
GST_END_TEST;

/* A PNG or JPEG within the limits goes up as it came, byte for byte. */
GST_START_TEST (test_encoded_passthrough)
{
  for (const char *encoder : { "pngenc", "jpegenc" }) {
    GstSample *sample = encoded_frame ("smpte", "RGB", 200, 100, encoder);
    GstBuffer *buf = gst_sample_get_buffer (sample);
    GstMapInfo map;
    fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
    GBytes *original = g_bytes_new (map.data, map.size);
    gst_buffer_unmap (buf, &map);

    for (guint max : { 0u, 200u, 4096u }) {
      ReferenceImage ref = convert_or_fail (sample, max);
      fail_unless (g_bytes_equal (ref.data.get (), original), "%s changed at max %u",
          encoder, max);
      fail_unless_equals_string (ref.mime_type.c_str (),
          g_str_equal (encoder, "pngenc") ? "image/png" : "image/jpeg");
    }
    g_bytes_unref (original);
    gst_sample_unref (sample);
  }
}
GST_END_TEST;

/* A PNG larger than max_size is decoded, scaled and encoded again: PNG
 * when it has alpha, JPEG when not. */
GST_START_TEST (test_encoded_oversized)
{
  GstSample *sample = encoded_frame ("red", "RGBA", 800, 600, "pngenc");
  ReferenceImage ref = convert_or_fail (sample, 256);
  fail_unless (g_bytes_get_size (ref.data.get ()) <= kMaxReferenceBytes);
  DecodedImage img = decode (ref, ImageFormat::Png);
  fail_unless (img.width == 256 && img.height == 192, "%dx%d", img.width, img.height);
  expect_color (emulator::pixel_at (img, 128, 96), kRed, 2, "re-encoded PNG");
  gst_sample_unref (sample);

  sample = encoded_frame ("blue", "RGB", 600, 800, "pngenc");
  img = decode (convert_or_fail (sample, 400), ImageFormat::Jpeg);
  fail_unless (img.width == 300 && img.height == 400, "%dx%d", img.width, img.height);
  expect_color (emulator::mean_color (img), kBlue, 12, "PNG without alpha as JPEG");
  gst_sample_unref (sample);
}
GST_END_TEST;

/* WebP has no encoder in gst-plugins-base/good: fixtures come from the
 * emulator's libwebp encoder, in its three layouts (VP8, VP8L, VP8X). */
GST_START_TEST (test_encoded_webp)
{
  DecodedImage pixels = emulator::allocate_image (300, 150, true);
  for (int y = 0; y < 150; y++)
    for (int x = 0; x < 300; x++) {
      guint8 *p = pixels.pixels.get () + y * pixels.stride + x * 4;
      p[0] = 0; p[1] = 255; p[2] = 0; p[3] = 255;
    }
  struct Case { bool lossless; bool alpha; };
  for (Case c : { Case { false, false }, Case { true, true }, Case { false, true } }) {
    std::string webp, error;
    DecodedImage src = emulator::allocate_image (300, 150, c.alpha);
    for (int y = 0; y < 150; y++)
      for (int x = 0; x < 300; x++) {
        guint8 *p = src.pixels.get () + y * src.stride + x * (c.alpha ? 4 : 3);
        p[0] = 0; p[1] = 255; p[2] = 0;
        if (c.alpha)
          p[3] = x < 10 ? 128 : 255;
      }
    fail_unless (emulator::encode_webp (src, c.lossless, 90, webp, error), "%s", error.c_str ());
    guint w = 0, h = 0;
    fail_unless (probe_image_size ((const guint8 *) webp.data (), webp.size (), w, h),
        "WebP header %.4s not probed", webp.data () + 12);
    fail_unless (w == 300 && h == 150, "%.4s: %ux%u", webp.data () + 12, w, h);

    GstBuffer *buf = gst_buffer_new_memdup (webp.data (), webp.size ());
    GstCaps *caps = gst_caps_from_string ("image/webp");
    GstSample *sample = gst_sample_new (buf, caps, nullptr, nullptr);
    ReferenceImage ref = convert_or_fail (sample, 300);
    fail_unless_equals_string (ref.mime_type.c_str (), "image/webp");
    fail_unless_equals_int (g_bytes_get_size (ref.data.get ()), webp.size ());
    DecodedImage img = decode (convert_or_fail (sample, 100),
        c.alpha ? ImageFormat::Png : ImageFormat::Jpeg);
    fail_unless (img.width == 100 && img.height == 50, "%dx%d", img.width, img.height);
    expect_color (emulator::pixel_at (img, 60, 25), kGreen, 12, "WebP re-encoded");
    gst_sample_unref (sample);
    gst_caps_unref (caps);
    gst_buffer_unref (buf);
  }
}
GST_END_TEST;

GST_START_TEST (test_probe_sizes)
{
  for (const char *encoder : { "pngenc", "jpegenc" }) {
    GstSample *sample = encoded_frame ("ball", "RGB", 123, 45, encoder);
    GstMapInfo map;
    GstBuffer *buf = gst_sample_get_buffer (sample);
    fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
    guint w = 0, h = 0;
    fail_unless (probe_image_size (map.data, map.size, w, h), "%s", encoder);
    fail_unless (w == 123 && h == 45, "%s: %ux%u", encoder, w, h);
    /* Cut before the size: not probed, and never read past the end. */
    fail_if (probe_image_size (map.data, 20, w, h));
    gst_buffer_unmap (buf, &map);
    gst_sample_unref (sample);
  }
  /* A truncated PNG whose header is intact but larger than max_size: the
   * decoder refuses it and the problem says so. */
  GstSample *sample = encoded_frame ("red", "RGB", 400, 300, "pngenc");
  GstBuffer *buf = gst_sample_get_buffer (sample);
  GstBuffer *cut = gst_buffer_copy_region (buf, GST_BUFFER_COPY_MEMORY, 0, 60);
  GstSample *cut_sample = gst_sample_new (cut, gst_sample_get_caps (sample), nullptr, nullptr);
  std::string problem = refuse (cut_sample, 100);
  fail_unless (g_str_has_prefix (problem.c_str (), "the reference image (image/png"),
      "%s", problem.c_str ());
  fail_unless (problem.find ("could not be decoded (") != std::string::npos, "%s",
      problem.c_str ());
  gst_sample_unref (cut_sample);
  gst_buffer_unref (cut);
  gst_sample_unref (sample);
}
GST_END_TEST;

#define S(ms) ((GstClockTime) (ms) * GST_MSECOND)

GST_START_TEST (test_sampler_default)
{
  FrameSampler s;
  for (int i = 0; i < 5; i++)
    fail_unless (s.take (S (i * 33)));
  fail_unless (s.take (GST_CLOCK_TIME_NONE));
  fail_unless_equals_uint64 (s.seen (), 6);
  fail_unless_equals_uint64 (s.taken (), 6);
}
GST_END_TEST;

GST_START_TEST (test_sampler_interval)
{
  /* 30 fps for 10 s with a 2 s interval: frames at 0, 2, 4, 6, 8 s. */
  FrameSampler s (2 * GST_SECOND);
  int taken_at[8], n = 0;
  for (int i = 0; i < 300; i++) {
    GstClockTime t = gst_util_uint64_scale (i, GST_SECOND, 30);
    if (s.take (t)) {
      fail_unless (n < 8);
      taken_at[n++] = i;
    }
  }
  fail_unless_equals_int (n, 5);
  for (int k = 0; k < 5; k++)
    fail_unless_equals_int (taken_at[k], k * 60);
  fail_unless_equals_uint64 (s.seen (), 300);
  fail_unless_equals_uint64 (s.taken (), 5);
}
GST_END_TEST;

GST_START_TEST (test_sampler_every)
{
  FrameSampler s (0, 3);
  const bool want[] = { true, false, false, true, false, false, true };
  for (bool w : want)
    fail_unless_equals_int (s.take (S (0)), w);
  fail_unless_equals_uint64 (s.seen (), 7);
  fail_unless_equals_uint64 (s.taken (), 3);

  /* every 0 means every frame. */
  FrameSampler all (0, 0);
  fail_unless (all.take (S (0)) && all.take (S (1)));
}
GST_END_TEST;

GST_START_TEST (test_sampler_untimed)
{
  /* Frames without a timestamp go by `every` alone and leave the interval
   * where the last timed frame put it. */
  FrameSampler s (S (1000), 2);
  fail_unless (s.take (GST_CLOCK_TIME_NONE));    /* 0: first */
  fail_if (s.take (GST_CLOCK_TIME_NONE));        /* 1: every */
  fail_unless (s.take (S (100)));                /* 2: no timed frame yet */
  fail_if (s.take (S (200)));                    /* 3: every */
  fail_unless (s.take (GST_CLOCK_TIME_NONE));    /* 4: untimed, every allows */
  fail_if (s.take (S (1050)));                   /* 5: every */
  fail_if (s.take (S (1000)));                   /* 6: 900 ms after 100 */
  fail_if (s.take (S (1100)));                   /* 7: every */
  fail_unless (s.take (S (1100)));               /* 8: 1000 ms after 100 */
  fail_unless_equals_uint64 (s.seen (), 9);
  fail_unless_equals_uint64 (s.taken (), 4);
}
GST_END_TEST;

GST_START_TEST (test_sampler_backwards_and_reset)
{
  FrameSampler s (S (1000));
  fail_unless (s.take (S (5000)));
  fail_if (s.take (S (5500)));
  /* A flush: running time starts again near 0 and the interval with it,
   * rather than waiting 5 s for the old time to come back. */
  fail_unless (s.take (S (0)));
  fail_if (s.take (S (400)));
  fail_unless (s.take (S (1000)));
  fail_unless_equals_uint64 (s.seen (), 5);
  fail_unless_equals_uint64 (s.taken (), 3);

  s.reset ();
  fail_unless_equals_uint64 (s.seen (), 0);
  fail_unless_equals_uint64 (s.taken (), 0);
  fail_unless (s.take (S (1100)));   /* first after reset */
  fail_if (s.take (S (1200)));

  /* every-N phase restarts too. */
  FrameSampler e (0, 2);
  fail_unless (e.take (S (0)));
  e.reset ();
  fail_unless (e.take (S (1)));
}
GST_END_TEST;

static Suite *
reference_frame_suite (void)
{
  Suite *s = suite_create ("reference-frame");
  TCase *tc = tcase_create ("general");
  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 50);
  tcase_add_test (tc, test_template_caps);
  tcase_add_test (tc, test_raw_rgba_to_png);
  tcase_add_test (tc, test_raw_i420_to_jpeg);
  tcase_add_test (tc, test_raw_other_formats);
  tcase_add_test (tc, test_raw_no_upscale_and_par);
  tcase_add_test (tc, test_raw_short_buffer);
  tcase_add_test (tc, test_refuse_other_caps);
  tcase_add_test (tc, test_encoded_passthrough);
  tcase_add_test (tc, test_encoded_oversized);
  tcase_add_test (tc, test_encoded_webp);
  tcase_add_test (tc, test_probe_sizes);
  tcase_add_test (tc, test_sampler_default);
  tcase_add_test (tc, test_sampler_interval);
  tcase_add_test (tc, test_sampler_every);
  tcase_add_test (tc, test_sampler_untimed);
  tcase_add_test (tc, test_sampler_backwards_and_reset);
  return s;
}

GST_CHECK_MAIN (reference_frame);

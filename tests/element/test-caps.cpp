/* geminiimagesrc's output in real pipelines against gemini-emulator (issue
 * 10): scaling to a size downstream fixed (letterbox bars of the colour
 * asked for, crop), the model's bytes passed through to image/jpeg exactly
 * as the emulator sent them, JPEG converted when only PNG is taken, a
 * framerate fixed downstream (still images fill their slots; live follows
 * it), a muxed file with duration x framerate frames, and a negotiation
 * failure naming the field.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cstring>
#include <string>
#include <vector>

#include "emulator-image.h"
#include "emulator-process.h"
#include "gemini-image.h"
#include "http-client.h"
#include "image-check.h"
#include "pipeline-runner.h"

#include <gst/check/gstcheck.h>
#include <gst/video/video.h>
#include <json-glib/json-glib.h>

using namespace gemini;
using namespace gemini::test;

/* The default model answers in JPEG: flat colours come back within a few
 * levels, and scaling blends a little more at edges. */
static const int kTolerance = 8;

/* The RGB pixel (x, y) of a sample in packed RGB. */
static const guint8 *
rgb_at (GstMapInfo & map, const GstVideoInfo & info, int x, int y)
{
  return map.data + GST_VIDEO_INFO_PLANE_STRIDE (&info, 0) * y + 3 * x;
}

static void
sample_info (GstSample * sample, GstVideoInfo & info)
{
  fail_unless (gst_video_info_from_caps (&info, gst_sample_get_caps (sample)));
}

/* videoconvert ! video/x-raw,format=RGBA (the usual way to ask for RGBA):
 * the element itself sends RGBA from the first image on, decoded straight
 * into it, so videoconvert passes the frames through; the colour is the
 * image's, alpha opaque. */
static std::vector<std::string> rgba_caps_seen;

GST_START_TEST (test_decoded_straight_to_rgba)
{
  emu->reset ();
  const char *prompt = "a red kite";
  const emulator::Rgb want = emulator::prompt_color (prompt);
  rgba_caps_seen.clear ();
  RunResult r;
  run_pipeline (src_desc (std::string ("prompt=\"") + prompt + "\" num-images=3")
      + " ! videoconvert ! video/x-raw,format=RGBA ! appsink name=sink", r, 60, [] (GstElement * src) {
        GstPad *pad = gst_element_get_static_pad (src, "src");
        gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, [] (GstPad *, GstPadProbeInfo * info, gpointer) {
          GstEvent *e = GST_PAD_PROBE_INFO_EVENT (info);
          if (GST_EVENT_TYPE (e) == GST_EVENT_CAPS) {
            GstCaps *caps;
            gst_event_parse_caps (e, &caps);
            rgba_caps_seen.push_back (gst_structure_get_string (gst_caps_get_structure (caps, 0), "format"));
          }
          return GST_PAD_PROBE_OK;
        }, nullptr, nullptr);
        gst_object_unref (pad);
      });
  expect_eos (r);
  fail_unless_equals_int (r.samples.size (), 3);
  fail_unless_equals_int (rgba_caps_seen.size (), 1);
  fail_unless_equals_string (rgba_caps_seen[0].c_str (), "RGBA");
  for (GstSample *sample : r.samples) {
    GstVideoInfo info;
    sample_info (sample, info);
    fail_unless_equals_int (GST_VIDEO_INFO_FORMAT (&info), GST_VIDEO_FORMAT_RGBA);
    GstMapInfo map;
    gst_buffer_map (gst_sample_get_buffer (sample), &map, GST_MAP_READ);
    const guint8 *px = map.data + GST_VIDEO_INFO_PLANE_STRIDE (&info, 0) * 20 + 4 * 20;
    expect_color (px, want, kTolerance, "RGBA pixel");
    fail_unless_equals_int (px[3], 255);
    gst_buffer_unmap (gst_sample_get_buffer (sample), &map);
  }
}
GST_END_TEST;

/* letterbox: the whole 1024x1024 image in the middle of 320x180, bars of
 * letterbox-color on both sides. crop: the image's colour edge to edge. */
GST_START_TEST (test_scale_to_fixed_size)
{
  emu->reset ();
  const char *prompt = "a lighthouse";
  const emulator::Rgb want = emulator::prompt_color (prompt);
  {
    RunResult r;
    run_pipeline (src_desc (std::string ("prompt=\"") + prompt + "\" letterbox-color=0xff3060c0")
        + " ! video/x-raw,format=RGB,width=320,height=180 ! appsink name=sink", r);
    expect_eos (r);
    fail_unless_equals_int (r.samples.size (), 1);
    GstVideoInfo info;
    sample_info (r.samples[0], info);
    fail_unless (GST_VIDEO_INFO_WIDTH (&info) == 320 && GST_VIDEO_INFO_HEIGHT (&info) == 180);
    GstMapInfo map;
    gst_buffer_map (gst_sample_get_buffer (r.samples[0]), &map, GST_MAP_READ);
    /* 180x180 in the middle: bars 70 pixels wide. */
    expect_color (rgb_at (map, info, 10, 90), emulator::Rgb {0x30, 0x60, 0xc0}, 2, "left bar");
    expect_color (rgb_at (map, info, 310, 20), emulator::Rgb {0x30, 0x60, 0xc0}, 2, "right bar");
    expect_color (rgb_at (map, info, 80, 10), want, kTolerance, "image, left edge");
    expect_color (rgb_at (map, info, 240, 10), want, kTolerance, "image, right edge");
    gst_buffer_unmap (gst_sample_get_buffer (r.samples[0]), &map);
  }
  {
    RunResult r;
    run_pipeline (src_desc (std::string ("prompt=\"") + prompt + "\" scale-mode=crop")
        + " ! video/x-raw,format=RGB,width=320,height=180 ! appsink name=sink", r);
    expect_eos (r);
    GstVideoInfo info;
    sample_info (r.samples[0], info);
    GstMapInfo map;
    gst_buffer_map (gst_sample_get_buffer (r.samples[0]), &map, GST_MAP_READ);
    expect_color (rgb_at (map, info, 2, 90), want, kTolerance, "crop, left edge");
    expect_color (rgb_at (map, info, 317, 90), want, kTolerance, "crop, right edge");
    gst_buffer_unmap (gst_sample_get_buffer (r.samples[0]), &map);
  }
}
GST_END_TEST;

/* The image the emulator sends for `prompt`, asked for directly. */
static std::string
emulator_image_bytes (const char *prompt)
{
  std::string body = std::string ("{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"") + prompt
      + "\"}]}],\"generationConfig\":{\"responseModalities\":[\"IMAGE\"]}}";
  HttpOptions options;
  options.headers.push_back ({"x-goog-api-key", "test-key"});
  HttpReply reply = http_request ("POST", emu->base_url ()
      + "/v1beta/models/gemini-nano-banana-2.1:generateContent", &body, options);
  fail_unless_equals_int (reply.status, 200);
  JsonParser *parser = json_parser_new ();
  fail_unless (json_parser_load_from_data (parser, reply.body.c_str (), (gssize) reply.body.size (), nullptr));
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  JsonObject *content = json_object_get_object_member (
      json_array_get_object_element (json_object_get_array_member (root, "candidates"), 0), "content");
  JsonArray *parts = json_object_get_array_member (content, "parts");
  std::string out;
  for (guint i = 0; i < json_array_get_length (parts); i++) {
    JsonObject *part = json_array_get_object_element (parts, i);
    if (json_object_has_member (part, "inlineData")) {
      gsize len;
      guchar *raw = g_base64_decode (json_object_get_string_member (
              json_object_get_object_member (part, "inlineData"), "data"), &len);
      out.assign ((const char *) raw, len);
      g_free (raw);
    }
  }
  g_object_unref (parser);
  fail_if (out.empty (), "no image in the emulator's answer");
  return out;
}

static std::string
sample_bytes (GstSample * sample)
{
  GstMapInfo map;
  GstBuffer *buf = gst_sample_get_buffer (sample);
  fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
  std::string out ((const char *) map.data, map.size);
  gst_buffer_unmap (buf, &map);
  return out;
}

/* ! image/jpeg !: the bytes the emulator sent, unchanged, in caps with the
 * size. ! image/png ! (the model answers JPEG): converted, same picture. */
GST_START_TEST (test_encoded_output)
{
  emu->reset ();
  const char *prompt = "a paper boat";
  const std::string expected = emulator_image_bytes (prompt);
  {
    RunResult r;
    gint w = 0, h;
    /* The first image is decoded (the caps are not known yet), the next
     * ones only read to their header: the same bytes either way. */
    run_pipeline (src_desc (std::string ("prompt=\"") + prompt + "\" num-images=3 max-in-flight=1")
        + " ! image/jpeg ! appsink name=sink", r);
    expect_eos (r);
    fail_unless_equals_int (r.samples.size (), 3);
    for (GstSample *sample : r.samples)
      fail_unless (sample_bytes (sample) == expected, "a JPEG differs from what the emulator sent");
    fail_unless_equals_int (gst_structure_get_int (r.image_messages[2], "width", &w) ? w : 0, 1024);
    const GstStructure *s = gst_caps_get_structure (gst_sample_get_caps (r.samples[0]), 0);
    fail_unless_equals_string (gst_structure_get_name (s), "image/jpeg");
    h = 0;
    gst_structure_get_int (s, "width", &w);
    gst_structure_get_int (s, "height", &h);
    fail_unless (w == 1024 && h == 1024, "%dx%d", w, h);
    std::string got = sample_bytes (r.samples[0]);
    fail_unless_equals_uint64 (got.size (), expected.size ());
    fail_unless (got == expected, "the JPEG differs from what the emulator sent");
  }
  {
    RunResult r;
    run_pipeline (src_desc (std::string ("prompt=\"") + prompt + "\"") + " ! image/png ! appsink name=sink", r);
    expect_eos (r);
    fail_unless_equals_int (r.samples.size (), 1);
    std::string got = sample_bytes (r.samples[0]);
    DecodedImage img = decode_as (got, ImageFormat::Png);
    fail_unless (img.width == 1024 && img.height == 1024);
    expect_color (emulator::pixel_at (img, 16, 16), emulator::prompt_color (prompt), kTolerance, "converted PNG");
  }
}
GST_END_TEST;

/* Not live, downstream fixes 10/1: two 1 s images give 20 frames, one per
 * 100 ms, the second image from 1 s. */
GST_START_TEST (test_fixed_framerate_still)
{
  emu->reset ();
  RunResult r;
  run_pipeline (src_desc ("prompt=\"two\" num-images=2")
      + " ! video/x-raw,format=RGB,width=64,height=64,framerate=10/1 ! appsink name=sink", r);
  expect_eos (r);
  fail_unless_equals_int (r.samples.size (), 20);
  for (guint i = 0; i < r.samples.size (); i++) {
    GstBuffer *b = gst_sample_get_buffer (r.samples[i]);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (b), i * 100 * GST_MSECOND);
    fail_unless_equals_uint64 (GST_BUFFER_DURATION (b), 100 * GST_MSECOND);
  }
  fail_unless_equals_int (r.image_messages.size (), 2);
}
GST_END_TEST;

/* Through an encoder and a muxer: a file with 2 s x 30 frames. */
GST_START_TEST (test_muxed_frame_count)
{
  emu->reset ();
  std::string out = tmp_path ("two.mkv");
  {
    RunResult r;
    run_pipeline (src_desc ("prompt=\"muxed\" num-images=2")
        + " ! video/x-raw,width=160,height=160,framerate=30/1 ! videoconvert ! x264enc speed-preset=ultrafast"
        " ! matroskamux ! filesink location=\"" + out + "\"", r);
    expect_eos (r);
  }
  RunResult back;
  run_pipeline ("filesrc location=\"" + out + "\" ! matroskademux ! appsink name=sink", back);
  expect_eos (back);
  fail_unless_equals_int (back.samples.size (), 60);
}
GST_END_TEST;

/* Live without a framerate property: downstream's (20/1), in the caps and
 * the timestamps. */
GST_START_TEST (test_live_framerate_from_downstream)
{
  emu->reset ();
  RunResult r;
  run_pipeline (src_desc ("prompt=\"live\" is-live=true num-buffers=6")
      + " ! video/x-raw,format=RGB,width=32,height=32,framerate=20/1 ! appsink name=sink", r);
  expect_eos (r);
  fail_unless_equals_int (r.samples.size (), 6);
  GstVideoInfo info;
  sample_info (r.samples[0], info);
  fail_unless (GST_VIDEO_INFO_FPS_N (&info) == 20 && GST_VIDEO_INFO_FPS_D (&info) == 1);
  for (guint i = 1; i < r.samples.size (); i++) {
    GstClockTime a = GST_BUFFER_PTS (gst_sample_get_buffer (r.samples[i - 1]));
    GstClockTime b = GST_BUFFER_PTS (gst_sample_get_buffer (r.samples[i]));
    fail_unless_equals_uint64 (b - a, 50 * GST_MSECOND);
  }
}
GST_END_TEST;

/* Live at framerate=30/1 into a capsfilter fixed at 25/1 (the link
 * succeeds: the template takes any rate): the error names the field, both
 * rates and the fix. */
GST_START_TEST (test_negotiation_error_names_field)
{
  emu->reset ();
  RunResult r;
  run_pipeline (src_desc ("prompt=\"rate\" is-live=true framerate=30/1 num-buffers=3")
      + " ! video/x-raw,framerate=25/1 ! fakesink", r);
  expect_error (r, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION);
  fail_unless_equals_string (r.detail_string ("field"), "framerate");
  expect_says (r, "framerate 30/1");
  expect_says (r, "25/1");
  expect_says (r, "videorate");
}
GST_END_TEST;

static Suite *
caps_suite (void)
{
  Suite *s = suite_create ("geminiimagesrc-caps");
  TCase *tc = add_emulator_tcase (s, "caps", 120);
  tcase_add_test (tc, test_scale_to_fixed_size);
  tcase_add_test (tc, test_decoded_straight_to_rgba);
  tcase_add_test (tc, test_encoded_output);
  tcase_add_test (tc, test_fixed_framerate_still);
  tcase_add_test (tc, test_muxed_frame_count);
  tcase_add_test (tc, test_live_framerate_from_downstream);
  tcase_add_test (tc, test_negotiation_error_names_field);
  return s;
}

GST_CHECK_MAIN (caps);

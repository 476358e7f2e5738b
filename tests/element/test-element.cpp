/* geminiimagesrc end to end: real pipelines (gst_parse_launch, GstHarness)
 * against the gemini-emulator process over loopback HTTP.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <memory>
#include <string>
#include <vector>

#include "emulator-image.h"
#include "emulator-process.h"
#include "gemini-image.h"
#include "image-check.h"
#include "pipeline-runner.h"
#include "test-files.h"

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <json-glib/json-glib.h>

using namespace gemini;
using namespace gemini::test;

/* The default model answers in JPEG (as Google's does): flat colours come
 * back within a few levels. */
static const int kJpegTolerance = 6;

/* A solid red 64x48 PNG made by GStreamer's own encoder. */
static std::string
make_reference (const char *name, const char *pattern = "red")
{
  std::string path = tmp_path (name);
  RunResult r;
  run_pipeline (std::string ("videotestsrc num-buffers=1 pattern=") + pattern +
      " ! video/x-raw,format=RGB,width=64,height=48 ! pngenc ! filesink location=\"" + path + "\"", r);
  expect_eos (r);
  return path;
}

/* The request bodies the emulator received, newest last. */
static JsonArray *
received_requests (JsonNode ** owner)
{
  *owner = emu->requests ();
  fail_unless (*owner && JSON_NODE_HOLDS_ARRAY (*owner));
  return json_node_get_array (*owner);
}

static JsonObject *
last_request_body (JsonNode ** owner)
{
  JsonArray *a = received_requests (owner);
  guint n = json_array_get_length (a);
  fail_unless (n > 0, "the emulator received no request");
  JsonObject *req = json_array_get_object_element (a, n - 1);
  return json_object_get_object_member (req, "body");
}

/* ------------------------------------------------------------------ tests */

GST_START_TEST (test_prompt_to_png_file)
{
  emu->reset ();
  const char *prompt = "a banana astronaut, watercolor";
  std::string out = tmp_path ("banana.png");
  RunResult r;
  run_pipeline (src_desc (std::string ("prompt=\"") + prompt + "\"") +
      " ! videoconvert ! pngenc ! filesink location=\"" + out + "\"", r);
  expect_eos (r);

  DecodedImage img = decode_file_image (out);
  fail_unless_equals_int (img.width, 1024);
  fail_unless_equals_int (img.height, 1024);
  /* The emulator paints the prompt's colour: the right prompt reached it. */
  expect_color (emulator::pixel_at (img, 16, 16), emulator::prompt_color (prompt), kJpegTolerance, "prompt colour");

  JsonNode *owner;
  JsonObject *body = last_request_body (&owner);
  JsonObject *config = json_object_get_object_member (body, "generationConfig");
  JsonArray *mods = json_object_get_array_member (config, "responseModalities");
  fail_unless_equals_int (json_array_get_length (mods), 1);
  fail_unless_equals_string (json_array_get_string_element (mods, 0), "IMAGE");
  fail_if (json_object_has_member (config, "imageConfig"));
  fail_if (json_object_has_member (config, "temperature"));
  fail_if (json_object_has_member (config, "seed"));
  fail_if (json_object_has_member (body, "systemInstruction"));
  json_node_unref (owner);

  /* The key went in the header, never in the URL. */
  JsonArray *reqs = received_requests (&owner);
  JsonObject *req = json_array_get_object_element (reqs, json_array_get_length (reqs) - 1);
  fail_unless (json_object_get_boolean_member (req, "api_key_present"));
  fail_if (json_object_get_boolean_member (req, "query_key_present"));
  fail_unless (strstr (json_object_get_string_member (req, "path"), "test-key") == nullptr);
  json_node_unref (owner);

  fail_unless_equals_int (r.image_messages.size (), 1);
  /* The default model, like Google's, answers in JPEG. */
  fail_unless_equals_string (gst_structure_get_string (r.image_messages[0], "mime-type"), "image/jpeg");
}
GST_END_TEST;

GST_START_TEST (test_reference_and_aspect_ratio)
{
  emu->reset ();
  std::string day = make_reference ("day.png");
  const char *prompt = "make it night";
  RunResult r;
  run_pipeline (src_desc (std::string ("prompt=\"") + prompt + "\" reference-images=\"" + day +
          "\" aspect-ratio=16:9") + " ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink", r);
  expect_eos (r);
  fail_unless_equals_int (r.samples.size (), 1);

  GstVideoInfo info;
  fail_unless (gst_video_info_from_caps (&info, gst_sample_get_caps (r.samples[0])));
  fail_unless_equals_int (GST_VIDEO_INFO_WIDTH (&info), 1376);
  fail_unless_equals_int (GST_VIDEO_INFO_HEIGHT (&info), 768);

  GstVideoFrame frame;
  fail_unless (gst_video_frame_map (&frame, &info, gst_sample_get_buffer (r.samples[0]), GST_MAP_READ));
  auto px = [&] (int x, int y) {
    return static_cast<const guint8 *> (GST_VIDEO_FRAME_PLANE_DATA (&frame, 0))
        + y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0) + x * 3;
  };
  expect_color (px (16, 16), emulator::prompt_color (prompt), kJpegTolerance, "prompt colour");
  /* Reference swatch 0 holds the reference's mean colour: pure red. */
  expect_color (px (40, 768 - 40), emulator::Rgb {255, 0, 0}, kJpegTolerance, "reference swatch");
  gst_video_frame_unmap (&frame);

  JsonNode *owner;
  JsonObject *body = last_request_body (&owner);
  JsonObject *config = json_object_get_object_member (body, "generationConfig");
  JsonObject *image_config = json_object_get_object_member (config, "imageConfig");
  fail_unless_equals_string (json_object_get_string_member (image_config, "aspectRatio"), "16:9");
  fail_if (json_object_has_member (image_config, "imageSize"));
  JsonArray *contents = json_object_get_array_member (body, "contents");
  JsonArray *parts = json_object_get_array_member (json_array_get_object_element (contents, 0), "parts");
  fail_unless_equals_int (json_array_get_length (parts), 2);
  fail_unless_equals_string (json_object_get_string_member (json_array_get_object_element (parts, 0),
          "text"), prompt);
  JsonObject *inline_data = json_object_get_object_member (json_array_get_object_element (parts, 1),
      "inlineData");
  fail_unless_equals_string (json_object_get_string_member (inline_data, "mimeType"), "image/png");
  const std::string file = read_file (day);
  GCharPtr b64 (g_base64_encode (reinterpret_cast<const guint8 *> (file.data ()), file.size ()));
  fail_unless_equals_string (json_object_get_string_member (inline_data, "data"), b64.get ());
  json_node_unref (owner);
}
GST_END_TEST;

GST_START_TEST (test_output_formats)
{
  const char *prompt = "formats";
  emulator::Rgb c = emulator::prompt_color (prompt);
  const char *formats[] = { "RGBA", "RGB", "BGRA", "I420", "NV12", "GRAY8" };
  for (const char *fmt : formats) {
    RunResult r;
    run_pipeline (src_desc (std::string ("prompt=") + prompt) + " ! video/x-raw,format=" + fmt +
        " ! appsink name=sink", r);
    expect_eos (r);
    fail_unless_equals_int (r.samples.size (), 1);
    GstVideoInfo info;
    fail_unless (gst_video_info_from_caps (&info, gst_sample_get_caps (r.samples[0])));
    fail_unless_equals_string (gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (&info)), fmt);
    fail_unless_equals_int (GST_VIDEO_INFO_WIDTH (&info), 1024);

    /* Convert the first pixel back to RGB with GStreamer and compare. */
    GstVideoFrame frame;
    fail_unless (gst_video_frame_map (&frame, &info, gst_sample_get_buffer (r.samples[0]), GST_MAP_READ));
    GstVideoInfo rgb_info;
    gst_video_info_set_format (&rgb_info, GST_VIDEO_FORMAT_RGB, 1024, 1024);
    GstBuffer *rgb = gst_buffer_new_allocate (nullptr, GST_VIDEO_INFO_SIZE (&rgb_info), nullptr);
    GstVideoFrame rgb_frame;
    fail_unless (gst_video_frame_map (&rgb_frame, &rgb_info, rgb, GST_MAP_WRITE));
    GstVideoConverter *conv = gst_video_converter_new (&info, &rgb_info, nullptr);
    gst_video_converter_frame (conv, &frame, &rgb_frame);
    gst_video_converter_free (conv);
    const guint8 *p = static_cast<const guint8 *> (GST_VIDEO_FRAME_PLANE_DATA (&rgb_frame, 0))
        + 16 * GST_VIDEO_FRAME_PLANE_STRIDE (&rgb_frame, 0) + 16 * 3;
    if (g_str_equal (fmt, "GRAY8")) {
      fail_unless (ABS (p[0] - p[1]) <= 1 && ABS (p[1] - p[2]) <= 1, "%s not grey", fmt);
    } else {
      /* 8-bit limited-range YUV round trips lose a few levels per channel. */
      int tolerance = g_str_has_prefix (fmt, "RGB") || g_str_has_prefix (fmt, "BGR") ? kJpegTolerance : 10;
      expect_color (p, c, tolerance, fmt);
    }
    gst_video_frame_unmap (&rgb_frame);
    gst_video_frame_unmap (&frame);
    gst_buffer_unref (rgb);
  }
}
GST_END_TEST;

/* A pure source under GstHarness: events, timestamps, EOS. */
GST_START_TEST (test_harness_timestamps_and_eos)
{
  emu->reset ();
  GstHarness *h = gst_harness_new_parse (src_desc (
          "prompt=slideshow num-images=3 image-duration=500000000").c_str ());
  gst_harness_set_sink_caps_str (h, "video/x-raw,format=RGBA");
  gst_harness_play (h);

  for (guint i = 0; i < 3; i++) {
    GstBuffer *buf = gst_harness_pull (h);
    fail_unless (buf != nullptr);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (buf), i * 500 * GST_MSECOND);
    fail_unless_equals_uint64 (GST_BUFFER_DURATION (buf), 500 * GST_MSECOND);
    fail_unless_equals_int (gst_buffer_get_size (buf), 1024 * 1024 * 4);
    fail_unless_equals_int (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT), i == 0);
    gst_buffer_unref (buf);
  }

  /* stream-start, caps, segment, tags, then EOS after the third image. */
  GstEvent *ev = gst_harness_pull_event (h);
  fail_unless_equals_int (GST_EVENT_TYPE (ev), GST_EVENT_STREAM_START);
  gst_event_unref (ev);
  ev = gst_harness_pull_event (h);
  fail_unless_equals_int (GST_EVENT_TYPE (ev), GST_EVENT_CAPS);
  GstCaps *caps;
  gst_event_parse_caps (ev, &caps);
  GstStructure *st = gst_caps_get_structure (caps, 0);
  fail_unless_equals_string (gst_structure_get_string (st, "format"), "RGBA");
  gint fps_n, fps_d;
  fail_unless (gst_structure_get_fraction (st, "framerate", &fps_n, &fps_d));
  fail_unless_equals_int (fps_n, 0);
  gst_event_unref (ev);
  ev = gst_harness_pull_event (h);
  fail_unless_equals_int (GST_EVENT_TYPE (ev), GST_EVENT_SEGMENT);
  const GstSegment *seg;
  gst_event_parse_segment (ev, &seg);
  fail_unless_equals_int (seg->format, GST_FORMAT_TIME);
  gst_event_unref (ev);
  /* A tag event before each image (title, comment, model). */
  for (guint i = 0; i < 3; i++) {
    ev = gst_harness_pull_event (h);
    fail_unless_equals_int (GST_EVENT_TYPE (ev), GST_EVENT_TAG);
    gst_event_unref (ev);
  }
  ev = gst_harness_pull_event (h);
  fail_unless_equals_int (GST_EVENT_TYPE (ev), GST_EVENT_EOS);
  gst_event_unref (ev);

  fail_unless_equals_int (request_count (), 3);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* A second image of another size renegotiates the caps. */
GST_START_TEST (test_caps_renegotiation)
{
  script ("{\"steps\":[{\"do\":\"image\"},{\"do\":\"replay\",\"file\":"
      "\"test_google_image_generation_with_text.yaml\"}]}");
  /* One at a time: the script's first answer goes to the first image. */
  GstHarness *h = gst_harness_new_parse (src_desc ("prompt=two num-images=2 max-in-flight=1").c_str ());
  gst_harness_set_sink_caps_str (h, "video/x-raw,format=RGB");
  gst_harness_play (h);
  GstBuffer *b1 = gst_harness_pull (h);
  GstBuffer *b2 = gst_harness_pull (h);
  fail_unless (b1 && b2);
  fail_unless_equals_int (gst_buffer_get_size (b1), 1024 * 1024 * 3);
  fail_unless_equals_int (gst_buffer_get_size (b2), 1408 * 768 * 3);
  gst_buffer_unref (b1);
  gst_buffer_unref (b2);

  std::vector<std::pair<int, int>> sizes;
  while (GstEvent *ev = gst_harness_try_pull_event (h)) {
    if (GST_EVENT_TYPE (ev) == GST_EVENT_CAPS) {
      GstCaps *caps;
      gst_event_parse_caps (ev, &caps);
      GstVideoInfo info;
      gst_video_info_from_caps (&info, caps);
      sizes.emplace_back (info.width, info.height);
    }
    gst_event_unref (ev);
  }
  fail_unless_equals_int (sizes.size (), 2);
  fail_unless_equals_int (sizes[0].first, 1024);
  fail_unless_equals_int (sizes[1].first, 1408);
  fail_unless_equals_int (sizes[1].second, 768);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_pro_model_sizes)
{
  emu->reset ();
  const char *prompt = "a neon city at night";
  RunResult r;
  run_pipeline (src_desc (std::string ("prompt=\"") + prompt + "\" model=nano-banana-pro "
          "image-size=2K aspect-ratio=16:9 response-modalities=text-and-image system-instruction=\"Always "
          "produce an image.\" temperature=0.5 seed=7") + " ! videoconvert ! video/x-raw,format=RGB ! "
      "appsink name=sink", r);
  expect_eos (r);
  fail_unless_equals_int (r.samples.size (), 1);
  GstVideoInfo info;
  fail_unless (gst_video_info_from_caps (&info, gst_sample_get_caps (r.samples[0])));
  fail_unless_equals_int (GST_VIDEO_INFO_WIDTH (&info), 2752);
  fail_unless_equals_int (GST_VIDEO_INFO_HEIGHT (&info), 1536);
  fail_unless_equals_int (r.image_messages.size (), 1);
  fail_unless_equals_string (gst_structure_get_string (r.image_messages[0], "mime-type"), "image/jpeg");
  /* With TEXT allowed, the model's text is kept for the application. */
  fail_unless (strlen (gst_structure_get_string (r.image_messages[0], "model-text")) > 0);

  JsonNode *owner;
  JsonObject *body = last_request_body (&owner);
  JsonObject *config = json_object_get_object_member (body, "generationConfig");
  fail_unless_equals_string (json_object_get_string_member (
          json_object_get_object_member (config, "imageConfig"), "imageSize"), "2K");
  fail_unless_equals_float (json_object_get_double_member (config, "temperature"), 0.5);
  fail_unless_equals_int (json_object_get_int_member (config, "seed"), 7);
  JsonArray *mods = json_object_get_array_member (config, "responseModalities");
  fail_unless_equals_int (json_array_get_length (mods), 2);
  JsonObject *si = json_object_get_object_member (body, "systemInstruction");
  fail_unless_equals_string (json_object_get_string_member (json_array_get_object_element (
              json_object_get_array_member (si, "parts"), 0), "text"), "Always produce an image.");
  json_node_unref (owner);

  /* imageSize is not sent to a 1K-only model, and a WARNING says so. */
  RunResult r2;
  run_pipeline (src_desc ("prompt=flash model=nano-banana-lite image-size=4K") + " ! fakesink", r2);
  expect_eos (r2);
  fail_unless_equals_int (r2.warnings.size (), 1);
  fail_unless (r2.warnings[0].find ("image-size=4K is not sent: gemini-3.1-flash-lite-image takes 1K only")
      != std::string::npos, "%s", r2.warnings[0].c_str ());
  body = last_request_body (&owner);
  fail_if (json_object_has_member (json_object_get_object_member (body, "generationConfig"), "imageConfig"));
  json_node_unref (owner);
}
GST_END_TEST;

/* The real recorded responses, replayed through the element. */
GST_START_TEST (test_recorded_responses)
{
  struct {
    const char *file;
    int interaction;
    int width, height;
    const char *mime;
  } cases[] = {
    {"test_google_image_generation_with_text.yaml", 0, 1408, 768, "image/jpeg"},
    {"test_google_image_or_text_output.yaml", 1, 1024, 1024, "image/png"},
    {"test_google_vertexai_image_generation_with_output_format.yaml", 0, 1024, 1024, "image/jpeg"},
  };
  for (const auto & c : cases) {
    GCharPtr script (g_strdup_printf ("{\"steps\":[{\"do\":\"replay\",\"file\":\"%s\",\"interaction\":%d}]}",
            c.file, c.interaction));
    emu->set_script (script.get ());
    RunResult r;
    run_pipeline (src_desc ("prompt=recorded") + " ! videoconvert ! video/x-raw,format=RGBA ! appsink name=sink", r);
    expect_eos (r);
    fail_unless_equals_int (r.samples.size (), 1);
    GstVideoInfo info;
    fail_unless (gst_video_info_from_caps (&info, gst_sample_get_caps (r.samples[0])));
    fail_unless_equals_int (GST_VIDEO_INFO_WIDTH (&info), c.width);
    fail_unless_equals_int (GST_VIDEO_INFO_HEIGHT (&info), c.height);
    fail_unless_equals_string (gst_structure_get_string (r.image_messages[0], "mime-type"), c.mime);
    /* Not a blank frame: the image has more than one colour. */
    GstMapInfo map;
    GstBuffer *buf = gst_sample_get_buffer (r.samples[0]);
    fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
    bool varied = false;
    for (gsize i = 4; i < map.size && !varied; i += 4 * 97)
      varied = memcmp (map.data, map.data + i, 3) != 0;
    gst_buffer_unmap (buf, &map);
    fail_unless (varied, "%s gave a uniform frame", c.file);
  }

  /* The recorded text-only answer is a clear error quoting the model. */
  emu->set_script ("{\"steps\":[{\"do\":\"replay\",\"file\":\"test_google_image_or_text_output.yaml\","
      "\"interaction\":0}]}");
  RunResult r;
  /* content-retries=0: the first answer is the one under test. */
  run_pipeline (src_desc ("prompt=recorded content-retries=0") + " ! videoconvert ! appsink name=sink", r);
  expect_error (r, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED);
  expect_says (r, "finishReason=STOP");
  expect_says (r, "axolotl");
  fail_unless_equals_int (r.samples.size (), 0);
  fail_unless_equals_string (gst_structure_get_string (r.details, "outcome"), "text-only");
  emu->set_script ("[]");
}
GST_END_TEST;

/* No image in the answer: an error quoting Gemini's reason, never a frame. */
GST_START_TEST (test_no_image_answers_are_errors)
{
  struct {
    const char *script;
    const char *expect;
  } cases[] = {
    {"{\"do\":\"finish\",\"reason\":\"IMAGE_SAFETY\",\"message\":\"The model output could not be generated. Support code: 42876398.\"}",
        "finishReason=IMAGE_SAFETY: The model output could not be generated. Support code: 42876398."},
    {"{\"do\":\"finish\",\"reason\":\"NO_IMAGE\"}", "finishReason=NO_IMAGE"},
    {"{\"do\":\"prompt-blocked\",\"reason\":\"PROHIBITED_CONTENT\"}", "blockReason=PROHIBITED_CONTENT"},
    {"{\"do\":\"text-only\",\"text\":\"I would rather write a poem.\"}", "I would rather write a poem."},
  };
  for (const auto & c : cases) {
    emu->set_script (std::string ("[") + c.script + "]");
    RunResult r;
    run_pipeline (src_desc ("prompt=nothing content-retries=0") + " ! appsink name=sink", r);
    expect_error (r, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED);
    expect_says (r, c.expect);
    fail_unless_equals_int (r.samples.size (), 0);
  }
  emu->set_script ("[]");
}
GST_END_TEST;

/* Settings errors fail READY->PAUSED with a message naming the property. */
GST_START_TEST (test_settings_errors)
{
  guint before = request_count ();
  g_unsetenv ("GOOGLE_API_KEY");
  g_unsetenv ("GEMINI_API_KEY");
  expect_state_change_error ("geminiimagesrc prompt=x api-endpoint=" + emu->base_url () + " ! fakesink",
      GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_AUTHORIZED, "api-key property or the GOOGLE_API_KEY");
  expect_state_change_error (src_desc ("") + " ! fakesink",
      GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, "prompt property is empty");
  expect_state_change_error (src_desc ("prompt=\"   \"") + " ! fakesink",
      GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, "prompt property is empty");
  expect_state_change_error (src_desc ("prompt=x reference-images=/nonexistent/day.jpg") + " ! fakesink",
      GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ, "\"/nonexistent/day.jpg\"");
  std::string not_image = tmp_path ("notes.txt");
  g_file_set_contents (not_image.c_str (), "hello", -1, nullptr);
  expect_state_change_error (src_desc ("prompt=x reference-images=" + not_image) + " ! fakesink",
      GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, "not an image file");
  expect_state_change_error (src_desc ("prompt=x model=\"../admin\"") + " ! fakesink",
      GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, "model property");
  expect_state_change_error ("geminiimagesrc prompt=x api-key=k api-endpoint=ftp://host ! fakesink",
      GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, "api-endpoint");
  /* None of these reached the network. */
  fail_unless_equals_int (request_count (), before);
}
GST_END_TEST;

GST_START_TEST (test_unknown_model_is_not_found)
{
  emu->reset ();
  RunResult r;
  run_pipeline (src_desc ("prompt=x model=gemini-9-imaginary") + " ! fakesink", r);
  expect_error (r, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND);
  expect_says (r, "models/gemini-9-imaginary is not found");
  expect_says (r, "Check the model property");
  guint status = 0;
  fail_unless (gst_structure_get_uint (r.details, "http-status-code", &status));
  fail_unless_equals_int (status, 404);
  fail_unless_equals_string (gst_structure_get_string (r.details, "gemini-status"), "NOT_FOUND");
}
GST_END_TEST;

/* Keys: property, then GOOGLE_API_KEY, then GEMINI_API_KEY; a wrong key
 * gives Gemini's own message. */
GST_START_TEST (test_api_key_sources)
{
  EmulatorProcess strict ({"--api-key", "right-key"});
  std::string base = "geminiimagesrc prompt=x api-endpoint=" + strict.base_url ();

  g_setenv ("GEMINI_API_KEY", "right-key", TRUE);
  g_unsetenv ("GOOGLE_API_KEY");
  RunResult r1;
  run_pipeline (base + " ! fakesink", r1);
  expect_eos (r1);

  g_setenv ("GOOGLE_API_KEY", "right-key", TRUE);
  g_setenv ("GEMINI_API_KEY", "wrong-key", TRUE);
  RunResult r2;
  run_pipeline (base + " ! fakesink", r2);
  expect_eos (r2);

  RunResult r3;
  run_pipeline (base + " api-key=wrong-key ! fakesink", r3);
  expect_error (r3, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS);
  expect_says (r3, "API key not valid");
  fail_unless (r3.message ().find ("wrong-key") == std::string::npos, "key leaked: %s", r3.message ().c_str ());
  fail_unless (r3.debug.find ("wrong-key") == std::string::npos);
  g_unsetenv ("GOOGLE_API_KEY");
  g_unsetenv ("GEMINI_API_KEY");
}
GST_END_TEST;

/* A state change during a slow request returns at once. */
GST_START_TEST (test_state_change_during_request)
{
  script ("[{\"do\":\"image\",\"delay_ms\":30000}]");
  GstElement *pipeline = gst_parse_launch ((src_desc ("prompt=slow") + " ! fakesink").c_str (), nullptr);
  fail_unless (pipeline != nullptr);
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_ASYNC);
  /* Wait until the request is on the wire. */
  wait_requests (1);
  fail_unless_equals_int (request_count (), 1);
  const gint64 start = g_get_monotonic_time ();
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  const double took_ms = ms_since (start);
  fail_unless (took_ms < 500 * test_time_scale (), "state change took %.0f ms", took_ms);
  gst_object_unref (pipeline);
  emu->set_script ("[]");
}
GST_END_TEST;

GST_START_TEST (test_inspect)
{
  const std::string out = inspect_text ("geminiimagesrc");
  const char *expected[] = {
    "Gemini image generator source", "Source/Video/Image/Network", "prompt", "api-key",
    "GOOGLE_API_KEY", "api-endpoint", "GstGeminiAspectRatio", "(9): 16:9", "GstGeminiImageSize",
    "GstGeminiResponseModalities", "text-and-image", "reference-images", "num-images",
    "GstGeminiThinkingLevel", "google-search",
    "request-timeout", "max-image-pixels", "max-attempts", "rate-limit-attempts",
    "content-retries", "retry-backoff", "deadline", "GstGeminiErrorPolicy", "repeat-last",
    "tls-database", "proxy", "allow-insecure-http", "SoupLoggerLogLevel",
  };
  for (const char *e : expected)
    fail_unless (out.find (e) != std::string::npos, "'%s' missing from gst-inspect output", e);
}
GST_END_TEST;

static Suite *
element_suite (void)
{
  Suite *s = suite_create ("geminiimagesrc");
  TCase *tc = add_emulator_tcase (s, "pipelines", 120);
  tcase_add_test (tc, test_prompt_to_png_file);
  tcase_add_test (tc, test_reference_and_aspect_ratio);
  tcase_add_test (tc, test_output_formats);
  tcase_add_test (tc, test_harness_timestamps_and_eos);
  tcase_add_test (tc, test_caps_renegotiation);
  tcase_add_test (tc, test_pro_model_sizes);
  tcase_add_test (tc, test_recorded_responses);
  tcase_add_test (tc, test_no_image_answers_are_errors);
  tcase_add_test (tc, test_settings_errors);
  tcase_add_test (tc, test_unknown_model_is_not_found);
  tcase_add_test (tc, test_api_key_sources);
  tcase_add_test (tc, test_state_change_during_request);
  tcase_add_test (tc, test_inspect);
  return s;
}

GST_CHECK_MAIN (element);

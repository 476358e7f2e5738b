/* geminiimagesrc's inputs from the pipeline, against the gemini-emulator:
 * prompts from subparse and appsrc on prompt_sink, reference frames on
 * reference_sink_%u and their sampling, runtime prompt changes,
 * stale-policy=latest, live output under a test clock and through an
 * encoder and muxer, multi-turn editing, bad prompt buffers, and request
 * pads coming and going while playing.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <atomic>
#include <cstdlib>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "emulator-image.h"
#include "emulator-process.h"
#include "glib-raii.h"
#include "gemini-json.h"
#include "image-check.h"
#include "json-at.h"
#include "pipeline-runner.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <json-glib/json-glib.h>

using namespace gemini;
using namespace gemini::test;

/* ------------------------------------------------------------ helpers */

/* The generateContent request bodies since the last reset, oldest first. */
static std::vector<JsonNodePtr>
bodies ()
{
  std::vector<JsonNodePtr> out;
  JsonNode *root = emu->requests ();
  fail_unless (root && JSON_NODE_HOLDS_ARRAY (root));
  JsonArray *a = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (a); i++) {
    JsonObject *o = json_array_get_object_element (a, i);
    if (!strstr (json_object_get_string_member (o, "path"), ":generateContent"))
      continue;
    JsonNode *body = json_object_get_member (o, "body");
    out.emplace_back (body ? json_node_copy (body) : nullptr);
  }
  json_node_unref (root);
  return out;
}

/* The text of the last user turn of a request body. */
static std::string
last_prompt (JsonNode * body)
{
  JsonArray *contents = json_object_get_array_member (json_node_get_object (body), "contents");
  JsonObject *last = json_array_get_object_element (contents, json_array_get_length (contents) - 1);
  JsonArray *parts = json_object_get_array_member (last, "parts");
  return json_object_get_string_member (json_array_get_object_element (parts, 0), "text");
}

static GstClockTime
pts_of (GstSample * s)
{
  return GST_BUFFER_PTS (gst_sample_get_buffer (s));
}

static GstClockTime
duration_of (GstSample * s)
{
  return GST_BUFFER_DURATION (gst_sample_get_buffer (s));
}

/* The RGB pixel at (x, y) of an RGB sample. */
static emulator::Rgb
pixel (GstSample * s, int x, int y)
{
  GstVideoInfo info;
  fail_unless (gst_video_info_from_caps (&info, gst_sample_get_caps (s)));
  GstMapInfo map;
  GstBuffer *buf = gst_sample_get_buffer (s);
  fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
  const guint8 *p = map.data + y * GST_VIDEO_INFO_PLANE_STRIDE (&info, 0) + x * 3;
  emulator::Rgb rgb {p[0], p[1], p[2]};
  gst_buffer_unmap (buf, &map);
  return rgb;
}

static GstBuffer *
text_buffer (const std::string & text, GstClockTime pts, GstClockTime duration = GST_CLOCK_TIME_NONE)
{
  GstBuffer *b = text.empty () ? gst_buffer_new () : gst_buffer_new_memdup (text.data (), text.size ());
  GST_BUFFER_PTS (b) = pts;
  GST_BUFFER_DURATION (b) = duration;
  return b;
}

/* A setup that finds the appsrc named "prompts" and runs `feed` on a thread
 * of its own once the pipeline runs (so that it can wait for requests). */
static SrcSetup
feed_prompts (std::function<void (GstAppSrc *)> feed)
{
  return [feed] (GstElement * src) {
    GstObject *pipeline = gst_object_get_parent (GST_OBJECT (src));
    GstElement *app = gst_bin_get_by_name (GST_BIN (pipeline), "prompts");
    gst_object_unref (pipeline);
    std::thread ([feed, app] {
      feed (GST_APP_SRC (app));
      gst_object_unref (app);
    }).detach ();
  };
}

static const char *kPromptsSrc =
    "appsrc name=prompts format=time caps=text/x-raw,format=utf8 ! src.prompt_sink ";

/* ----------------------------------------------------------- prompt pad */

/* An SRT file through subparse: one frame per subtitle, at its time and
 * for its duration; the markup is reduced to text; EOS after the last. */
GST_START_TEST (test_subparse_timestamps)
{
  script ("[]");
  const std::string srt = tmp_path ("story.srt");
  fail_unless (g_file_set_contents (srt.c_str (),
      "1\n00:00:01,000 --> 00:00:03,000\nA <i>red</i> fox\n\n"
      "2\n00:00:04,000 --> 00:00:06,500\nA <b>blue</b> whale\n", -1, nullptr));
  RunResult r;
  run_pipeline ("filesrc location=" + srt + " ! subparse ! src.prompt_sink " +
      src_desc ("max-in-flight=2") + " ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink", r);
  expect_eos (r);
  fail_unless_equals_int (r.samples.size (), 2);
  fail_unless_equals_uint64 (pts_of (r.samples[0]), 1 * GST_SECOND);
  fail_unless_equals_uint64 (duration_of (r.samples[0]), 2 * GST_SECOND);
  fail_unless_equals_uint64 (pts_of (r.samples[1]), 4 * GST_SECOND);
  fail_unless_equals_uint64 (duration_of (r.samples[1]), 2500 * GST_MSECOND);
  auto b = bodies ();
  fail_unless_equals_int (b.size (), 2);
  /* Two in flight: they may reach the emulator in either order. */
  std::set<std::string> prompts {last_prompt (b[0].get ()), last_prompt (b[1].get ())};
  fail_unless (prompts == std::set<std::string> ({"A red fox", "A blue whale"}), "prompts sent: %s | %s",
      last_prompt (b[0].get ()).c_str (), last_prompt (b[1].get ()).c_str ());
  fail_unless_equals_int (r.image_messages.size (), 2);
  fail_unless_equals_string (gst_structure_get_string (r.image_messages[0], "prompt"), "A red fox");
  guint64 pts = 0;
  fail_unless (gst_structure_get_uint64 (r.image_messages[1], "pts", &pts));
  fail_unless_equals_uint64 (pts, 4 * GST_SECOND);
  fail_unless_equals_string (gst_structure_get_string (r.image_messages[1], "prompt"), "A blue whale");
}
GST_END_TEST;

/* Prompt buffers without a duration: each frame lasts until the next
 * prompt. */
GST_START_TEST (test_duration_up_to_next_prompt)
{
  script ("[]");
  RunResult r;
  run_pipeline (std::string (kPromptsSrc) + src_desc ("max-in-flight=1") + " ! appsink name=sink", r, 60,
      feed_prompts ([] (GstAppSrc * app) {
        gst_app_src_push_buffer (app, text_buffer ("first", 0));
        gst_app_src_push_buffer (app, text_buffer ("second", 5 * GST_SECOND));
        gst_app_src_end_of_stream (app);
      }));
  expect_eos (r);
  fail_unless_equals_int (r.samples.size (), 2);
  fail_unless_equals_uint64 (pts_of (r.samples[0]), 0);
  fail_unless_equals_uint64 (duration_of (r.samples[0]), 5 * GST_SECOND);
  fail_unless_equals_uint64 (pts_of (r.samples[1]), 5 * GST_SECOND);
}
GST_END_TEST;

/* Bad prompt buffers: each a WARNING naming prompt_sink and what was
 * wrong, skipped; the good one still makes its image. */
GST_START_TEST (test_bad_prompt_buffers)
{
  script ("[]");
  RunResult r;
  run_pipeline (std::string (kPromptsSrc) + src_desc ("") + " ! appsink name=sink", r, 60,
      feed_prompts ([] (GstAppSrc * app) {
        gst_app_src_push_buffer (app, text_buffer ("caf\xe9 latin-1", 0));
        gst_app_src_push_buffer (app, text_buffer ("", GST_SECOND));
        gst_app_src_push_buffer (app, text_buffer ("   \n ", 2 * GST_SECOND));
        gst_app_src_push_buffer (app, text_buffer (std::string (10 * 1024 * 1024, 'a'), 3 * GST_SECOND));
        gst_app_src_push_buffer (app, text_buffer ("good", 4 * GST_SECOND));
        gst_app_src_end_of_stream (app);
      }));
  expect_eos (r);
  fail_unless_equals_int (r.samples.size (), 1);
  fail_unless_equals_uint64 (pts_of (r.samples[0]), 4 * GST_SECOND);
  fail_unless_equals_int (r.warnings.size (), 4);
  for (const std::string & w : r.warnings)
    fail_unless (w.find ("prompt_sink") != std::string::npos, "%s", w.c_str ());
  fail_unless (r.warnings[0].find ("UTF-8") != std::string::npos, "%s", r.warnings[0].c_str ());
  fail_unless (r.warnings[3].find ("1048576") != std::string::npos || r.warnings[3].find ("MiB") != std::string::npos,
      "%s", r.warnings[3].c_str ());
  auto b = bodies ();
  fail_unless_equals_int (b.size (), 1);
  fail_unless (last_prompt (b[0].get ()) == "good", "got \"%s\"", last_prompt (b[0].get ()).c_str ());
}
GST_END_TEST;

/* stale-policy=latest: each new prompt cancels the one in flight; only the
 * last prompt's frame goes out, and the messages count the others. */
GST_START_TEST (test_latest_cancels_in_flight)
{
  script (R"([{"do":"image","delay_ms":20000},{"do":"image","delay_ms":20000},{"do":"image"}])");
  RunResult r;
  run_pipeline (std::string (kPromptsSrc) + src_desc ("stale-policy=latest max-in-flight=1") +
      " ! appsink name=sink", r, 60,
      feed_prompts ([] (GstAppSrc * app) {
        gst_app_src_push_buffer (app, text_buffer ("one", 0));
        wait_requests (1);
        gst_app_src_push_buffer (app, text_buffer ("two", GST_SECOND));
        wait_requests (2);
        gst_app_src_push_buffer (app, text_buffer ("three", 2 * GST_SECOND));
        gst_app_src_end_of_stream (app);
      }));
  expect_eos (r);
  fail_unless (r.seconds < 10, "took %.1f s: the cancelled requests were waited for", r.seconds);
  fail_unless_equals_int (r.samples.size (), 1);
  fail_unless_equals_uint64 (pts_of (r.samples[0]), 2 * GST_SECOND);
  fail_unless_equals_int (r.image_messages.size (), 1);
  guint64 superseded = 0, dropped = 9;
  fail_unless (gst_structure_get_uint64 (r.image_messages[0], "superseded", &superseded));
  fail_unless (gst_structure_get_uint64 (r.image_messages[0], "dropped", &dropped));
  fail_unless_equals_uint64 (superseded, 2);
  fail_unless_equals_uint64 (dropped, 0);
  fail_unless_equals_string (gst_structure_get_string (r.image_messages[0], "prompt"), "three");
}
GST_END_TEST;

/* stale-policy=queue: every prompt is generated, in order, and upstream
 * waits meanwhile (the appsrc's pushes block in the pad). */
GST_START_TEST (test_queue_keeps_every_prompt)
{
  script ("[]");
  RunResult r;
  run_pipeline (std::string (kPromptsSrc) + src_desc ("max-in-flight=2") + " ! appsink name=sink", r, 60,
      feed_prompts ([] (GstAppSrc * app) {
        for (int i = 0; i < 6; i++)
          gst_app_src_push_buffer (app, text_buffer ("p" + std::to_string (i), i * GST_SECOND));
        gst_app_src_end_of_stream (app);
      }));
  expect_eos (r);
  fail_unless_equals_int (r.samples.size (), 6);
  for (int i = 0; i < 6; i++)
    fail_unless_equals_uint64 (pts_of (r.samples[i]), i * GST_SECOND);
  auto b = bodies ();
  fail_unless_equals_int (b.size (), 6);
}
GST_END_TEST;

/* ------------------------------------------------------- reference pads */

/* A red frame on reference_sink_0 goes with the request as a JPEG, and the
 * emulator's swatch of it (drawn from what it received) is red. */
GST_START_TEST (test_reference_frame_reaches_emulator)
{
  script ("[]");
  RunResult r;
  run_pipeline ("videotestsrc pattern=red num-buffers=1 ! video/x-raw,format=I420,width=1920,height=1080 ! src.reference_sink_0 " +
      src_desc ("prompt=restyle") + " ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink", r);
  expect_eos (r);
  fail_unless_equals_int (r.samples.size (), 1);
  auto b = bodies ();
  fail_unless_equals_int (b.size (), 1);
  JsonObject *part = json_array_get_object_element (json_object_get_array_member (json_array_get_object_element (
      json_object_get_array_member (json_node_get_object (b[0].get ()), "contents"), 0), "parts"), 1);
  JsonObject *inline_data = json_object_get_object_member (part, "inlineData");
  fail_unless_equals_string (json_object_get_string_member (inline_data, "mimeType"), "image/jpeg");
  DecodedImage sent = decode_base64_image (json_object_get_string_member (inline_data, "data"), ImageFormat::Jpeg);
  /* reference-max-size: 1920x1080 scaled to 1024 on its longest side. */
  fail_unless_equals_int (sent.width, 1024);
  fail_unless_equals_int (sent.height, 576);
  expect_color (sent.pixels.get () + (288 * sent.stride) + 512 * 3, emulator::Rgb {255, 0, 0}, 8, "frame sent");
  GstVideoInfo info;
  gst_video_info_from_caps (&info, gst_sample_get_caps (r.samples[0]));
  const int h = GST_VIDEO_INFO_HEIGHT (&info);
  expect_color (pixel (r.samples[0], emulator::swatch_x (0) + 32, emulator::swatch_y (h) + 32),
      emulator::Rgb {255, 0, 0}, 12, "the emulator's swatch of the reference");
  guint64 pts = 99;
  fail_unless (gst_structure_get_uint64 (r.image_messages[0], "pts", &pts));
  fail_unless_equals_uint64 (pts, 0);
}
GST_END_TEST;

/* Sampling: without a prompt pad, every 5th frame of ten makes a request;
 * with reference-interval=300 ms, frames at 0, 0.3, 0.6 and 0.9 s do. */
GST_START_TEST (test_reference_sampling)
{
  script ("[]");
  RunResult every;
  run_pipeline ("videotestsrc num-buffers=10 ! video/x-raw,width=64,height=64,framerate=10/1 ! src.reference_sink_0 " +
      src_desc ("prompt=sample reference-every=5") + " ! appsink name=sink", every);
  expect_eos (every);
  fail_unless_equals_int (bodies ().size (), 2);
  fail_unless_equals_int (every.samples.size (), 2);
  fail_unless_equals_uint64 (pts_of (every.samples[1]), 500 * GST_MSECOND);

  script ("[]");
  RunResult interval;
  run_pipeline ("videotestsrc num-buffers=10 ! video/x-raw,width=64,height=64,framerate=10/1 ! src.reference_sink_0 " +
      src_desc ("prompt=sample reference-interval=300000000") + " ! appsink name=sink", interval);
  expect_eos (interval);
  fail_unless_equals_int (bodies ().size (), 4);
  fail_unless_equals_int (interval.samples.size (), 4);
  fail_unless_equals_uint64 (pts_of (interval.samples[3]), 900 * GST_MSECOND);
}
GST_END_TEST;

/* ------------------------------------------------------- runtime changes */

/* prompt set while playing starts a new generation: two frames, the second
 * of the new prompt. */
GST_START_TEST (test_prompt_change_starts_generation)
{
  script (R"([{"do":"image","delay_ms":1000},{"do":"image"}])");
  RunResult r;
  run_pipeline (src_desc ("prompt=first max-in-flight=1") + " ! appsink name=sink", r, 60,
      [] (GstElement * src) {
        gst_object_ref (src);
        std::thread ([src] {
          wait_requests (1);
          g_object_set (src, "prompt", "second", nullptr);
          gst_object_unref (src);
        }).detach ();
      });
  expect_eos (r);
  fail_unless_equals_int (r.samples.size (), 2);
  auto b = bodies ();
  fail_unless_equals_int (b.size (), 2);
  fail_unless (last_prompt (b[0].get ()) == "first", "got \"%s\"", last_prompt (b[0].get ()).c_str ());
  fail_unless (last_prompt (b[1].get ()) == "second", "got \"%s\"", last_prompt (b[1].get ()).c_str ());
  fail_unless_equals_uint64 (pts_of (r.samples[1]), GST_SECOND);
}
GST_END_TEST;

/* ------------------------------------------------------------------ live */

/* Live at 10/1 under a test clock: the placeholder first, then a frame
 * every 100 ms exactly, the image replacing the placeholder once it came,
 * and repeated after. */
GST_START_TEST (test_live_testclock)
{
  script ("[]");
  GstElement *el = gst_element_factory_make ("geminiimagesrc", nullptr);
  g_object_set (el, "api-endpoint", emu->base_url ().c_str (), "api-key", "test-key", "prompt", "live",
      "is-live", TRUE, "placeholder", "#000000", nullptr);
  gst_util_set_object_arg (G_OBJECT (el), "framerate", "10/1");
  GstHarness *h = gst_harness_new_with_element (el, nullptr, "src");
  gst_harness_use_testclock (h);
  gst_harness_set_sink_caps_str (h, "video/x-raw,format=RGB");
  gst_harness_play (h);

  GstBuffer *frame0 = gst_harness_pull (h);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (frame0), 0);
  fail_unless_equals_uint64 (GST_BUFFER_DURATION (frame0), 100 * GST_MSECOND);
  GstMapInfo map;
  gst_buffer_map (frame0, &map, GST_MAP_READ);
  expect_color (map.data, emulator::Rgb {0, 0, 0}, 0, "placeholder");
  gst_buffer_unmap (frame0, &map);
  gst_buffer_unref (frame0);

  bool image = false;
  guint frames = 1;
  for (; frames < 100 && !image; frames++) {
    g_usleep (20 * 1000);   /* real time for the emulator to answer */
    fail_unless (gst_harness_crank_single_clock_wait (h));
    GstBuffer *b = gst_harness_pull (h);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (b), frames * 100 * GST_MSECOND);
    gst_buffer_map (b, &map, GST_MAP_READ);
    image = map.data[0] || map.data[1] || map.data[2] || map.data[3 * 100] || map.data[3 * 100 + 1];
    gst_buffer_unmap (b, &map);
    gst_buffer_unref (b);
  }
  fail_unless (image, "no image after %u frames", frames);
  /* Repeated at the next frames. */
  for (guint i = 0; i < 3; i++, frames++) {
    fail_unless (gst_harness_crank_single_clock_wait (h));
    GstBuffer *b = gst_harness_pull (h);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (b), frames * 100 * GST_MSECOND);
    gst_buffer_unref (b);
  }
  GstQuery *q = gst_query_new_latency ();
  fail_unless (gst_pad_peer_query (h->sinkpad, q));
  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency (q, &live, &min, &max);
  fail_unless (live);
  fail_unless_equals_uint64 (min, 100 * GST_MSECOND);
  gst_query_unref (q);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* A live stream through x264enc and mp4mux: the file has exactly
 * num-buffers frames, spaced 1/framerate, with no gap. */
GST_START_TEST (test_live_through_encoder_and_muxer)
{
  script ("[]");
  const std::string file = tmp_path ("live.mp4");
  const bool x264 = gst_registry_check_feature_version (gst_registry_get (), "x264enc", 1, 0, 0);
  RunResult r;
  run_pipeline (src_desc ("prompt=live is-live=true framerate=30/1 num-buffers=45 placeholder=black") +
      " ! videoconvert ! " + (x264 ? "x264enc ! mp4mux" : "vp8enc ! webmmux") + " ! filesink location=" + file, r);
  expect_eos (r);
  RunResult back;
  run_pipeline ("filesrc location=" + file + (x264 ? " ! qtdemux" : " ! matroskademux") + " ! appsink name=sink", back);
  expect_eos (back);
  fail_unless_equals_int (back.samples.size (), 45);
  /* 45 frames at 30/1: 1.5 s from the first frame to the end of the last. */
  GstClockTime start = GST_CLOCK_TIME_NONE, end = 0;
  for (GstSample *s : back.samples) {
    GstBuffer *buf = gst_sample_get_buffer (s);
    start = MIN (start, GST_BUFFER_PTS (buf));
    end = MAX (end, GST_BUFFER_PTS (buf) + GST_BUFFER_DURATION (buf));
  }
  const GstClockTime first = start, last = end;
  fail_unless (last - first >= 1490 * GST_MSECOND && last - first <= 1510 * GST_MSECOND,
      "duration %" GST_TIME_FORMAT, GST_TIME_ARGS (last - first));
}
GST_END_TEST;

/* --------------------------------------------------------- edit-mode */

/* Each prompt edits the previous image: the second request carries the
 * first turn and the model's answer with its thought signatures (the
 * emulator refuses a thinking model's image part without one). */
GST_START_TEST (test_edit_mode_history)
{
  script ("[]");
  RunResult r;
  run_pipeline (std::string (kPromptsSrc) + src_desc ("edit-mode=true model=nano-banana-pro max-in-flight=4") +
      " ! appsink name=sink", r, 60,
      feed_prompts ([] (GstAppSrc * app) {
        gst_app_src_push_buffer (app, text_buffer ("a cat", 0));
        gst_app_src_push_buffer (app, text_buffer ("make it blue", GST_SECOND));
        gst_app_src_push_buffer (app, text_buffer ("add a hat", 2 * GST_SECOND));
        gst_app_src_end_of_stream (app);
      }));
  expect_eos (r);
  fail_unless_equals_int (r.samples.size (), 3);
  auto b = bodies ();
  fail_unless_equals_int (b.size (), 3);
  JsonArray *c1 = json_object_get_array_member (json_node_get_object (b[1].get ()), "contents");
  JsonArray *c2 = json_object_get_array_member (json_node_get_object (b[2].get ()), "contents");
  fail_unless_equals_int (json_array_get_length (json_object_get_array_member (json_node_get_object (b[0].get ()),
      "contents")), 1);
  fail_unless_equals_int (json_array_get_length (c1), 3);
  fail_unless_equals_int (json_array_get_length (c2), 5);
  const char *roles[] = {"user", "model", "user", "model", "user"};
  for (guint i = 0; i < 5; i++)
    fail_unless_equals_string (json_object_get_string_member (json_array_get_object_element (c2, i), "role"), roles[i]);
  /* The model turn as sent the second time is the same as the first time. */
  GCharPtr a (json_to_string (json_array_get_element (c1, 1), FALSE));
  GCharPtr a2 (json_to_string (json_array_get_element (c2, 1), FALSE));
  fail_unless (g_str_equal (a.get (), a2.get ()), "the model turn changed between requests");
  JsonArray *parts = json_object_get_array_member (json_array_get_object_element (c1, 1), "parts");
  guint signed_images = 0;
  for (guint i = 0; i < json_array_get_length (parts); i++) {
    JsonObject *p = json_array_get_object_element (parts, i);
    if (json_object_has_member (p, "inlineData") && json_object_has_member (p, "thoughtSignature"))
      signed_images++;
  }
  fail_unless (signed_images >= 1, "no signed image part in the history");
  fail_unless (last_prompt (b[2].get ()) == "add a hat", "got \"%s\"", last_prompt (b[2].get ()).c_str ());
}
GST_END_TEST;

/* ------------------------------------------------------------- pads */

/* Reference pads requested and released while a live stream plays: no
 * crash, no leak (ASan), no hang; the stream still ends at num-buffers. */
GST_START_TEST (test_request_pads_while_playing)
{
  script ("[]");
  GstElement *pipeline = gst_parse_launch ((src_desc ("prompt=pads is-live=true framerate=100/1 num-buffers=60 "
      "placeholder=black") + " ! fakesink sync=true").c_str (), nullptr);
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  /* Live: nothing to preroll. */
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_PAUSED), GST_STATE_CHANGE_NO_PREROLL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (int i = 0; i < 50; i++) {
    GstPad *pad = gst_element_request_pad_simple (src, "reference_sink_%u");
    fail_unless (pad != nullptr);
    GstPad *prompt = (i % 5 == 0) ? gst_element_request_pad_simple (src, "prompt_sink") : nullptr;
    g_usleep (1000);
    if (prompt) {
      gst_element_release_request_pad (src, prompt);
      gst_object_unref (prompt);
    }
    gst_element_release_request_pad (src, pad);
    gst_object_unref (pad);
  }
  GstMessage *msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline), 20 * GST_SECOND,
      (GstMessageType) (GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS, "no EOS");
  gst_message_unref (msg);
  gint64 t = g_get_monotonic_time ();
  gst_element_set_state (pipeline, GST_STATE_NULL);
  fail_unless (ms_since (t) < 500);
  gst_object_unref (src);
  gst_object_unref (pipeline);
}
GST_END_TEST;

/* A flushing seek on the pipeline goes up through prompt_sink to subparse;
 * its flush goes through the element and cancels the request in flight (a
 * 20 s answer, with one request at a time), and the stream ends with the
 * subtitle after the new position. (subparse may send earlier subtitles
 * again after a seek: it re-reads the file before it applies the new
 * segment, so frames before 6.5 s are not checked.) */
GST_START_TEST (test_seek_through_prompt_pad)
{
  script (R"({"steps":[{"do":"image"},{"do":"image","delay_ms":20000}],"then":"default"})");
  const std::string srt = tmp_path ("seek.srt");
  fail_unless (g_file_set_contents (srt.c_str (),
      "1\n00:00:01,000 --> 00:00:03,000\none\n\n2\n00:00:04,000 --> 00:00:06,000\ntwo\n\n"
      "3\n00:00:07,000 --> 00:00:08,000\nthree\n", -1, nullptr));
  GstElement *pipeline = gst_parse_launch (("filesrc location=" + srt + " ! subparse ! src.prompt_sink " +
      src_desc ("max-in-flight=1") + " ! appsink name=sink sync=false max-buffers=1").c_str (), nullptr);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  const gint64 start = g_get_monotonic_time ();
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  GstSample *s = gst_app_sink_try_pull_sample (GST_APP_SINK (sink), 20 * GST_SECOND);
  fail_unless (s != nullptr, "no first frame");
  fail_unless_equals_uint64 (pts_of (s), GST_SECOND);
  gst_sample_unref (s);
  wait_requests (2);
  fail_unless (gst_element_seek_simple (pipeline, GST_FORMAT_TIME,
      (GstSeekFlags) (GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE), 6500 * GST_MSECOND));
  std::vector<GstClockTime> after;
  while (GstSample *x = gst_app_sink_try_pull_sample (GST_APP_SINK (sink), 20 * GST_SECOND)) {
    after.push_back (pts_of (x));
    gst_sample_unref (x);
  }
  fail_unless (gst_app_sink_is_eos (GST_APP_SINK (sink)), "no EOS after the seek");
  fail_unless (seconds_since (start) < 10, "%.1f s: the 20 s request was not cancelled by the flush",
      seconds_since (start));
  fail_unless (!after.empty ());
  fail_unless_equals_uint64 (after.back (), 7 * GST_SECOND);
  gint64 t = g_get_monotonic_time ();
  gst_element_set_state (pipeline, GST_STATE_NULL);
  fail_unless (ms_since (t) < 500);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
}
GST_END_TEST;

/* The custom event gemini-reset-history between two prompts: the second
 * request starts a new conversation. */
GST_START_TEST (test_reset_history_event)
{
  script ("[]");
  RunResult r;
  run_pipeline (std::string (kPromptsSrc) + src_desc ("edit-mode=true") + " ! appsink name=sink", r, 60,
      feed_prompts ([] (GstAppSrc * app) {
        gst_app_src_push_buffer (app, text_buffer ("a cat", 0));
        gst_app_src_push_buffer (app, text_buffer ("make it blue", GST_SECOND));
        gst_element_send_event (GST_ELEMENT (app), gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM,
            gst_structure_new_empty ("gemini-reset-history")));
        gst_app_src_push_buffer (app, text_buffer ("a dog", 2 * GST_SECOND));
        gst_app_src_end_of_stream (app);
      }));
  expect_eos (r);
  fail_unless_equals_int (r.samples.size (), 3);
  auto b = bodies ();
  fail_unless_equals_int (b.size (), 3);
  auto turns = [] (JsonNode * body) {
    return json_array_get_length (json_object_get_array_member (json_node_get_object (body), "contents"));
  };
  fail_unless_equals_int (turns (b[0].get ()), 1);
  fail_unless_equals_int (turns (b[1].get ()), 3);
  fail_unless_equals_int (turns (b[2].get ()), 1);
}
GST_END_TEST;

/* Live: a request property set while playing starts a new generation with
 * it; the placeholder can be an image file. */
GST_START_TEST (test_live_property_change_and_placeholder_file)
{
  script (R"([{"do":"image","delay_ms":300},{"do":"image"}])");
  const std::string png = tmp_path ("placeholder.png");
  RunResult made;
  run_pipeline ("videotestsrc pattern=blue num-buffers=1 ! video/x-raw,width=64,height=48 ! pngenc ! filesink location=" +
      png, made);
  expect_eos (made);
  RunResult r;
  run_pipeline (src_desc ("prompt=live is-live=true framerate=20/1 num-buffers=40 placeholder=" + png) +
      " ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink", r, 60,
      [] (GstElement * src) {
        gst_object_ref (src);
        std::thread ([src] {
          wait_requests (1);
          gst_util_set_object_arg (G_OBJECT (src), "aspect-ratio", "16:9");
          gst_object_unref (src);
        }).detach ();
      });
  expect_eos (r);
  fail_unless_equals_int (r.samples.size (), 40);
  expect_color (pixel (r.samples[0], 32, 24), emulator::Rgb {0, 0, 255}, 8, "placeholder file");
  for (guint i = 0; i < r.samples.size (); i++)
    fail_unless_equals_uint64 (pts_of (r.samples[i]) - pts_of (r.samples[0]), i * 50 * GST_MSECOND);
  auto b = bodies ();
  fail_unless_equals_int (b.size (), 2);
  JsonNode *ratio = json_at (b[1].get (), "generationConfig.imageConfig.aspectRatio");
  fail_unless (ratio != nullptr, "no aspectRatio in the second request");
  fail_unless_equals_string (json_node_get_string (ratio), "16:9");
}
GST_END_TEST;

/* The documented storyboard recipe: compositor at 10/1 shows each image
 * from its subtitle's start until the next image, black before the first. */
GST_START_TEST (test_recipe_storyboard)
{
  script ("[]");
  const std::string srt = tmp_path ("board.srt");
  fail_unless (g_file_set_contents (srt.c_str (),
      "1\n00:00:01,000 --> 00:00:03,000\nA red fox\n\n2\n00:00:04,000 --> 00:00:06,000\nA blue whale\n", -1, nullptr));
  RunResult r;
  run_pipeline ("filesrc location=" + srt + " ! subparse ! src.prompt_sink " + src_desc ("") +
      " ! videoconvert ! videoscale ! video/x-raw,width=128,height=128 ! compositor background=black ! "
      "video/x-raw,framerate=10/1 ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink sync=false", r);
  expect_eos (r);
  fail_unless_equals_int (r.samples.size (), 60);
  /* Which image each frame shows: '.' black, 'a' the first, 'b' the second. */
  const emulator::Rgb first = pixel (r.samples[10], 64, 64), second = pixel (r.samples[40], 64, 64);
  fail_unless (!(first == second), "the two images look the same");
  auto near = [] (emulator::Rgb a, emulator::Rgb b) {
    return std::abs (a.r - b.r) + std::abs (a.g - b.g) + std::abs (a.b - b.b) < 24;
  };
  std::string pattern;
  for (guint i = 0; i < 60; i++) {
    fail_unless_equals_uint64 (pts_of (r.samples[i]), i * 100 * GST_MSECOND);
    const emulator::Rgb c = pixel (r.samples[i], 64, 64);
    pattern += near (c, emulator::Rgb {0, 0, 0}) ? '.' : near (c, first) ? 'a' : near (c, second) ? 'b' : '?';
  }
  const std::string expected = std::string (10, '.') + std::string (30, 'a') + std::string (20, 'b');
  fail_unless_equals_string (pattern.c_str (), expected.c_str ());
}
GST_END_TEST;

/* stale-policy=queue holds upstream back: with 2 requests in flight (slow
 * answers), one prompt waiting and one in the pad's chain, the other
 * prompts stay in appsrc's queue; nothing is read ahead into memory. */
GST_START_TEST (test_back_pressure)
{
  script (R"({"steps":[{"do":"image","delay_ms":1500},{"do":"image","delay_ms":1500}],"then":"default"})");
  RunResult r;
  /* Shared with the feeding thread, which may outlive a failed run. */
  auto level_while_busy = std::make_shared<std::atomic<guint>> (0);
  auto requests_while_busy = std::make_shared<std::atomic<guint>> (0);
  run_pipeline (std::string (kPromptsSrc) + src_desc ("max-in-flight=2") + " ! appsink name=sink", r, 60,
      feed_prompts ([level_while_busy, requests_while_busy] (GstAppSrc * app) {
        for (int i = 0; i < 8; i++)
          gst_app_src_push_buffer (app, text_buffer ("p" + std::to_string (i), i * GST_SECOND));
        gst_app_src_end_of_stream (app);
        wait_requests (2);
        g_usleep (400 * 1000);
        requests_while_busy->store (request_count ());
        guint64 level = 0;
        g_object_get (app, "current-level-buffers", &level, nullptr);
        level_while_busy->store (guint (level));
      }));
  expect_eos (r);
  fail_unless_equals_int (r.samples.size (), 8);
  fail_unless_equals_int (requests_while_busy->load (), 2);
  /* 8 pushed: 2 in flight, 1 waiting in the queue, 1 blocked in the chain. */
  fail_unless_equals_int (level_while_busy->load (), 4);
}
GST_END_TEST;

/* Each request carries its own frame: a recycled buffer that comes back at
 * the address of one already encoded is encoded again (it was not: every
 * request after the first carried the first frame). */
GST_START_TEST (test_reference_frames_differ)
{
  script ("[]");
  RunResult r;
  run_pipeline ("videotestsrc is-live=true pattern=snow ! video/x-raw,width=320,height=240,framerate=30/1 ! "
      "videoconvert ! src.reference_sink_0 " + src_desc ("prompt=each is-live=true framerate=4/1 num-buffers=14 "
      "reference-interval=800000000 stale-policy=latest placeholder=black") + " ! appsink name=sink", r);
  expect_eos (r);
  auto b = bodies ();
  fail_unless (b.size () >= 4, "%u requests", guint (b.size ()));
  std::set<std::string> frames;
  for (auto & body : b) {
    JsonNode *data = json_at (body.get (), "contents.0.parts.1.inlineData.data");
    fail_unless (data != nullptr);
    frames.insert (json_node_get_string (data));
  }
  fail_unless_equals_int (frames.size (), b.size ());
}
GST_END_TEST;

/* Releasing prompt_sink while its prompt is being generated cancels that
 * request (its connection closes) without an error, and the element still
 * stops at once. */
GST_START_TEST (test_release_cancels_in_flight)
{
  script (R"({"steps":[{"do":"hang"}],"then":"default"})");
  GstElement *pipeline = gst_parse_launch ((std::string (kPromptsSrc) + src_desc ("") + " ! fakesink").c_str (),
      nullptr);
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  GstElement *app = gst_bin_get_by_name (GST_BIN (pipeline), "prompts");
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  gst_app_src_push_buffer (GST_APP_SRC (app), text_buffer ("slow", 0));
  wait_requests (1);
  fail_unless (wait_until ([] { return open_connections () == 1; }, 5));
  GstPad *pad = gst_element_get_static_pad (src, "prompt_sink");
  fail_unless (pad != nullptr);
  const gint64 t0 = g_get_monotonic_time ();
  gst_element_release_request_pad (src, pad);
  gst_object_unref (pad);
  fail_unless (ms_since (t0) < 500, "release took %.0f ms", ms_since (t0));
  fail_unless (wait_until ([] { return open_connections () == 0; }, 2), "the request was not cancelled");
  GstMessage *err = gst_bus_pop_filtered (GST_ELEMENT_BUS (pipeline), GST_MESSAGE_ERROR);
  fail_unless (err == nullptr, "an error after the release");
  gint64 t = g_get_monotonic_time ();
  gst_element_set_state (pipeline, GST_STATE_NULL);
  fail_unless (ms_since (t) < 500);
  gst_object_unref (app);
  gst_object_unref (src);
  gst_object_unref (pipeline);
}
GST_END_TEST;

/* Live with latency=1 s under a test clock: a prompt at 500 ms whose image
 * comes at once is shown from the frame at 500 ms, not before (frames go
 * out a second after their time, so the image is there early). */
GST_START_TEST (test_live_latency_shows_image_at_its_time)
{
  script ("[]");
  GstElement *el = gst_element_factory_make ("geminiimagesrc", nullptr);
  g_object_set (el, "api-endpoint", emu->base_url ().c_str (), "api-key", "test-key", "is-live", TRUE,
      "latency", GST_SECOND, "placeholder", "black", nullptr);
  gst_util_set_object_arg (G_OBJECT (el), "framerate", "10/1");
  GstHarness *h = gst_harness_new_with_element (el, "prompt_sink", "src");
  gst_harness_use_testclock (h);
  gst_harness_set_sink_caps_str (h, "video/x-raw,format=RGB");
  gst_harness_set_src_caps_str (h, "text/x-raw,format=utf8");
  gst_harness_play (h);
  fail_unless_equals_int (gst_harness_push (h, text_buffer ("at half a second", 500 * GST_MSECOND)), GST_FLOW_OK);
  wait_requests (1);
  g_usleep (300 * 1000);   /* real time for the answer to arrive */

  std::string shown;
  for (guint i = 0; i < 10; i++) {
    if (i > 0)
      fail_unless (gst_harness_crank_single_clock_wait (h));
    GstBuffer *b = gst_harness_pull (h);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (b), i * 100 * GST_MSECOND);
    GstMapInfo map;
    gst_buffer_map (b, &map, GST_MAP_READ);
    const guint8 *mid = map.data + map.size / 2;
    shown += (mid[0] || mid[1] || mid[2]) ? '#' : '.';
    gst_buffer_unmap (b, &map);
    gst_buffer_unref (b);
  }
  fail_unless_equals_string (shown.c_str (), ".....#####");
  gst_harness_teardown (h);
}
GST_END_TEST;

/* history-max-turns bounds what goes with each request: with 2, the fourth
 * prompt carries the two turns before it, not three. */
GST_START_TEST (test_edit_mode_history_bounded)
{
  script ("[]");
  const std::string prompts = tmp_path ("edits.txt");
  fail_unless (g_file_set_contents (prompts.c_str (), "a cat\nmake it blue\nadd a hat\nat night\n", -1, nullptr));
  RunResult r;
  run_pipeline (src_desc ("prompt-file=" + prompts + " edit-mode=true history-max-turns=2") + " ! appsink name=sink", r);
  expect_eos (r);
  fail_unless_equals_int (r.samples.size (), 4);
  auto b = bodies ();
  fail_unless_equals_int (b.size (), 4);
  const guint expected[] = {1, 3, 5, 5};
  for (guint i = 0; i < 4; i++)
    fail_unless_equals_int (json_array_get_length (json_object_get_array_member (json_node_get_object (b[i].get ()),
        "contents")), expected[i]);
  /* The oldest turn went: the last request starts with the second prompt. */
  JsonNode *oldest = json_at (b[3].get (), "contents.0.parts.0.text");
  fail_unless (oldest != nullptr);
  const std::string oldest_text = json_node_get_string (oldest);
  fail_unless (oldest_text == "make it blue", "the oldest turn sent is \"%s\"", oldest_text.c_str ());
}
GST_END_TEST;

static Suite *
inputs_suite (void)
{
  Suite *s = suite_create ("element-inputs");
  TCase *tc = add_emulator_tcase (s, "inputs", 120);
  tcase_add_test (tc, test_subparse_timestamps);
  tcase_add_test (tc, test_duration_up_to_next_prompt);
  tcase_add_test (tc, test_bad_prompt_buffers);
  tcase_add_test (tc, test_latest_cancels_in_flight);
  tcase_add_test (tc, test_queue_keeps_every_prompt);
  tcase_add_test (tc, test_back_pressure);
  tcase_add_test (tc, test_reference_frame_reaches_emulator);
  tcase_add_test (tc, test_reference_sampling);
  tcase_add_test (tc, test_reference_frames_differ);
  tcase_add_test (tc, test_prompt_change_starts_generation);
  tcase_add_test (tc, test_live_testclock);
  tcase_add_test (tc, test_live_latency_shows_image_at_its_time);
  tcase_add_test (tc, test_live_through_encoder_and_muxer);
  tcase_add_test (tc, test_edit_mode_history);
  tcase_add_test (tc, test_edit_mode_history_bounded);
  tcase_add_test (tc, test_request_pads_while_playing);
  tcase_add_test (tc, test_release_cancels_in_flight);
  tcase_add_test (tc, test_seek_through_prompt_pad);
  tcase_add_test (tc, test_reset_history_event);
  tcase_add_test (tc, test_live_property_change_and_placeholder_file);
  tcase_add_test (tc, test_recipe_storyboard);
  return s;
}

GST_CHECK_MAIN (inputs);

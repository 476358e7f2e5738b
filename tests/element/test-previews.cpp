/* geminiimagesrc with previews=true against gemini-emulator (issue 10):
 * the request streams (:streamGenerateContent?alt=sse with
 * includeThoughts), the model's draft images go out as frames flagged as
 * previews in GstGeminiImageMeta before the final image replaces them, in
 * a still stream (at the image's time) and in a live one (shown until the
 * final image comes).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cstring>
#include <string>
#include <vector>

#include "emulator-image.h"
#include "emulator-process.h"
#include "gemini-image.h"
#include "gstgeminimeta.h"
#include "image-check.h"
#include "pipeline-runner.h"

#include <gst/check/gstcheck.h>
#include <gst/video/video.h>
#include <json-glib/json-glib.h>

using namespace gemini;
using namespace gemini::test;

static const int kTolerance = 8;

/* Whether a sample's meta says preview; fails without a meta. */
static bool
is_preview (GstSample * sample)
{
  const GstStructure *meta = gst_buffer_get_gemini_image_meta (gst_sample_get_buffer (sample));
  fail_unless (meta != nullptr, "a frame without GstGeminiImageMeta");
  gboolean v = FALSE;
  fail_unless (gst_structure_get_boolean (meta, GST_GEMINI_IMAGE_META_PREVIEW, &v));
  return v;
}

/* The RGB pixel (x, y) of an RGB sample. */
static emulator::Rgb
sample_pixel (GstSample * sample, int x, int y)
{
  GstVideoInfo info;
  fail_unless (gst_video_info_from_caps (&info, gst_sample_get_caps (sample)));
  GstMapInfo map;
  GstBuffer *buf = gst_sample_get_buffer (sample);
  fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
  const guint8 *p = map.data + GST_VIDEO_INFO_PLANE_STRIDE (&info, 0) * y + 3 * x;
  emulator::Rgb rgb {p[0], p[1], p[2]};
  gst_buffer_unmap (buf, &map);
  return rgb;
}

/* Drafts arrive 400 ms before the next event: time for the streaming
 * thread to push them. */
static void
slow_stream ()
{
  emu->reset ();
  emu->set_script ("{\"steps\":[{\"do\":\"stream\",\"gap_ms\":400}]}");
}

/* Still images: the drafts first, flagged, in the inverse colour at the
 * image's time; then the final image, not flagged; the request streamed
 * with includeThoughts. */
GST_START_TEST (test_still_previews)
{
  slow_stream ();
  const char *prompt = "a slow lighthouse";
  RunResult r;
  run_pipeline (src_desc (std::string ("prompt=\"") + prompt + "\" model=nano-banana-pro previews=true")
      + " ! video/x-raw,format=RGB ! appsink name=sink", r);
  expect_eos (r);
  fail_unless (r.samples.size () >= 2, "%zu frames", r.samples.size ());
  GstSample *last = r.samples.back ();
  fail_if (is_preview (last));
  for (gsize i = 0; i + 1 < r.samples.size (); i++) {
    fail_unless (is_preview (r.samples[i]), "frame %zu of %zu is not a preview", i, r.samples.size ());
    fail_unless_equals_uint64 (GST_BUFFER_PTS (gst_sample_get_buffer (r.samples[i])), 0);
    expect_color (sample_pixel (r.samples[i], 4, 4), emulator::inverse_color (emulator::prompt_color (prompt)),
        kTolerance, "draft colour");
  }
  expect_color (sample_pixel (last, 16, 16), emulator::prompt_color (prompt), kTolerance, "final colour");
  fail_unless_equals_uint64 (GST_BUFFER_PTS (gst_sample_get_buffer (last)), 0);
  fail_unless_equals_int (r.image_messages.size (), 1);

  JsonNode *owner = emu->requests ();
  JsonArray *reqs = json_node_get_array (owner);
  fail_unless_equals_int (json_array_get_length (reqs), 1);
  JsonObject *req = json_array_get_object_element (reqs, 0);
  fail_unless (json_object_get_boolean_member (req, "stream"));
  fail_unless (json_object_get_boolean_member (req, "include_thoughts"));
  json_node_unref (owner);
}
GST_END_TEST;

/* Live: the draft shows from the first frame until the final image comes;
 * no preview after it. */
GST_START_TEST (test_live_previews)
{
  slow_stream ();
  const char *prompt = "a live lighthouse";
  RunResult r;
  run_pipeline (src_desc (std::string ("prompt=\"") + prompt
          + "\" model=nano-banana-pro previews=true is-live=true framerate=20/1 num-buffers=60")
      + " ! video/x-raw,format=RGB ! appsink name=sink", r);
  expect_eos (r);
  fail_unless_equals_int (r.samples.size (), 60);
  fail_unless (is_preview (r.samples[0]), "the first frame is not the draft");
  fail_if (is_preview (r.samples.back ()));
  bool final_seen = false;
  for (GstSample *s : r.samples) {
    if (!is_preview (s))
      final_seen = true;
    else
      fail_if (final_seen, "a preview after the final image");
  }
  expect_color (sample_pixel (r.samples.back (), 16, 16), emulator::prompt_color (prompt), kTolerance, "final");
}
GST_END_TEST;

/* Vertex AI streams too: the project path with :streamGenerateContent,
 * the bearer token, and the drafts before the final image. */
GST_START_TEST (test_vertex_previews)
{
  slow_stream ();
  RunResult r;
  run_pipeline ("geminiimagesrc name=src api=vertex project=my-proj location=global access-token=test-token "
      "api-endpoint=" + emu->base_url () + " prompt=\"a vertex lighthouse\" model=nano-banana-pro previews=true"
      " ! video/x-raw,format=RGB ! appsink name=sink", r);
  expect_eos (r);
  fail_unless (r.samples.size () >= 2, "%zu frames", r.samples.size ());
  fail_unless (is_preview (r.samples.front ()));
  fail_if (is_preview (r.samples.back ()));
  JsonNode *owner = emu->requests ();
  JsonObject *req = json_array_get_object_element (json_node_get_array (owner), 0);
  fail_unless_equals_string (json_object_get_string_member (req, "api"), "vertex");
  fail_unless_equals_string (json_object_get_string_member (req, "project"), "my-proj");
  fail_unless_equals_string (json_object_get_string_member (req, "auth"), "bearer");
  fail_unless (json_object_get_boolean_member (req, "stream"));
  fail_unless (strstr (json_object_get_string_member (req, "path"), ":streamGenerateContent") != nullptr);
  json_node_unref (owner);
}
GST_END_TEST;

static Suite *
previews_suite (void)
{
  Suite *s = suite_create ("geminiimagesrc-previews");
  TCase *tc = add_emulator_tcase (s, "previews", 120);
  tcase_add_test (tc, test_still_previews);
  tcase_add_test (tc, test_live_previews);
  tcase_add_test (tc, test_vertex_previews);
  return s;
}

GST_CHECK_MAIN (previews);

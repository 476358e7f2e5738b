/* geminiimagesrc and the model catalogue, end to end against the emulator:
 * aliases, the default model, retired and unknown ids (ListModels), the
 * new options on the wire, and options a model does not take.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <string>
#include <vector>

#include "emulator-process.h"
#include "pipeline-runner.h"

#include <gst/check/gstcheck.h>
#include <gst/video/video.h>
#include <json-glib/json-glib.h>

using namespace gemini;
using namespace gemini::test;

/* The request log: every request (generateContent and ListModels). */
struct Requests {
  JsonNode *owner = nullptr;
  JsonArray *all = nullptr;
  Requests ()
  {
    owner = emu->requests ();
    fail_unless (owner && JSON_NODE_HOLDS_ARRAY (owner));
    all = json_node_get_array (owner);
  }
  ~Requests () { json_node_unref (owner); }
  guint size () const { return json_array_get_length (all); }
  JsonObject *at (guint i) const { return json_array_get_object_element (all, i); }
  const char *path (guint i) const { return json_object_get_string_member (at (i), "path"); }
  const char *method (guint i) const { return json_object_get_string_member (at (i), "method"); }
  /* The last generateContent body. */
  JsonObject *last_body () const
  {
    for (guint i = size (); i > 0; i--)
      if (g_str_equal (method (i - 1), "POST"))
        return json_object_get_object_member (at (i - 1), "body");
    fail ("no generateContent request");
    return nullptr;
  }
  guint count (const char *method_name, const char *path_part) const
  {
    guint n = 0;
    for (guint i = 0; i < size (); i++)
      n += g_str_equal (method (i), method_name) && strstr (path (i), path_part) != nullptr;
    return n;
  }
};

static const char *
image_message_model (const RunResult & r)
{
  fail_unless_equals_int (r.image_messages.size (), 1);
  return gst_structure_get_string (r.image_messages[0], "model");
}

static bool
warned (const RunResult & r, const char *text)
{
  for (const auto & w : r.warnings)
    if (w.find (text) != std::string::npos)
      return true;
  return false;
}

static std::string
all_warnings (const RunResult & r)
{
  std::string out;
  for (const auto & w : r.warnings)
    out += w + " | ";
  return out;
}

/* No model= at all: the alias of the current Flash model, which the
 * emulator (like Google) serves. */
GST_START_TEST (test_default_model)
{
  emu->reset ();
  RunResult r;
  run_pipeline (src_desc ("prompt=\"a red kite\"") + " ! fakesink", r);
  expect_eos (r);
  Requests q;
  fail_unless_equals_int (q.size (), 1);
  fail_unless_equals_string (q.path (0), "/v1beta/models/gemini-nano-banana-2.1:generateContent");
  fail_unless_equals_string (image_message_model (r), "gemini-nano-banana-2.1");
  fail_unless (r.warnings.empty (), "%s", all_warnings (r).c_str ());

  /* The property reads back as set: the alias. */
  GstElement *src = gst_element_factory_make ("geminiimagesrc", nullptr);
  gchar *model = nullptr;
  g_object_get (src, "model", &model, nullptr);
  fail_unless_equals_string (model, "nano-banana");
  g_free (model);
  gst_object_unref (src);
}
GST_END_TEST;

/* An alias resolves through the catalogue: the path and the messages show
 * the id. */
GST_START_TEST (test_alias_resolution)
{
  const struct {
    const char *alias, *id;
  } cases[] = {
    {"nano-banana-pro", "gemini-3-pro-image"},
    {"nano-banana-lite", "gemini-3.1-flash-lite-image"},
    {"nano-banana", "gemini-nano-banana-2.1"},
  };
  for (const auto & c : cases) {
    emu->reset ();
    RunResult r;
    run_pipeline (src_desc (std::string ("prompt=x model=") + c.alias) + " ! fakesink", r);
    expect_eos (r);
    Requests q;
    std::string path = std::string ("/v1beta/models/") + c.id + ":generateContent";
    fail_unless_equals_string (q.path (q.size () - 1), path.c_str ());
    fail_unless_equals_string (image_message_model (r), c.id);
  }

  /* The error of a failed request names the id too. */
  emu->set_script ("[{\"do\":\"error\",\"status\":400}]");
  RunResult r;
  run_pipeline (src_desc ("prompt=x model=nano-banana-pro") + " ! fakesink", r);
  expect_error (r, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS);
  fail_unless_equals_string (gst_structure_get_string (r.details, "model"), "gemini-3-pro-image");
  emu->set_script ("[]");
}
GST_END_TEST;

/* Against Google's endpoint a retired id fails at READY->PAUSED, before
 * any request, naming the date and the replacement. */
GST_START_TEST (test_retired_model_google_endpoint)
{
  const struct {
    const char *model, *date, *use;
  } cases[] = {
    {"gemini-2.5-flash-image", "shut down by Google on 2026-10-02", "use gemini-nano-banana-2.1"},
    {"gemini-3-pro-image-preview", "shut down by Google on 2026-06-25",
     "Use gemini-3-pro-image (Nano Banana Pro, model=nano-banana-pro)"},
    {"gemini-3.1-flash-image-preview", "2026-06-25", "gemini-nano-banana-2.1"},
  };
  for (const auto & c : cases) {
    /* A proxy that does not exist: were anything sent, the run would fail
     * differently (and later). */
    std::string desc = std::string ("geminiimagesrc prompt=x api-key=k model=") + c.model
        + " api-endpoint=https://generativelanguage.googleapis.com proxy=http://127.0.0.1:9 ! fakesink";
    const double ms = expect_state_change_error (desc, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, c.date);
    expect_state_change_error (desc, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, c.use);
    fail_unless (ms < 1000 * test_time_scale (), "took %.0f ms", ms);
  }
}
GST_END_TEST;

/* Set while playing against Google's endpoint, a retired id is refused
 * with a WARNING, and the element keeps its model. */
GST_START_TEST (test_retired_model_refused_while_playing)
{
  /* Nothing leaves the machine: the proxy is a closed loopback port, and
   * one attempt fails at once. */
  GstElement *p = gst_parse_launch ("geminiimagesrc name=src prompt=x api-key=k "
      "api-endpoint=https://generativelanguage.googleapis.com proxy=http://127.0.0.1:9 max-attempts=1 "
      "! fakesink", nullptr);
  fail_unless (p != nullptr);
  GstElement *src = gst_bin_get_by_name (GST_BIN (p), "src");
  fail_unless (gst_element_set_state (p, GST_STATE_PAUSED) != GST_STATE_CHANGE_FAILURE);
  g_object_set (src, "model", "gemini-3-pro-image-preview", nullptr);
  gchar *model = nullptr;
  g_object_get (src, "model", &model, nullptr);
  fail_unless_equals_string (model, "nano-banana");
  g_free (model);

  GstBus *bus = gst_element_get_bus (p);
  GstMessage *m = gst_bus_timed_pop_filtered (bus, 5 * GST_SECOND, GST_MESSAGE_WARNING);
  fail_unless (m != nullptr, "no WARNING");
  GError *err = nullptr;
  gst_message_parse_warning (m, &err, nullptr);
  fail_unless (strstr (err->message, "gemini-3-pro-image-preview (Nano Banana Pro (preview)) was shut down by "
          "Google on 2026-06-25") != nullptr, "%s", err->message);
  fail_unless (strstr (err->message, "The element keeps using nano-banana.") != nullptr, "%s", err->message);
  g_error_free (err);
  gst_message_unref (m);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (src);
  gst_object_unref (p);
}
GST_END_TEST;

/* Elsewhere (a gateway, the emulator replaying an old recording) it is
 * sent as given, with a WARNING. */
GST_START_TEST (test_retired_model_other_endpoint)
{
  emu->set_script ("{\"steps\":[{\"do\":\"replay\",\"file\":\"test_google_image_or_text_output.yaml\","
      "\"interaction\":1}]}");
  RunResult r;
  run_pipeline (src_desc ("prompt=recorded model=gemini-2.5-flash-image") + " ! fakesink", r);
  expect_eos (r);
  fail_unless (warned (r, "gemini-2.5-flash-image (Nano Banana) was shut down by Google on 2026-10-02"),
      "%s", all_warnings (r).c_str ());
  fail_unless (warned (r, "sent as given"), "%s", all_warnings (r).c_str ());
  Requests q;
  fail_unless_equals_string (q.path (q.size () - 1), "/v1beta/models/gemini-2.5-flash-image:generateContent");

  /* Without a recording to replay, the emulator answers like Google. */
  emu->set_script ("[]");
  RunResult r2;
  run_pipeline (src_desc ("prompt=x model=gemini-2.5-flash-image") + " ! fakesink", r2);
  expect_error (r2, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND);
  expect_says (r2, "models/gemini-2.5-flash-image is not found for API version v1beta");
}
GST_END_TEST;

/* An unknown id: the original 404, then the image models the key can use,
 * found by following ListModels' pages. */
GST_START_TEST (test_unknown_model_lists_image_models)
{
  EmulatorProcess paged ({"--list-page-size", "5"});
  EmulatorProcess *saved = emu;
  emu = &paged;
  RunResult r;
  run_pipeline (src_desc ("prompt=x model=gemini-9-imaginary") + " ! fakesink", r);
  expect_error (r, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND);
  /* Nothing hides the API's own text. */
  expect_says (r, "models/gemini-9-imaginary is not found for API version v1beta, or is not supported for "
      "generateContent. Call ListModels to see the list of available models and their supported methods.");
  expect_says (r, "Image models this key can use: gemini-nano-banana-2.1 (Nano Banana 2.1), "
      "gemini-3.1-flash-image (Nano Banana 2), gemini-3-pro-image (Nano Banana Pro), "
      "gemini-3.1-flash-lite-image (Nano Banana 2 Lite).");
  fail_unless (strstr (r.detail_string ("available-models"), "gemini-3-pro-image") != nullptr);
  {
    Requests q;
    /* One generateContent, then every page of the list. */
    fail_unless_equals_int (q.count ("POST", ":generateContent"), 1);
    const guint pages = q.count ("GET", "/v1beta/models");
    fail_unless (pages >= 3, "%u pages", pages);
    /* The image models come after the first page: later pages were read. */
  }
  emu = saved;
}
GST_END_TEST;

/* The alias's model answers 404 (Google retired it before this release
 * knew): another served model of the same family in the key's list is
 * used, with a WARNING that quotes the 404. */
GST_START_TEST (test_alias_404_moves_within_family)
{
  emu->reset ();
  emu->set_script ("[{\"do\":\"error\",\"status\":404,\"message\":\"models/gemini-nano-banana-2.1 is not found "
      "for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of "
      "available models and their supported methods.\"}]");
  RunResult r;
  /* One at a time: an image already started keeps its model. */
  run_pipeline (src_desc ("prompt=x num-images=2 max-in-flight=1") + " ! fakesink", r);
  expect_eos (r);
  fail_unless (warned (r, "model=nano-banana stands for gemini-nano-banana-2.1, but the API answered 404"),
      "%s", all_warnings (r).c_str ());
  fail_unless (warned (r, "gemini-3.1-flash-image (Nano Banana 2), of the same family"), "%s",
      all_warnings (r).c_str ());
  fail_unless_equals_int (r.image_messages.size (), 2);
  for (GstStructure *m : r.image_messages)
    fail_unless_equals_string (gst_structure_get_string (m, "model"), "gemini-3.1-flash-image");
  Requests q;
  /* One 404, one list, then both images from the family's other model. */
  fail_unless_equals_int (q.count ("POST", "gemini-nano-banana-2.1:generateContent"), 1);
  fail_unless_equals_int (q.count ("POST", "gemini-3.1-flash-image:generateContent"), 2);
  emu->set_script ("[]");
}
GST_END_TEST;

/* Each new option reaches the emulator, and the image has the catalogue's
 * size for it. */
GST_START_TEST (test_new_options_on_the_wire)
{
  emu->reset ();
  RunResult r;
  run_pipeline (src_desc ("prompt=\"a tall tower\" model=gemini-3.1-flash-image image-size=512 "
          "aspect-ratio=1:8 thinking-level=high google-search=true")
      + " ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink", r);
  expect_eos (r);
  fail_unless_equals_int (r.samples.size (), 1);
  GstVideoInfo info;
  fail_unless (gst_video_info_from_caps (&info, gst_sample_get_caps (r.samples[0])));
  fail_unless_equals_int (GST_VIDEO_INFO_WIDTH (&info), 192);
  fail_unless_equals_int (GST_VIDEO_INFO_HEIGHT (&info), 1536);
  /* Served but deprecated: said once. */
  fail_unless (warned (r, "gemini-3.1-flash-image (Nano Banana 2) is deprecated by Google since 2026-10-06"),
      "%s", all_warnings (r).c_str ());

  Requests q;
  JsonObject *body = q.last_body ();
  JsonObject *config = json_object_get_object_member (body, "generationConfig");
  JsonObject *ic = json_object_get_object_member (config, "imageConfig");
  fail_unless_equals_string (json_object_get_string_member (ic, "imageSize"), "512");
  fail_unless_equals_string (json_object_get_string_member (ic, "aspectRatio"), "1:8");
  JsonObject *tc = json_object_get_object_member (config, "thinkingConfig");
  fail_unless_equals_string (json_object_get_string_member (tc, "thinkingLevel"), "HIGH");
  fail_unless_equals_int (json_object_get_size (tc), 1);
  JsonArray *tools = json_object_get_array_member (body, "tools");
  fail_unless_equals_int (json_array_get_length (tools), 1);
  fail_unless (json_object_has_member (json_array_get_object_element (tools, 0), "googleSearch"));

  /* Unset, none of them is sent. */
  emu->reset ();
  RunResult r2;
  run_pipeline (src_desc ("prompt=x") + " ! fakesink", r2);
  expect_eos (r2);
  Requests q2;
  body = q2.last_body ();
  config = json_object_get_object_member (body, "generationConfig");
  fail_if (json_object_has_member (config, "imageConfig"));
  fail_if (json_object_has_member (config, "thinkingConfig"));
  fail_if (json_object_has_member (body, "tools"));
}
GST_END_TEST;

/* Options the model does not take: a WARNING each, saying what was dropped
 * or changed; the request carries what the model takes. */
GST_START_TEST (test_unsupported_options_warn)
{
  emu->reset ();
  std::string ref = tmp_path ("ref.png");
  RunResult made;
  run_pipeline ("videotestsrc num-buffers=1 ! video/x-raw,width=32,height=32 ! pngenc ! filesink location=\""
      + ref + "\"", made);
  expect_eos (made);
  std::string refs;
  for (int i = 0; i < 15; i++)
    refs += (i ? "," : "") + ref;

  RunResult r;
  run_pipeline (src_desc ("prompt=x model=nano-banana-pro image-size=512 aspect-ratio=1:8 thinking-level=low "
          "reference-images=\"" + refs + "\"") + " ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink", r);
  expect_eos (r);
  const char *expected[] = {
    "image-size=512 is not sent: gemini-3-pro-image takes 1K, 2K, 4K only, so it makes its default (1K).",
    "aspect-ratio=1:8 is sent as 9:16: gemini-3-pro-image does not take 1:8",
    "thinking-level=low is not sent: for gemini-3-pro-image its thinking cannot be set.",
    "Only the first 14 of 15 reference images are sent: gemini-3-pro-image takes at most 14.",
  };
  for (const char *e : expected)
    fail_unless (warned (r, e), "no warning \"%s\" in: %s", e, all_warnings (r).c_str ());
  fail_unless_equals_int (r.warnings.size (), 4);

  Requests q;
  JsonObject *body = q.last_body ();
  JsonObject *config = json_object_get_object_member (body, "generationConfig");
  JsonObject *ic = json_object_get_object_member (config, "imageConfig");
  fail_if (json_object_has_member (ic, "imageSize"));
  fail_unless_equals_string (json_object_get_string_member (ic, "aspectRatio"), "9:16");
  fail_if (json_object_has_member (config, "thinkingConfig"));
  JsonArray *parts = json_object_get_array_member (json_array_get_object_element (
          json_object_get_array_member (body, "contents"), 0), "parts");
  fail_unless_equals_int (json_array_get_length (parts), 1 + 14);
  /* Sizes come from the decoded image: Pro 9:16 at 1K. */
  GstVideoInfo info;
  fail_unless (gst_video_info_from_caps (&info, gst_sample_get_caps (r.samples[0])));
  fail_unless_equals_int (GST_VIDEO_INFO_WIDTH (&info), 768);
  fail_unless_equals_int (GST_VIDEO_INFO_HEIGHT (&info), 1376);

  /* Posted once per change, not once per image. */
  RunResult r3;
  run_pipeline (src_desc ("prompt=x model=nano-banana-pro image-size=512 num-images=3") + " ! fakesink", r3);
  expect_eos (r3);
  fail_unless_equals_int (r3.warnings.size (), 1);
}
GST_END_TEST;

/* A model set while playing applies from the next image, resolved the same
 * way; a retired id against the emulator warns and is sent. */
GST_START_TEST (test_model_change_while_playing)
{
  emu->reset ();
  RunResult r;
  guint images = 0;
  run_pipeline (src_desc ("prompt=x num-images=2 max-in-flight=1") + " ! identity name=id signal-handoffs=true "
      "! fakesink", r, 60,
      [&images] (GstElement * src) {
        GstElement *pipeline = GST_ELEMENT (gst_object_get_parent (GST_OBJECT (src)));
        GstElement *id = gst_bin_get_by_name (GST_BIN (pipeline), "id");
        g_signal_connect (id, "handoff", G_CALLBACK (+[] (GstElement *, GstBuffer *, gpointer data) {
              g_object_set (static_cast<GstElement *> (data), "model", "nano-banana-pro", nullptr);
            }), src);
        gst_object_unref (id);
        gst_object_unref (pipeline);
        (void) images;
      });
  expect_eos (r);
  fail_unless_equals_int (r.image_messages.size (), 2);
  fail_unless_equals_string (gst_structure_get_string (r.image_messages[0], "model"), "gemini-nano-banana-2.1");
  fail_unless_equals_string (gst_structure_get_string (r.image_messages[1], "model"), "gemini-3-pro-image");
}
GST_END_TEST;

GST_START_TEST (test_inspect_lists_aliases)
{
  const std::string text = inspect_text ("geminiimagesrc");
  const char *expected[] = {
    "nano-banana = gemini-nano-banana-2.1 (Nano Banana 2.1)",
    "nano-banana-pro = gemini-3-pro-image (Nano Banana Pro)",
    "nano-banana-lite = gemini-3.1-flash-lite-image (Nano Banana 2 Lite)",
    "Default: \"nano-banana\"", "GstGeminiThinkingLevel", "minimal", "google-search", "(4): 512", "1:8",
  };
  for (const char *e : expected)
    fail_unless (text.find (e) != std::string::npos, "'%s' missing from gst-inspect output", e);
}
GST_END_TEST;

static Suite *
models_suite (void)
{
  Suite *s = suite_create ("element-models");
  TCase *tc = add_emulator_tcase (s, "models", 120);
  tcase_add_test (tc, test_default_model);
  tcase_add_test (tc, test_alias_resolution);
  tcase_add_test (tc, test_retired_model_google_endpoint);
  tcase_add_test (tc, test_retired_model_refused_while_playing);
  tcase_add_test (tc, test_retired_model_other_endpoint);
  tcase_add_test (tc, test_unknown_model_lists_image_models);
  tcase_add_test (tc, test_alias_404_moves_within_family);
  tcase_add_test (tc, test_new_options_on_the_wire);
  tcase_add_test (tc, test_unsupported_options_warn);
  tcase_add_test (tc, test_model_change_while_playing);
  tcase_add_test (tc, test_inspect_lists_aliases);
  return s;
}

GST_CHECK_MAIN (models);

/* geminiimagesrc with api=vertex: real pipelines against the
 * gemini-emulator over loopback HTTP, which takes Vertex AI's paths and an
 * Authorization: Bearer token. The token must reach the emulator and go
 * nowhere else: no bus message, no debug line, no error text.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <mutex>
#include <string>
#include <vector>

#include "emulator-process.h"
#include "pipeline-runner.h"

#include <gst/app/gstappsink.h>
#include <gst/check/gstcheck.h>
#include <json-glib/json-glib.h>

using namespace gemini;
using namespace gemini::test;

static const char kToken[] = "ya29.gst-gemini-TEST-TOKEN-0123456789abcdef";
static const char kWrongToken[] = "ya29.gst-gemini-EXPIRED-TOKEN-fedcba9876543210";

/* Nothing of the caller's environment may pick the API or the project. */
static void
clear_env ()
{
  for (const char *name : {"GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_CLOUD_PROJECT",
           "GOOGLE_CLOUD_LOCATION", "GOOGLE_OAUTH_ACCESS_TOKEN", "GOOGLE_GEMINI_BASE_URL", "GOOGLE_VERTEX_BASE_URL"})
    g_unsetenv (name);
}

/* The emulator's request log entry `i` (from the end when negative), as
 * owned copies of its fields. */
struct Logged {
  std::string method, path, model, api, project, location, auth;
  bool authorization_header = false;
};

static std::vector<Logged>
logged_requests (EmulatorProcess & e)
{
  JsonNode *root = e.requests ();
  fail_unless (root && JSON_NODE_HOLDS_ARRAY (root));
  std::vector<Logged> out;
  JsonArray *a = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (a); i++) {
    JsonObject *o = json_array_get_object_element (a, i);
    auto str = [o] (const char *name) {
      return std::string (json_object_has_member (o, name) ? json_object_get_string_member (o, name) : "");
    };
    Logged l;
    l.method = str ("method");
    l.path = str ("path");
    l.model = str ("model");
    l.api = str ("api");
    l.project = str ("project");
    l.location = str ("location");
    l.auth = str ("auth");
    l.authorization_header = json_object_has_member (json_object_get_object_member (o, "headers"), "authorization");
    out.push_back (l);
  }
  json_node_unref (root);
  return out;
}

/* ------------------------------------------------------ everything seen */

static std::mutex log_lock;
static std::string log_text;

static void
capture_log (GstDebugCategory *, GstDebugLevel, const gchar *, const gchar *, gint, GObject *,
    GstDebugMessage * message, gpointer)
{
  /* Formatted before locking: formatting may log (re-entering here). */
  const std::string text = std::string (gst_debug_message_get (message)) + "\n";
  std::lock_guard<std::mutex> lk (log_lock);
  log_text += text;
}

/* A run that keeps the text of every bus message (structure, error and
 * warning texts and debug strings), property notifications included. */
struct FullRun {
  GstMessageType type = GST_MESSAGE_UNKNOWN;
  std::string error;
  std::string bus_text;
  guint samples = 0;
};

static void
run_all_messages (const std::string & desc, const char *token, FullRun & run)
{
  GstElement *pipeline = gst_parse_launch (desc.c_str (), nullptr);
  fail_unless (pipeline != nullptr, "%s", desc.c_str ());
  /* As gst-launch-1.0 -v does: every property change, with its value. */
  gst_element_add_property_deep_notify_watch (pipeline, nullptr, TRUE);
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  fail_unless (src != nullptr);
  /* Set from code: GStreamer's launch-line parser logs the values it sets. */
  g_object_set (src, "access-token", token, nullptr);
  gst_object_unref (src);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GstBus *bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  const gint64 deadline = g_get_monotonic_time () + 60 * G_TIME_SPAN_SECOND;
  while (run.type == GST_MESSAGE_UNKNOWN && g_get_monotonic_time () < deadline) {
    while (GstSample *s = sink ? gst_app_sink_try_pull_sample (GST_APP_SINK (sink), 0) : nullptr) {
      run.samples++;
      gst_sample_unref (s);
    }
    GstMessage *msg = gst_bus_timed_pop (bus, 10 * GST_MSECOND);
    if (!msg)
      continue;
    if (const GstStructure *st = gst_message_get_structure (msg)) {
      GCharPtr text (gst_structure_to_string (st));
      run.bus_text += std::string (text.get ()) + "\n";
    }
    GError *err = nullptr;
    gchar *dbg = nullptr;
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
      gst_message_parse_error (msg, &err, &dbg);
    else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING)
      gst_message_parse_warning (msg, &err, &dbg);
    if (err) {
      run.bus_text += std::string (err->message) + "\n" + (dbg ? dbg : "") + "\n";
      if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
        run.error = err->message;
    }
    g_clear_error (&err);
    g_free (dbg);
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS || GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
      run.type = GST_MESSAGE_TYPE (msg);
    gst_message_unref (msg);
  }
  fail_unless (run.type != GST_MESSAGE_UNKNOWN, "no EOS or error within 60 s");
  gst_element_set_state (pipeline, GST_STATE_NULL);
  if (sink)
    gst_object_unref (sink);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
}

/* ------------------------------------------------------------------ tests */

/* The form the brief of issue 10 names: project, a regional location, a
 * token, the emulator as api-endpoint. The image comes back and the
 * emulator saw Vertex AI's path with the bearer token. */
GST_START_TEST (test_vertex_regional_bearer)
{
  clear_env ();
  EmulatorProcess vtx ({"--access-token", kToken});
  RunResult r;
  run_pipeline (std::string ("geminiimagesrc name=src api=vertex project=my-proj location=us-central1 access-token=")
      + kToken + " api-endpoint=" + vtx.base_url () + " allow-insecure-http=true prompt=\"a vertex banana\""
      " ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink", r);
  expect_eos (r);
  fail_unless_equals_int (r.samples.size (), 1);

  std::vector<Logged> reqs = logged_requests (vtx);
  fail_unless_equals_int (reqs.size (), 1);
  const Logged & req = reqs[0];
  fail_unless_equals_string (req.api.c_str (), "vertex");
  fail_unless_equals_string (req.project.c_str (), "my-proj");
  fail_unless_equals_string (req.location.c_str (), "us-central1");
  fail_unless_equals_string (req.auth.c_str (), "bearer");
  const std::string path = "/v1/projects/my-proj/locations/us-central1/publishers/google/models/" + req.model
      + ":generateContent";
  fail_unless_equals_string (req.path.c_str (), path.c_str ());
  /* The emulator keeps credentials out of its log. */
  fail_if (req.authorization_header);
}
GST_END_TEST;

/* GOOGLE_GENAI_USE_VERTEXAI, GOOGLE_CLOUD_PROJECT and
 * GOOGLE_OAUTH_ACCESS_TOKEN alone select Vertex AI, as the SDKs do; the
 * location defaults to global. The properties read back what is in effect. */
GST_START_TEST (test_vertex_from_environment)
{
  clear_env ();
  EmulatorProcess vtx ({"--access-token", kToken});
  g_setenv ("GOOGLE_GENAI_USE_VERTEXAI", "True", TRUE);
  g_setenv ("GOOGLE_CLOUD_PROJECT", "env-proj", TRUE);
  g_setenv ("GOOGLE_OAUTH_ACCESS_TOKEN", kToken, TRUE);
  RunResult r;
  run_pipeline ("geminiimagesrc name=src prompt=x api-endpoint=" + vtx.base_url () + " ! fakesink", r, 60,
      [] (GstElement * src) {
        gint api = -1;
        gchar *project = nullptr, *location = nullptr;
        g_object_get (src, "api", &api, "project", &project, "location", &location, nullptr);
        fail_unless_equals_int (api, 1);
        fail_unless_equals_string (project, "env-proj");
        fail_unless_equals_string (location, "global");
        g_free (project);
        g_free (location);
        /* Write-only, like api-key: it cannot be read back at all. */
        GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (src), "access-token");
        fail_unless (pspec != nullptr);
        fail_if (pspec->flags & G_PARAM_READABLE);
      });
  expect_eos (r);
  std::vector<Logged> reqs = logged_requests (vtx);
  fail_unless_equals_int (reqs.size (), 1);
  fail_unless_equals_string (reqs[0].project.c_str (), "env-proj");
  fail_unless_equals_string (reqs[0].location.c_str (), "global");
  fail_unless_equals_string (reqs[0].auth.c_str (), "bearer");
  fail_unless (reqs[0].path.starts_with ("/v1/projects/env-proj/locations/global/publishers/google/models/"),
      "%s", reqs[0].path.c_str ());

  /* The property wins over the environment. */
  RunResult g;
  run_pipeline (src_desc ("api=gemini prompt=x") + " ! fakesink", g);
  expect_eos (g);
  clear_env ();
}
GST_END_TEST;

/* The token is in no bus message (property notifications included) and in
 * no debug line, with every category at TRACE (GST_DEBUG=*:7) and
 * libsoup's log of whole requests on. */
GST_START_TEST (test_vertex_token_never_leaks)
{
  clear_env ();
  EmulatorProcess vtx ({"--access-token", kToken});
  {
    std::lock_guard<std::mutex> lk (log_lock);
    log_text.clear ();
  }
  gst_debug_remove_log_function (gst_debug_log_default);
  gst_debug_add_log_function (capture_log, nullptr, nullptr);
  gst_debug_set_default_threshold (GST_LEVEL_TRACE);
  FullRun run;
  run_all_messages ("geminiimagesrc name=src api=vertex project=my-proj location=europe-west4 prompt=secretive "
      "http-log-level=body api-endpoint=" + vtx.base_url () + " ! appsink name=sink", kToken, run);
  gst_debug_set_default_threshold (GST_LEVEL_NONE);
  gst_debug_remove_log_function (capture_log);
  gst_debug_add_log_function (gst_debug_log_default, nullptr, nullptr);

  fail_unless_equals_int (run.type, GST_MESSAGE_EOS);
  fail_unless_equals_int (run.samples, 1);
  fail_if (run.bus_text.find ("TEST-TOKEN") != std::string::npos, "the token is in a bus message");
  fail_unless (run.bus_text.find ("gemini-image") != std::string::npos, "no gemini-image message: %s",
      run.bus_text.c_str ());
  std::lock_guard<std::mutex> lk (log_lock);
  fail_if (log_text.find ("TEST-TOKEN") != std::string::npos, "the token is in the debug log");
  /* The HTTP logger ran and showed the header, redacted. */
  fail_unless (log_text.find ("Authorization: [REDACTED]") != std::string::npos,
      "no redacted Authorization line: the test proves nothing");
  fail_unless (log_text.find ("/v1/projects/my-proj/locations/europe-west4/publishers/google/models/")
      != std::string::npos, "the request line is not in the log");
  std::vector<Logged> reqs = logged_requests (vtx);
  fail_unless_equals_int (reqs.size (), 1);
  fail_unless_equals_string (reqs[0].auth.c_str (), "bearer");
}
GST_END_TEST;

/* A token Vertex AI refuses: 401, an error that says tokens expire and
 * how to get another, and never the token. */
GST_START_TEST (test_vertex_wrong_token)
{
  clear_env ();
  EmulatorProcess vtx ({"--access-token", kToken});
  FullRun run;
  run_all_messages ("geminiimagesrc name=src api=vertex project=my-proj prompt=x api-endpoint=" + vtx.base_url ()
      + " ! fakesink", kWrongToken, run);
  fail_unless_equals_int (run.type, GST_MESSAGE_ERROR);
  fail_unless (run.error.find ("401") != std::string::npos, "%s", run.error.c_str ());
  fail_unless (run.error.find ("UNAUTHENTICATED") != std::string::npos, "%s", run.error.c_str ());
  fail_unless (run.error.find ("expire after about an hour") != std::string::npos, "%s", run.error.c_str ());
  fail_unless (run.error.find ("gcloud auth print-access-token") != std::string::npos, "%s", run.error.c_str ());
  fail_if (run.bus_text.find ("EXPIRED-TOKEN") != std::string::npos, "the token is in a bus message");
  /* Refused credentials are not retried. */
  fail_unless_equals_int (logged_requests (vtx).size (), 1);
}
GST_END_TEST;

/* Express mode: api=vertex with an API key and no project sends
 * x-goog-api-key to v1beta1/publishers/google/models/M:generateContent. */
GST_START_TEST (test_vertex_express_mode)
{
  clear_env ();
  EmulatorProcess vtx ({"--api-key", "express-key"});
  RunResult r;
  run_pipeline ("geminiimagesrc name=src api=vertex api-key=express-key prompt=x api-endpoint=" + vtx.base_url ()
      + " ! fakesink", r);
  expect_eos (r);
  std::vector<Logged> reqs = logged_requests (vtx);
  fail_unless_equals_int (reqs.size (), 1);
  fail_unless_equals_string (reqs[0].api.c_str (), "vertex");
  fail_unless_equals_string (reqs[0].project.c_str (), "");
  fail_unless_equals_string (reqs[0].auth.c_str (), "header");
  const std::string path = "/v1beta1/publishers/google/models/" + reqs[0].model + ":generateContent";
  fail_unless_equals_string (reqs[0].path.c_str (), path.c_str ());
}
GST_END_TEST;

/* Settings refused at READY->PAUSED, naming the property and what to do. */
GST_START_TEST (test_vertex_settings_errors)
{
  clear_env ();
  const std::string base = "geminiimagesrc prompt=x api=vertex api-endpoint=" + emu->base_url () + " ";
  expect_state_change_error (base + "project=p ! fakesink", GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_AUTHORIZED,
      "GOOGLE_OAUTH_ACCESS_TOKEN");
  expect_state_change_error (base + "! fakesink", GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_AUTHORIZED,
      "gcloud auth print-access-token");
  /* A project needs a token: a key alone is for express mode. */
  expect_state_change_error (base + "project=p api-key=k ! fakesink", GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_NOT_AUTHORIZED, "access-token");
  expect_state_change_error (base + "access-token=t ! fakesink", GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
      "needs a Google Cloud project");
  expect_state_change_error (base + "access-token=t project=my/proj ! fakesink", GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_SETTINGS, "The project \"my/proj\" is not a Google Cloud project id");
  expect_state_change_error (base + "access-token=t project=p location=us.central1 ! fakesink", GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_SETTINGS, "location property or GOOGLE_CLOUD_LOCATION");
  /* Plain http to another machine: refused, naming the token. */
  expect_state_change_error ("geminiimagesrc prompt=x api=vertex project=p access-token=t "
      "api-endpoint=http://vertex.invalid ! fakesink", GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
      "Refusing to send the access token over plain http");
}
GST_END_TEST;

/* A 404 on Vertex AI does not ask Gemini's ListModels: one request, and an
 * error that says where to look instead. */
GST_START_TEST (test_vertex_not_found_skips_list)
{
  clear_env ();
  emu->reset ();
  RunResult r;
  run_pipeline ("geminiimagesrc name=src api=vertex project=p location=asia-east1 access-token=t "
      "model=no-such-model prompt=x api-endpoint=" + emu->base_url () + " ! fakesink", r);
  expect_error (r, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND);
  expect_says (r, "was not found or your project does not have access to it");
  expect_says (r, "the model list is not read");
  expect_says (r, "asia-east1");
  std::vector<Logged> reqs = logged_requests (*emu);
  fail_unless_equals_int (reqs.size (), 1);
  fail_unless_equals_string (reqs[0].method.c_str (), "POST");
}
GST_END_TEST;

/* The cache tells the APIs and projects apart (and never keys on the
 * token): the same prompt is asked of Gemini, of Vertex AI, of another
 * project; the same again, with a new token, comes from the cache. */
GST_START_TEST (test_vertex_cache_key)
{
  clear_env ();
  emu->reset ();
  const std::string cache = tmp_path ("vertex-cache");
  const std::string common = " prompt=\"cached banana\" cache-dir=\"" + cache + "\" api-endpoint=" + emu->base_url ();
  const char *runs[] = {
    "api=gemini api-key=k",
    "api=vertex project=p1 access-token=t1",
    "api=vertex project=p2 access-token=t1",
    "api=vertex project=p1 access-token=t2",
  };
  for (const char *props : runs) {
    RunResult r;
    run_pipeline (std::string ("geminiimagesrc name=src ") + props + common + " ! fakesink", r);
    expect_eos (r);
  }
  std::vector<Logged> reqs = logged_requests (*emu);
  fail_unless_equals_int (reqs.size (), 3);
  fail_unless_equals_string (reqs[0].api.c_str (), "gemini");
  fail_unless_equals_string (reqs[1].project.c_str (), "p1");
  fail_unless_equals_string (reqs[2].project.c_str (), "p2");
}
GST_END_TEST;

/* gst-inspect-1.0 shows what a user needs to find Vertex AI. */
GST_START_TEST (test_vertex_inspect)
{
  const std::string out = inspect_text ("geminiimagesrc");
  for (const char *e : {"GstGeminiApi", "vertex", "GOOGLE_GENAI_USE_VERTEXAI", "project", "GOOGLE_CLOUD_PROJECT",
           "location", "GOOGLE_CLOUD_LOCATION", "access-token", "GOOGLE_OAUTH_ACCESS_TOKEN",
           "gcloud auth print-access-token", "aiplatform.googleapis.com"})
    fail_unless (out.find (e) != std::string::npos, "'%s' missing from gst-inspect output", e);
}
GST_END_TEST;

static Suite *
vertex_suite (void)
{
  Suite *s = suite_create ("element-vertex");
  TCase *tc = add_emulator_tcase (s, "vertex", 120);
  tcase_add_test (tc, test_vertex_regional_bearer);
  tcase_add_test (tc, test_vertex_from_environment);
  tcase_add_test (tc, test_vertex_token_never_leaks);
  tcase_add_test (tc, test_vertex_wrong_token);
  tcase_add_test (tc, test_vertex_express_mode);
  tcase_add_test (tc, test_vertex_settings_errors);
  tcase_add_test (tc, test_vertex_not_found_skips_list);
  tcase_add_test (tc, test_vertex_cache_key);
  tcase_add_test (tc, test_vertex_inspect);
  return s;
}

GST_CHECK_MAIN (vertex);

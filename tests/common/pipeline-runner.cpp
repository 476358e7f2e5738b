/* gst-gemini tests: what the geminiimagesrc suites share.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include "pipeline-runner.h"

#include <string>

#include <gst/app/gstappsink.h>
#include <gst/check/gstcheck.h>
#include <json-glib/json-glib.h>

namespace gemini::test {

/* ------------------------------------------------------------ fixture */

std::string
src_desc (const std::string & props, const std::string & endpoint)
{
  return "geminiimagesrc name=src api-endpoint=" + (endpoint.empty () ? emu->base_url () : endpoint) +
      " api-key=test-key " + props;
}

/* ------------------------------------------------------- the emulator */

void
script (const std::string & json)
{
  emu->reset ();
  emu->set_script (json);
}

guint
request_count ()
{
  JsonNode *st = emu->status ();
  guint n = guint (json_object_get_int_member (json_node_get_object (st), "requests"));
  json_node_unref (st);
  return n;
}

gint64
open_connections ()
{
  JsonNode *st = emu->status ();
  gint64 n = json_object_get_int_member (json_node_get_object (st), "open_connections");
  json_node_unref (st);
  return n;
}

bool
wait_until (const std::function<bool ()> & done, double seconds)
{
  const gint64 deadline = g_get_monotonic_time () + gint64 (seconds * test_time_scale () * G_USEC_PER_SEC);
  while (!done ()) {
    if (g_get_monotonic_time () > deadline)
      return false;
    g_usleep (5 * 1000);
  }
  return true;
}

void
wait_requests (guint n, double seconds)
{
  fail_unless (wait_until ([n] { return request_count () >= n; }, seconds), "%u request(s) expected, %u came",
      n, request_count ());
}

/* ---------------------------------------------------- running pipelines */

double
seconds_since (gint64 start_us)
{
  return (g_get_monotonic_time () - start_us) / 1e6;
}

double
ms_since (gint64 start_us)
{
  return (g_get_monotonic_time () - start_us) / 1e3;
}

RetryInfo
parse_retry (const GstStructure * s)
{
  RetryInfo r;
  GCharPtr text (gst_structure_to_string (s));
  fail_unless (gst_structure_get_uint (s, "attempt", &r.attempt), "no uint attempt: %s", text.get ());
  fail_unless (gst_structure_get_uint (s, "http-status-code", &r.status), "no uint http-status-code: %s",
      text.get ());
  fail_unless (gst_structure_get_double (s, "delay", &r.delay), "no double delay: %s", text.get ());
  const char *outcome = gst_structure_get_string (s, "outcome");
  const char *reason = gst_structure_get_string (s, "reason");
  fail_unless (outcome && reason, "no outcome/reason string: %s", text.get ());
  r.outcome = outcome;
  r.reason = reason;
  fail_unless (!r.reason.empty (), "empty reason: %s", text.get ());
  return r;
}

RunResult::~RunResult ()
{
  if (details)
    gst_structure_free (details);
  for (auto s : samples)
    gst_sample_unref (s);
  for (auto s : image_messages)
    gst_structure_free (s);
  for (auto s : retry_messages)
    gst_structure_free (s);
}

bool
RunResult::error_is (GQuark domain, gint code) const
{
  return error && g_error_matches (error.get (), domain, code);
}

std::string
RunResult::message () const
{
  return error ? error->message : "";
}

bool
RunResult::says (const char *text) const
{
  return message ().find (text) != std::string::npos;
}

const char *
RunResult::detail_string (const char *field) const
{
  const char *s = details ? gst_structure_get_string (details, field) : nullptr;
  return s ? s : "";
}

guint
RunResult::detail_uint (const char *field) const
{
  guint v = G_MAXUINT;
  fail_unless (details && gst_structure_get_uint (details, field, &v), "details lack uint %s", field);
  return v;
}

double
RunResult::detail_double (const char *field) const
{
  double v = -1;
  fail_unless (details && gst_structure_get_double (details, field, &v), "details lack double %s", field);
  return v;
}

static void
drain (GstElement * sink, RunResult & res)
{
  while (GstSample *s = gst_app_sink_try_pull_sample (GST_APP_SINK (sink), 0))
    res.samples.push_back (s);
}

/* Records one bus message; true once it ends the run. */
static bool
collect (GstMessage * msg, RunResult & res)
{
  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_EOS:
      res.type = GST_MESSAGE_EOS;
      return true;
    case GST_MESSAGE_ERROR: {
      GError *e = nullptr;
      gchar *dbg = nullptr;
      gst_message_parse_error (msg, &e, &dbg);
      res.error.reset (e);
      res.debug = dbg ? dbg : "";
      g_free (dbg);
      const GstStructure *d = nullptr;
      gst_message_parse_error_details (msg, &d);
      if (d)
        res.details = gst_structure_copy (d);
      res.type = GST_MESSAGE_ERROR;
      return true;
    }
    case GST_MESSAGE_WARNING: {
      GError *e = nullptr;
      gst_message_parse_warning (msg, &e, nullptr);
      res.warnings.push_back (e ? e->message : "");
      g_clear_error (&e);
      return false;
    }
    case GST_MESSAGE_ELEMENT: {
      const GstStructure *s = gst_message_get_structure (msg);
      if (s && gst_structure_has_name (s, "gemini-image")) {
        res.image_messages.push_back (gst_structure_copy (s));
      } else if (s && gst_structure_has_name (s, "gemini-retry")) {
        res.retries.push_back (parse_retry (s));
        res.retry_messages.push_back (gst_structure_copy (s));
      }
      return false;
    }
    default:
      return false;
  }
}

void
run_pipeline (const std::string & desc, RunResult & res, guint timeout_s, const SrcSetup & setup)
{
  GErrorPtr err;
  GstElement *pipeline = gst_parse_launch (desc.c_str (), out_error (err));
  fail_unless (pipeline != nullptr, "%s: %s", desc.c_str (), err ? err->message : "");
  if (setup) {
    GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
    fail_unless (src != nullptr);
    setup (src);
    gst_object_unref (src);
  }
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GstBus *bus = gst_element_get_bus (pipeline);

  const gint64 start = g_get_monotonic_time ();
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  const gint64 deadline = start + timeout_s * G_TIME_SPAN_SECOND;
  bool done = false;
  while (!done) {
    if (sink)
      drain (sink, res);
    if (GstMessage *msg = gst_bus_timed_pop (bus, 10 * GST_MSECOND)) {
      done = collect (msg, res);
      gst_message_unref (msg);
    }
    fail_if (g_get_monotonic_time () > deadline, "pipeline did not finish in %u s: %s", timeout_s, desc.c_str ());
  }
  res.seconds = seconds_since (start);
  if (sink) {
    drain (sink, res);
    gst_object_unref (sink);
  }
  const gint64 stop = g_get_monotonic_time ();
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  /* 500 ms in the plain build; scaled like every state-change bound under
   * sanitizers (a TLS connection torn down mid-handshake: 528 ms under ASan). */
  const double bound = 5 * state_change_bound_ms ();
  fail_unless (ms_since (stop) < bound, "NULL after %s took %.0f ms", desc.c_str (), ms_since (stop));
  gst_object_unref (bus);
  gst_object_unref (pipeline);
}

double
test_time_scale ()
{
  const char *scale = g_getenv ("GEMINI_TEST_TIME_SCALE");
  const double k = scale ? g_ascii_strtod (scale, nullptr) : 1.0;
  return k >= 1.0 ? k : 1.0;
}

double
state_change_bound_ms ()
{
  return 100.0 * test_time_scale ();
}

int
process_threads ()
{
  gchar *status = nullptr;
  if (!g_file_get_contents ("/proc/self/status", &status, nullptr, nullptr))
    return -1;
  const char *line = strstr (status, "\nThreads:");
  int n = line ? atoi (line + strlen ("\nThreads:")) : -1;
  g_free (status);
  return n;
}

bool
wait_threads_at_most (int n, double seconds)
{
  return wait_until ([n] { return process_threads () <= n; }, seconds);
}

/* -------------------------------------------------- checks on results */

void
expect_eos (const RunResult & r)
{
  fail_unless (r.type == GST_MESSAGE_EOS, "expected EOS, got an error: %s (%s %d) after %u retries",
      r.message ().c_str (), r.error ? g_quark_to_string (r.error->domain) : "-", r.error ? r.error->code : 0,
      guint (r.retries.size ()));
}

void
expect_error (const RunResult & r, GQuark domain, gint code)
{
  fail_unless (r.type == GST_MESSAGE_ERROR, "expected %s %d, got EOS", g_quark_to_string (domain), code);
  fail_unless (r.error_is (domain, code), "expected %s %d, got %s %d: %s", g_quark_to_string (domain), code,
      g_quark_to_string (r.error->domain), r.error->code, r.message ().c_str ());
}

void
expect_says (const RunResult & r, const char *text)
{
  fail_unless (r.says (text), "'%s' not in: %s", text, r.message ().c_str ());
}

double
expect_state_change_error (const std::string & desc, GQuark domain, gint code, const char *expect)
{
  GstElement *pipeline = gst_parse_launch (desc.c_str (), nullptr);
  fail_unless (pipeline != nullptr);
  GstBus *bus = gst_element_get_bus (pipeline);
  const gint64 start = g_get_monotonic_time ();
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  const double took_ms = ms_since (start);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 5 * GST_SECOND, GST_MESSAGE_ERROR);
  fail_unless (msg != nullptr, "no error for %s", desc.c_str ());
  GError *err = nullptr;
  gst_message_parse_error (msg, &err, nullptr);
  fail_unless (g_error_matches (err, domain, code), "%s: %s", desc.c_str (), err->message);
  fail_unless (strstr (err->message, expect) != nullptr, "'%s' not in '%s'", expect, err->message);
  g_error_free (err);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  return took_ms;
}

std::string
inspect_text (const char *factory)
{
  gchar *out = nullptr, *err = nullptr;
  gint status = 0;
  const gchar *argv[] = { "gst-inspect-1.0", factory, nullptr };
  fail_unless (g_spawn_sync (nullptr, (gchar **) argv, nullptr, G_SPAWN_SEARCH_PATH, nullptr, nullptr,
          &out, &err, &status, nullptr));
  fail_unless (g_spawn_check_wait_status (status, nullptr), "gst-inspect failed: %s", err);
  std::string text;
  for (const char *p = out; *p; p++) {
    if (*p == '\n') {
      while (p[1] == ' ')
        p++;
      text += ' ';
      continue;
    }
    text += *p;
  }
  g_free (out);
  g_free (err);
  return text;
}

}  // namespace gemini::test

/* geminiimagesrc: what it says about each image. The GstGeminiImageMeta
 * (from C and from Python), PROGRESS messages, cost totals and the spend
 * cap, and the tags, against the gemini-emulator.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "emulator-process.h"
#include "gemini-models.h"
#include "pipeline-runner.h"
#include "plugin/gstgeminimeta.h"

#include <gst/check/gstcheck.h>

using namespace gemini;
using namespace gemini::test;

/* ------------------------------------------------------------ helpers */

/* What the application saw, in bus order. */
struct Seen {
  std::string kind;       /* "progress", "image", "retry", "warning", "error", "eos" */
  GstProgressType progress = GST_PROGRESS_TYPE_START;
  std::string code;       /* progress code */
  std::string text;       /* progress text, warning or error message */
  guint64 index = G_MAXUINT64;   /* gemini-image */
};

static const char *
progress_name (GstProgressType t)
{
  switch (t) {
    case GST_PROGRESS_TYPE_START: return "START";
    case GST_PROGRESS_TYPE_CONTINUE: return "CONTINUE";
    case GST_PROGRESS_TYPE_COMPLETE: return "COMPLETE";
    case GST_PROGRESS_TYPE_CANCELED: return "CANCELED";
    case GST_PROGRESS_TYPE_ERROR: return "ERROR";
  }
  return "?";
}

/* One bus message into `seen`; true when it ends the run. */
static bool
note (GstMessage * msg, std::vector<Seen> & seen)
{
  Seen s;
  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_PROGRESS: {
      gchar *code = nullptr, *text = nullptr;
      gst_message_parse_progress (msg, &s.progress, &code, &text);
      s.kind = "progress";
      s.code = code;
      s.text = text;
      g_free (code);
      g_free (text);
      break;
    }
    case GST_MESSAGE_ELEMENT: {
      const GstStructure *st = gst_message_get_structure (msg);
      if (gst_structure_has_name (st, "gemini-image")) {
        s.kind = "image";
        fail_unless (gst_structure_get_uint64 (st, "index", &s.index));
      } else if (gst_structure_has_name (st, "gemini-retry")) {
        s.kind = "retry";
      } else {
        return false;
      }
      break;
    }
    case GST_MESSAGE_WARNING:
    case GST_MESSAGE_ERROR: {
      GError *e = nullptr;
      if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING)
        gst_message_parse_warning (msg, &e, nullptr);
      else
        gst_message_parse_error (msg, &e, nullptr);
      s.kind = GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING ? "warning" : "error";
      s.text = e ? e->message : "";
      g_clear_error (&e);
      break;
    }
    case GST_MESSAGE_EOS:
      s.kind = "eos";
      break;
    default:
      return false;
  }
  seen.push_back (s);
  return s.kind == "eos" || s.kind == "error";
}

/* Runs `desc` to EOS or an error and returns every message of interest. */
static std::vector<Seen>
run_seen (const std::string & desc, guint timeout_s = 60)
{
  GErrorPtr err;
  GstElement *pipeline = gst_parse_launch (desc.c_str (), out_error (err));
  fail_unless (pipeline != nullptr, "%s: %s", desc.c_str (), err ? err->message : "");
  GstBus *bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  std::vector<Seen> seen;
  const gint64 deadline = g_get_monotonic_time () + timeout_s * G_TIME_SPAN_SECOND;
  bool done = false;
  while (!done) {
    if (GstMessage *msg = gst_bus_timed_pop (bus, 20 * GST_MSECOND)) {
      done = note (msg, seen);
      gst_message_unref (msg);
    }
    fail_if (g_get_monotonic_time () > deadline, "no EOS or error in %u s: %s", timeout_s, desc.c_str ());
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  return seen;
}

static std::string
describe (const std::vector<Seen> & seen)
{
  std::string out;
  for (const Seen & s : seen) {
    out += s.kind;
    if (s.kind == "progress")
      out += std::string (" ") + progress_name (s.progress) + " " + s.code;
    else if (s.kind == "image")
      out += " " + std::to_string (s.index);
    out += "; ";
  }
  return out;
}

/* Position of the first `kind` (and progress type, code or index) at or
 * after `from`; -1 when there is none. */
static int
find_seen (const std::vector<Seen> & seen, const char *kind, int from = 0,
    GstProgressType type = GST_PROGRESS_TYPE_START, const std::string & code = "",
    guint64 index = G_MAXUINT64)
{
  for (int i = from; i < int (seen.size ()); i++) {
    const Seen & s = seen[gsize (i)];
    if (s.kind != kind)
      continue;
    if (s.kind == "progress" && (s.progress != type || s.code != code))
      continue;
    if (s.kind == "image" && index != G_MAXUINT64 && s.index != index)
      continue;
    return i;
  }
  return -1;
}

static int
count_progress (const std::vector<Seen> & seen, GstProgressType type, const std::string & code)
{
  int n = 0;
  for (const Seen & s : seen)
    if (s.kind == "progress" && s.progress == type && s.code == code)
      n++;
  return n;
}

/* The metas and tag events that went through the src pad. */
struct Probed {
  std::mutex lock;
  std::vector<GstStructure *> metas;
  guint buffers = 0;
  std::vector<GstTagList *> tags;
  ~Probed ()
  {
    for (GstStructure *s : metas)
      gst_structure_free (s);
    for (GstTagList *t : tags)
      gst_tag_list_unref (t);
  }
};

static GstPadProbeReturn
probe_src (GstPad *, GstPadProbeInfo * info, gpointer data)
{
  auto probed = static_cast<Probed *> (data);
  std::lock_guard<std::mutex> lk (probed->lock);
  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_BUFFER) {
    probed->buffers++;
    /* The public header's getter, as an application uses it. */
    if (const GstStructure *s = gst_buffer_get_gemini_image_meta (GST_PAD_PROBE_INFO_BUFFER (info)))
      probed->metas.push_back (gst_structure_copy (s));
  } else if (GstEvent *ev = GST_PAD_PROBE_INFO_EVENT (info); ev && GST_EVENT_TYPE (ev) == GST_EVENT_TAG) {
    GstTagList *t = nullptr;
    gst_event_parse_tag (ev, &t);
    probed->tags.push_back (gst_tag_list_ref (t));
  }
  return GST_PAD_PROBE_OK;
}

static void
expect_string_field (const GstStructure * a, const GstStructure * b, const char *field)
{
  const char *x = gst_structure_get_string (a, field);
  const char *y = gst_structure_get_string (b, field);
  fail_unless (x && y, "%s missing", field);
  fail_unless_equals_string (x, y);
}

static void
expect_int64_field (const GstStructure * a, const GstStructure * b, const char *field)
{
  gint64 x = -2, y = -3;
  fail_unless (gst_structure_get_int64 (a, field, &x) && gst_structure_get_int64 (b, field, &y), "%s missing", field);
  fail_unless_equals_int64 (x, y);
}

static gboolean
get_bool (const GstStructure * s, const char *field)
{
  gboolean v = FALSE;
  fail_unless (gst_structure_get_boolean (s, field, &v), "%s missing", field);
  return v;
}

/* ------------------------------------------------------------------ tests */

GST_START_TEST (test_meta_from_pad_probe)
{
  emu->reset ();
  const char *prompt = "a lighthouse at dusk";
  Probed probed;
  RunResult r;
  /* videoconvert and videoscale keep it (the meta has no tags). */
  run_pipeline (src_desc (std::string ("prompt=\"") + prompt + "\" num-images=2 max-in-flight=1") +
      " ! videoconvert ! videoscale ! video/x-raw,width=128,height=128 ! appsink name=sink", r, 60,
      [&probed] (GstElement * src) {
        GstPad *pad = gst_element_get_static_pad (src, "src");
        gst_pad_add_probe (pad, (GstPadProbeType) (GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
            probe_src, &probed, nullptr);
        gst_object_unref (pad);
      });
  expect_eos (r);
  fail_unless_equals_int (probed.buffers, 2);
  fail_unless_equals_int (probed.metas.size (), 2);
  fail_unless_equals_int (r.image_messages.size (), 2);
  fail_unless_equals_int (r.samples.size (), 2);

  const ModelChoice model = resolve_model ("nano-banana");
  for (guint i = 0; i < 2; i++) {
    const GstStructure *meta = probed.metas[i];
    const GstStructure *msg = r.image_messages[i];
    guint64 index = 99;
    fail_unless (gst_structure_get_uint64 (meta, GST_GEMINI_IMAGE_META_INDEX, &index));
    fail_unless_equals_uint64 (index, i);
    fail_unless_equals_string (gst_structure_get_string (meta, GST_GEMINI_IMAGE_META_PROMPT), prompt);
    /* The emulator answers modelVersion = the model id it was asked for. */
    fail_unless_equals_string (gst_structure_get_string (meta, GST_GEMINI_IMAGE_META_MODEL), model.id.c_str ());
    fail_unless_equals_string (gst_structure_get_string (meta, GST_GEMINI_IMAGE_META_MODEL_VERSION), model.id.c_str ());
    /* Its responseId: 23 URL-safe characters. */
    fail_unless_equals_int (strlen (gst_structure_get_string (meta, GST_GEMINI_IMAGE_META_RESPONSE_ID)), 23);
    fail_unless_equals_string (gst_structure_get_string (meta, GST_GEMINI_IMAGE_META_FINISH_REASON), "STOP");
    fail_unless_equals_string (gst_structure_get_string (meta, GST_GEMINI_IMAGE_META_MIME_TYPE), "image/jpeg");
    for (const char *f : {GST_GEMINI_IMAGE_META_RESPONSE_ID, GST_GEMINI_IMAGE_META_MODEL_VERSION,
             GST_GEMINI_IMAGE_META_PROMPT, GST_GEMINI_IMAGE_META_FINISH_REASON, GST_GEMINI_IMAGE_META_MODEL_TEXT})
      expect_string_field (meta, msg, f);
    for (const char *f : {GST_GEMINI_IMAGE_META_PROMPT_TOKENS, GST_GEMINI_IMAGE_META_CANDIDATES_TOKENS,
             GST_GEMINI_IMAGE_META_THOUGHTS_TOKENS, GST_GEMINI_IMAGE_META_TOTAL_TOKENS})
      expect_int64_field (meta, msg, f);
    gint64 total = 0;
    fail_unless (gst_structure_get_int64 (meta, GST_GEMINI_IMAGE_META_TOTAL_TOKENS, &total));
    fail_unless (total > 0);
    guint attempts = 0;
    fail_unless (gst_structure_get_uint (meta, GST_GEMINI_IMAGE_META_ATTEMPTS, &attempts));
    fail_unless_equals_int (attempts, 1);
    gint w = 0, h = 0;
    fail_unless (gst_structure_get_int (meta, GST_GEMINI_IMAGE_META_WIDTH, &w));
    fail_unless (gst_structure_get_int (meta, GST_GEMINI_IMAGE_META_HEIGHT, &h));
    fail_unless_equals_int (w, 1024);
    fail_unless_equals_int (h, 1024);
    double elapsed = -1;
    fail_unless (gst_structure_get_double (meta, GST_GEMINI_IMAGE_META_ELAPSED, &elapsed));
    fail_unless (elapsed > 0);
    fail_unless (get_bool (meta, GST_GEMINI_IMAGE_META_AI_GENERATED));
    fail_if (get_bool (meta, GST_GEMINI_IMAGE_META_EDITED));
    fail_if (get_bool (meta, GST_GEMINI_IMAGE_META_PREVIEW));
    fail_if (get_bool (meta, GST_GEMINI_IMAGE_META_FROM_CACHE));

    /* Downstream of videoconvert and videoscale, the same meta. */
    const GstStructure *after = gst_buffer_get_gemini_image_meta (gst_sample_get_buffer (r.samples[i]));
    fail_unless (after != nullptr, "the meta did not survive videoconvert ! videoscale");
    expect_string_field (meta, after, GST_GEMINI_IMAGE_META_RESPONSE_ID);
  }

  /* A tag event before each image: title, comment, model, IPTC source type. */
  fail_unless (probed.tags.size () >= 2, "%u tag events", guint (probed.tags.size ()));
  const GstTagList *tags = probed.tags.back ();
  fail_unless_equals_int (gst_tag_list_get_scope (tags), GST_TAG_SCOPE_STREAM);
  gchar *v = nullptr;
  fail_unless (gst_tag_list_get_string (tags, GST_TAG_TITLE, &v));
  fail_unless_equals_string (v, prompt);
  g_free (v);
  fail_unless (gst_tag_list_get_string (tags, GST_TAG_COMMENT, &v));
  const std::string comment = std::string ("AI-generated by Google Gemini model ") + model.id + ".";
  fail_unless_equals_string (v, comment.c_str ());
  g_free (v);
  fail_unless (gst_tag_list_get_string (tags, GST_TAG_ENCODER, &v));
  fail_unless_equals_string (v, model.id.c_str ());
  g_free (v);
  fail_unless (gst_tag_list_get_string (tags, GST_GEMINI_TAG_DIGITAL_SOURCE_TYPE, &v));
  fail_unless_equals_string (v, GST_GEMINI_IPTC_TRAINED_ALGORITHMIC_MEDIA);
  g_free (v);
  fail_unless (gst_tag_list_get_string (tags, GST_TAG_KEYWORDS, &v));
  fail_unless_equals_string (v, "trainedAlgorithmicMedia");
  g_free (v);
}
GST_END_TEST;

/* A reference image makes it an edit: composite with generated media. */
GST_START_TEST (test_meta_edited)
{
  emu->reset ();
  const std::string ref = tmp_path ("ref.png");
  RunResult made;
  run_pipeline ("videotestsrc num-buffers=1 ! video/x-raw,format=RGB,width=64,height=48 ! pngenc ! "
      "filesink location=\"" + ref + "\"", made);
  expect_eos (made);
  Probed probed;
  RunResult r;
  run_pipeline (src_desc ("prompt=\"make it night\" reference-images=\"" + ref + "\"") + " ! fakesink", r, 60,
      [&probed] (GstElement * src) {
        GstPad *pad = gst_element_get_static_pad (src, "src");
        gst_pad_add_probe (pad, (GstPadProbeType) (GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
            probe_src, &probed, nullptr);
        gst_object_unref (pad);
      });
  expect_eos (r);
  fail_unless_equals_int (probed.metas.size (), 1);
  fail_unless (get_bool (probed.metas[0], GST_GEMINI_IMAGE_META_EDITED));
  fail_unless (get_bool (r.image_messages[0], GST_GEMINI_IMAGE_META_EDITED));
  fail_unless (!probed.tags.empty ());
  gchar *v = nullptr;
  fail_unless (gst_tag_list_get_string (probed.tags.back (), GST_GEMINI_TAG_DIGITAL_SOURCE_TYPE, &v));
  fail_unless_equals_string (v, GST_GEMINI_IPTC_COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA);
  g_free (v);
}
GST_END_TEST;

/* Live: the frames that repeat an image are copies of its buffer, with its
 * meta. */
GST_START_TEST (test_meta_on_repeated_live_frames)
{
  emu->reset ();
  RunResult r;
  run_pipeline (src_desc ("prompt=\"a live banana\" is-live=true framerate=20/1 num-buffers=6") +
      " ! appsink name=sink sync=false", r);
  expect_eos (r);
  fail_unless_equals_int (r.samples.size (), 6);
  for (GstSample *sample : r.samples) {
    const GstStructure *meta = gst_buffer_get_gemini_image_meta (gst_sample_get_buffer (sample));
    fail_unless (meta != nullptr);
    guint64 index = 99;
    fail_unless (gst_structure_get_uint64 (meta, GST_GEMINI_IMAGE_META_INDEX, &index));
    fail_unless_equals_uint64 (index, 0);
    fail_unless_equals_string (gst_structure_get_string (meta, GST_GEMINI_IMAGE_META_PROMPT), "a live banana");
  }
}
GST_END_TEST;

/* The meta read from Python, as docs/geminiimagesrc.md shows it. */
GST_START_TEST (test_meta_from_python)
{
  emu->reset ();
  const char *srcdir = g_getenv ("GEMINI_TEST_SRCDIR");
  fail_unless (srcdir != nullptr);
  const std::string script = std::string (srcdir) + "/element/read-meta.py";
  const std::string desc = src_desc ("prompt=\"a python in a hat\"") + " ! videoconvert ! appsink name=sink";
  /* Debian's python3: PyGObject is a system package (the pyenv one on
   * PATH has no gi). The sanitizer stage names a wrapper that preloads
   * the ASan runtime the plugin needs there. */
  const char *python = g_getenv ("GEMINI_TEST_PYTHON");
  const gchar *argv[] = {python && *python ? python : "/usr/bin/python3", script.c_str (), desc.c_str (), nullptr};
  gchar *out = nullptr, *err = nullptr;
  gint status = -1;
  GError *error = nullptr;
  fail_unless (g_spawn_sync (nullptr, (gchar **) argv, nullptr, G_SPAWN_DEFAULT, nullptr, nullptr,
          &out, &err, &status, &error), "%s", error ? error->message : "");
  std::string text = out ? out : "";
  std::string errors = err ? err : "";
  g_free (out);
  g_free (err);
  fail_unless (g_spawn_check_wait_status (status, nullptr), "read-meta.py failed: %s%s", text.c_str (), errors.c_str ());

  std::map<std::string, std::string> fields;
  gchar **lines = g_strsplit (text.c_str (), "\n", -1);
  guint frames = 0;
  for (gchar **l = lines; *l; l++) {
    if (g_str_has_prefix (*l, "frame "))
      frames++;
    else if (const char *eq = strchr (*l, '='))
      fields[std::string (*l, gsize (eq - *l))] = eq + 1;
  }
  g_strfreev (lines);
  fail_unless_equals_int (frames, 1);
  fail_unless (text.find ("\neos") != std::string::npos, "%s", text.c_str ());
  const ModelChoice model = resolve_model ("nano-banana");
  fail_unless_equals_string (fields["prompt"].c_str (), "a python in a hat");
  fail_unless_equals_string (fields["model-version"].c_str (), model.id.c_str ());
  fail_unless_equals_int (fields["response-id"].size (), 23);
  fail_unless_equals_string (fields["ai-generated"].c_str (), "True");
  fail_unless_equals_string (fields["edited"].c_str (), "False");
  fail_unless_equals_string (fields["width"].c_str (), "1024");
  fail_unless (g_ascii_strtoll (fields["total-tokens"].c_str (), nullptr, 10) > 0, "%s", text.c_str ());
}
GST_END_TEST;

/* START before the image's message before COMPLETE; a 503 retried is a
 * CONTINUE. */
GST_START_TEST (test_progress_in_order)
{
  script (R"({"steps":[{"do":"error","status":503,"retry_delay":"0s"},{"do":"image"},{"do":"image"}]})");
  const std::vector<Seen> seen = run_seen (src_desc ("prompt=\"a tram\" num-images=2 max-in-flight=1 "
          "retry-backoff=0.01") + " ! fakesink");
  const std::string all = describe (seen);
  fail_unless_equals_string (seen.back ().kind.c_str (), "eos");
  for (guint64 i = 0; i < 2; i++) {
    const std::string code = "image-" + std::to_string (i);
    /* COMPLETE when the answer is in: the image's message, from the
     * streaming thread, may come before or after it. */
    const int start = find_seen (seen, "progress", 0, GST_PROGRESS_TYPE_START, code);
    const int image = find_seen (seen, "image", 0, GST_PROGRESS_TYPE_START, "", i);
    const int complete = find_seen (seen, "progress", 0, GST_PROGRESS_TYPE_COMPLETE, code);
    fail_unless (start >= 0 && image > start && complete > start, "%s: %s", code.c_str (), all.c_str ());
    fail_unless_equals_int (count_progress (seen, GST_PROGRESS_TYPE_START, code), 1);
    fail_unless_equals_int (count_progress (seen, GST_PROGRESS_TYPE_COMPLETE, code), 1);
    fail_unless_equals_int (count_progress (seen, GST_PROGRESS_TYPE_ERROR, code), 0);
  }
  const int cont = find_seen (seen, "progress", 0, GST_PROGRESS_TYPE_CONTINUE, "image-0");
  fail_unless (cont > find_seen (seen, "progress", 0, GST_PROGRESS_TYPE_START, "image-0")
      && cont < find_seen (seen, "progress", 0, GST_PROGRESS_TYPE_COMPLETE, "image-0"), "%s", all.c_str ());
  fail_unless_equals_int (count_progress (seen, GST_PROGRESS_TYPE_CONTINUE, "image-0"), 1);
  fail_unless_equals_int (count_progress (seen, GST_PROGRESS_TYPE_CONTINUE, "image-1"), 0);
  fail_unless (seen[gsize (cont)].text.find ("retrying") != std::string::npos, "%s", seen[gsize (cont)].text.c_str ());
}
GST_END_TEST;

/* on-error=skip: the failed image's progress ends in ERROR, the next goes on. */
GST_START_TEST (test_progress_error)
{
  script (R"([{"do":"error","status":400},{"do":"image"}])");
  const std::vector<Seen> seen = run_seen (src_desc ("prompt=\"a tram\" num-images=2 max-in-flight=1 "
          "on-error=skip") + " ! fakesink");
  const std::string all = describe (seen);
  fail_unless_equals_string (seen.back ().kind.c_str (), "eos");
  const int start = find_seen (seen, "progress", 0, GST_PROGRESS_TYPE_START, "image-0");
  const int error = find_seen (seen, "progress", 0, GST_PROGRESS_TYPE_ERROR, "image-0");
  fail_unless (start >= 0 && error > start, "%s", all.c_str ());
  fail_unless_equals_int (count_progress (seen, GST_PROGRESS_TYPE_COMPLETE, "image-0"), 0);
  fail_unless (find_seen (seen, "warning") > start, "%s", all.c_str ());
  fail_unless (find_seen (seen, "progress", 0, GST_PROGRESS_TYPE_COMPLETE, "image-1") > 0, "%s", all.c_str ());
}
GST_END_TEST;

/* A state change during a request: CANCELED. */
GST_START_TEST (test_progress_canceled)
{
  script (R"([{"do":"image","delay_ms":30000}])");
  GstElement *pipeline = gst_parse_launch ((src_desc ("prompt=\"slow\"") + " ! fakesink").c_str (), nullptr);
  fail_unless (pipeline != nullptr);
  GstBus *bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  wait_requests (1);
  /* READY, not NULL: a bin in NULL flushes its bus. */
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  std::vector<Seen> seen;
  while (GstMessage *msg = gst_bus_pop (bus)) {
    note (msg, seen);
    gst_message_unref (msg);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  const std::string all = describe (seen);
  const int start = find_seen (seen, "progress", 0, GST_PROGRESS_TYPE_START, "image-0");
  const int canceled = find_seen (seen, "progress", 0, GST_PROGRESS_TYPE_CANCELED, "image-0");
  fail_unless (start >= 0 && canceled > start, "%s", all.c_str ());
  fail_unless_equals_int (count_progress (seen, GST_PROGRESS_TYPE_CANCELED, "image-0"), 1);
  fail_unless_equals_int (count_progress (seen, GST_PROGRESS_TYPE_COMPLETE, "image-0"), 0);
}
GST_END_TEST;

/* A flush during a request: CANCELED, and the image starts again after it. */
GST_START_TEST (test_progress_canceled_by_flush)
{
  script (R"({"steps":[{"do":"image","delay_ms":30000},{"do":"image"}]})");
  GstElement *pipeline = gst_parse_launch ((src_desc ("prompt=\"slow\"") + " ! fakesink").c_str (), nullptr);
  fail_unless (pipeline != nullptr);
  GstBus *bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  wait_requests (1);
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  GstPad *pad = gst_element_get_static_pad (src, "src");
  fail_unless (gst_pad_send_event (pad, gst_event_new_flush_start ()));
  fail_unless (gst_pad_send_event (pad, gst_event_new_flush_stop (TRUE)));
  gst_object_unref (pad);
  gst_object_unref (src);
  std::vector<Seen> seen;
  const gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;
  bool done = false;
  while (!done && g_get_monotonic_time () < deadline) {
    if (GstMessage *msg = gst_bus_timed_pop (bus, 20 * GST_MSECOND)) {
      done = note (msg, seen);
      gst_message_unref (msg);
    }
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  const std::string all = describe (seen);
  fail_unless (done, "no EOS: %s", all.c_str ());
  const int start = find_seen (seen, "progress", 0, GST_PROGRESS_TYPE_START, "image-0");
  const int canceled = find_seen (seen, "progress", 0, GST_PROGRESS_TYPE_CANCELED, "image-0");
  const int again = find_seen (seen, "progress", canceled + 1, GST_PROGRESS_TYPE_START, "image-0");
  const int complete = find_seen (seen, "progress", 0, GST_PROGRESS_TYPE_COMPLETE, "image-0");
  fail_unless (start >= 0 && canceled > start && again > canceled && complete > again, "%s", all.c_str ());
  fail_unless_equals_string (seen.back ().kind.c_str (), "eos");
}
GST_END_TEST;

static double
field_double (const GstStructure * s, const char *field)
{
  double v = -1;
  fail_unless (gst_structure_get_double (s, field, &v), "%s missing", field);
  return v;
}

/* Totals in the messages, at the catalogue's price; cache hits cost nothing. */
GST_START_TEST (test_cost_totals)
{
  emu->reset ();
  const std::string cache = tmp_path ("cache");
  const std::string desc = src_desc ("prompt=\"a fixed seed\" seed=7 num-images=2 max-in-flight=1 cache-dir=\""
      + cache + "\"") + " ! fakesink";
  const ModelChoice model = resolve_model ("nano-banana");
  const double price = model.spec->price_usd[1];   /* 1K, its default size */
  RunResult r;
  run_pipeline (desc, r);
  expect_eos (r);
  fail_unless_equals_int (r.image_messages.size (), 2);
  fail_unless (std::abs (field_double (r.image_messages[0], "estimated-cost") - price) < 1e-9);
  fail_unless (std::abs (field_double (r.image_messages[1], "estimated-cost-so-far") - 2 * price) < 1e-9);
  gint64 t0 = 0, t1 = 0, so_far = 0;
  fail_unless (gst_structure_get_int64 (r.image_messages[0], "total-tokens", &t0));
  fail_unless (gst_structure_get_int64 (r.image_messages[1], "total-tokens", &t1));
  fail_unless (gst_structure_get_int64 (r.image_messages[1], "total-tokens-so-far", &so_far));
  fail_unless_equals_int64 (so_far, t0 + t1);

  /* Again: both from the cache, at no cost. */
  RunResult again;
  run_pipeline (desc, again);
  expect_eos (again);
  fail_unless_equals_int (again.image_messages.size (), 2);
  fail_unless (get_bool (again.image_messages[1], GST_GEMINI_IMAGE_META_FROM_CACHE));
  fail_unless_equals_float (field_double (again.image_messages[1], "estimated-cost-so-far"), 0.0);
  fail_unless (gst_structure_get_int64 (again.image_messages[1], "total-tokens-so-far", &so_far));
  fail_unless_equals_int64 (so_far, 0);
}
GST_END_TEST;

/* The properties, read after the stream. */
GST_START_TEST (test_cost_properties)
{
  emu->reset ();
  GstElement *pipeline = gst_parse_launch ((src_desc ("prompt=\"x\" num-images=3 price-per-image=0.5") +
          " ! fakesink").c_str (), nullptr);
  fail_unless (pipeline != nullptr);
  GstBus *bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 30 * GST_SECOND,
      (GstMessageType) (GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS);
  gst_message_unref (msg);
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  double cost = 0;
  gint64 tokens = 0;
  g_object_get (src, "estimated-cost", &cost, "total-tokens", &tokens, nullptr);
  fail_unless_equals_float (cost, 1.5);
  fail_unless (tokens > 0);
  gst_object_unref (src);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
}
GST_END_TEST;

/* price 0.04, cap 0.10: the third image would pass it. */
GST_START_TEST (test_max_cost_error)
{
  for (const char *in_flight : {"1", "4"}) {
    emu->reset ();
    RunResult r;
    run_pipeline (src_desc (std::string ("prompt=\"coins\" num-images=5 price-per-image=0.04 max-cost=0.1 "
                "max-in-flight=") + in_flight) + " ! appsink name=sink", r);
    expect_error (r, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_FAILED);
    fail_unless_equals_int (r.samples.size (), 2);
    fail_unless_equals_int (r.image_messages.size (), 2);
    /* Requests never started for the images over the cap. */
    fail_unless_equals_int (request_count (), 2);
    expect_says (r, "max-cost=$0.10");
    expect_says (r, "$0.08 spent on 2 images");
    expect_says (r, "$0.04 (price-per-image)");
    fail_unless_equals_string (r.detail_string ("outcome"), "max-cost");
    fail_unless (std::abs (field_double (r.image_messages[1], "estimated-cost-so-far") - 0.08) < 1e-9);
  }
}
GST_END_TEST;

GST_START_TEST (test_max_cost_skip)
{
  emu->reset ();
  RunResult r;
  run_pipeline (src_desc ("prompt=\"coins\" num-images=5 price-per-image=0.04 max-cost=0.1 max-in-flight=1 "
          "max-cost-action=skip") + " ! appsink name=sink", r);
  expect_eos (r);
  fail_unless_equals_int (r.samples.size (), 2);
  fail_unless_equals_int (r.warnings.size (), 1);
  fail_unless (r.warnings[0].find ("max-cost") != std::string::npos, "%s", r.warnings[0].c_str ());
}
GST_END_TEST;

/* A cap with no price to check it against: stopped, and told why. */
GST_START_TEST (test_max_cost_unknown_price)
{
  emu->reset ();
  RunResult r;
  /* The default model has no list price at 2K. */
  run_pipeline (src_desc ("prompt=\"coins\" image-size=2K max-cost=1") + " ! fakesink", r);
  expect_error (r, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_FAILED);
  expect_says (r, "price-per-image");
  fail_unless_equals_int (request_count (), 0);
}
GST_END_TEST;

/* The title and comment survive a Matroska file. */
GST_START_TEST (test_tags_in_matroska)
{
  emu->reset ();
  const std::string file = tmp_path ("tagged.mkv");
  const char *prompt = "a red kite over hills";
  RunResult w;
  run_pipeline (src_desc (std::string ("prompt=\"") + prompt + "\"") +
      " ! videoconvert ! jpegenc ! matroskamux ! filesink location=\"" + file + "\"", w);
  expect_eos (w);

  GstElement *pipeline = gst_parse_launch (("filesrc location=\"" + file + "\" ! matroskademux ! fakesink").c_str (),
      nullptr);
  fail_unless (pipeline != nullptr);
  GstBus *bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  std::string title, comment;
  for (;;) {
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
        (GstMessageType) (GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_TAG));
    fail_unless (msg != nullptr);
    if (GST_MESSAGE_TYPE (msg) != GST_MESSAGE_TAG) {
      fail_unless (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS);
      gst_message_unref (msg);
      break;
    }
    GstTagList *tags = nullptr;
    gst_message_parse_tag (msg, &tags);
    gchar *v = nullptr;
    if (gst_tag_list_get_string (tags, GST_TAG_TITLE, &v))
      title = v;
    g_free (v);
    v = nullptr;
    if (gst_tag_list_get_string (tags, GST_TAG_COMMENT, &v))
      comment = v;
    g_free (v);
    gst_tag_list_unref (tags);
    gst_message_unref (msg);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  fail_unless_equals_string (title.c_str (), prompt);
  fail_unless (comment.find ("AI-generated by Google Gemini model") != std::string::npos, "comment: %s",
      comment.c_str ());
}
GST_END_TEST;

static Suite *
meta_suite (void)
{
  Suite *s = suite_create ("geminiimagesrc-meta");
  TCase *tc = add_emulator_tcase (s, "meta", 240);
  tcase_add_test (tc, test_meta_from_pad_probe);
  tcase_add_test (tc, test_meta_edited);
  tcase_add_test (tc, test_meta_on_repeated_live_frames);
  tcase_add_test (tc, test_meta_from_python);
  tcase_add_test (tc, test_progress_in_order);
  tcase_add_test (tc, test_progress_error);
  tcase_add_test (tc, test_progress_canceled);
  tcase_add_test (tc, test_progress_canceled_by_flush);
  tcase_add_test (tc, test_cost_totals);
  tcase_add_test (tc, test_cost_properties);
  tcase_add_test (tc, test_max_cost_error);
  tcase_add_test (tc, test_max_cost_skip);
  tcase_add_test (tc, test_max_cost_unknown_price);
  tcase_add_test (tc, test_tags_in_matroska);
  return s;
}

GST_CHECK_MAIN (meta);

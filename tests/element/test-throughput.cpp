/* geminiimagesrc throughput against the gemini-emulator, through real
 * pipelines: prompt-file batches, seed + i, images in flight and their
 * output order, the reorder cap, hedged requests and their budget, the
 * rate limiter shared by elements (and scoped by a GstContext), the
 * response cache, and EOS, state changes and flushes with many requests in
 * flight.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "emulator-image.h"
#include "emulator-process.h"
#include "gemini-ratelimit.h"
#include "glib-raii.h"
#include "image-check.h"
#include "pipeline-runner.h"

#include <glib/gstdio.h>
#include <unistd.h>

#include <gst/check/gstcheck.h>
#include <gst/video/video.h>
#include <json-glib/json-glib.h>

using namespace gemini;
using namespace gemini::test;

/* The default model answers in JPEG: flat colours come back within a few
 * levels. */
static const int kJpegTolerance = 6;

/* ------------------------------------------------- the emulator's side */

/* One generateContent request as the emulator logged it. */
struct Req {
  std::string prompt;             /* the text parts of the user contents */
  std::string model;
  std::string answer;
  guint status = 0;
  gint64 received_us = 0;
  std::string aspect_ratio, image_size;
  std::optional<gint64> seed;
  std::optional<double> temperature;
  std::optional<std::string> system_instruction;
};

static std::string
prompt_of (JsonObject * body)
{
  std::string prompt;
  if (!body || !json_object_has_member (body, "contents"))
    return prompt;
  JsonArray *contents = json_object_get_array_member (body, "contents");
  for (guint c = 0; c < json_array_get_length (contents); c++) {
    JsonObject *content = json_array_get_object_element (contents, c);
    const char *role = json_object_get_string_member_with_default (content, "role", "user");
    if (!g_str_equal (role, "user") || !json_object_has_member (content, "parts"))
      continue;
    JsonArray *parts = json_object_get_array_member (content, "parts");
    for (guint p = 0; p < json_array_get_length (parts); p++) {
      JsonObject *part = json_array_get_object_element (parts, p);
      if (json_object_has_member (part, "text"))
        prompt += (prompt.empty () ? "" : "\n") + std::string (json_object_get_string_member (part, "text"));
    }
  }
  return prompt;
}

/* The generateContent requests since the last reset, oldest first. */
static std::vector<Req>
requests ()
{
  JsonNode *root = emu->requests ();
  fail_unless (root && JSON_NODE_HOLDS_ARRAY (root));
  std::vector<Req> out;
  JsonArray *a = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (a); i++) {
    JsonObject *o = json_array_get_object_element (a, i);
    if (!strstr (json_object_get_string_member (o, "path"), ":generateContent"))
      continue;
    Req r;
    r.model = json_object_get_string_member (o, "model");
    r.answer = json_object_get_string_member (o, "answer");
    r.status = guint (json_object_get_int_member (o, "status"));
    r.received_us = json_object_get_int_member (o, "received_us");
    r.aspect_ratio = json_object_get_string_member_with_default (o, "aspect_ratio", "");
    r.image_size = json_object_get_string_member_with_default (o, "image_size", "");
    JsonNode *body_node = json_object_get_member (o, "body");
    JsonObject *body = body_node && JSON_NODE_HOLDS_OBJECT (body_node) ? json_node_get_object (body_node) : nullptr;
    r.prompt = prompt_of (body);
    if (body && json_object_has_member (body, "generationConfig")) {
      JsonObject *config = json_object_get_object_member (body, "generationConfig");
      if (json_object_has_member (config, "seed"))
        r.seed = json_object_get_int_member (config, "seed");
      if (json_object_has_member (config, "temperature"))
        r.temperature = json_object_get_double_member (config, "temperature");
    }
    if (body && json_object_has_member (body, "systemInstruction")) {
      JsonObject *si = json_object_get_object_member (body, "systemInstruction");
      JsonArray *parts = json_object_get_array_member (si, "parts");
      if (parts && json_array_get_length (parts) > 0)
        r.system_instruction = json_object_get_string_member (json_array_get_object_element (parts, 0), "text");
    }
    out.push_back (std::move (r));
  }
  json_node_unref (root);
  return out;
}

/* The request of `prompt`; fails unless there is exactly one. */
static Req
request_of (const std::vector<Req> & reqs, const std::string & prompt)
{
  const Req *found = nullptr;
  guint n = 0;
  for (const Req & r : reqs)
    if (r.prompt == prompt) {
      found = &r;
      n++;
    }
  fail_unless (n == 1, "%u requests with the prompt \"%s\"", n, prompt.c_str ());
  return *found;
}

static std::string
describe_arrivals (const std::vector<Req> & reqs)
{
  std::string out;
  const gint64 t0 = reqs.empty () ? 0 : reqs.front ().received_us;
  for (const Req & r : reqs)
    out += r.prompt + "@" + std::to_string ((r.received_us - t0) / 1000) + "ms(" + r.answer + ") ";
  return out;
}

/* The arrivals, sorted by time. */
static std::vector<Req>
by_arrival (std::vector<Req> reqs)
{
  std::sort (reqs.begin (), reqs.end (), [] (const Req & a, const Req & b) { return a.received_us < b.received_us; });
  return reqs;
}

static double
min_gap_s (const std::vector<Req> & sorted)
{
  double gap = 1e9;
  for (gsize i = 1; i < sorted.size (); i++)
    gap = std::min (gap, (sorted[i].received_us - sorted[i - 1].received_us) / 1e6);
  return gap;
}

/* -------------------------------------------------- what comes out */

/* A frame as it left the element (a probe on its src pad). */
struct Frame {
  GstClockTime pts = GST_CLOCK_TIME_NONE;
  GstClockTime duration = GST_CLOCK_TIME_NONE;
  int width = 0, height = 0;
  guint8 rgb[3] = {0, 0, 0};     /* the top-left pixel: the prompt's colour */
  std::string bytes;             /* the whole frame, when asked for */
};

struct FrameLog {
  std::mutex lock;
  std::vector<Frame> frames;
  bool keep_bytes = false;
  std::atomic<guint> count {0};

  std::vector<Frame> snapshot ()
  {
    std::lock_guard<std::mutex> lk (lock);
    return frames;
  }
};

static GstPadProbeReturn
frame_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  auto *log = static_cast<FrameLog *> (data);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  Frame f;
  f.pts = GST_BUFFER_PTS (buf);
  f.duration = GST_BUFFER_DURATION (buf);
  GstCaps *caps = gst_pad_get_current_caps (pad);
  GstVideoInfo vi;
  bool rgb = false;
  if (caps && gst_video_info_from_caps (&vi, caps)) {
    f.width = GST_VIDEO_INFO_WIDTH (&vi);
    f.height = GST_VIDEO_INFO_HEIGHT (&vi);
    rgb = GST_VIDEO_INFO_FORMAT (&vi) == GST_VIDEO_FORMAT_RGB;
  }
  if (caps)
    gst_caps_unref (caps);
  GstMapInfo map;
  if (gst_buffer_map (buf, &map, GST_MAP_READ)) {
    if (rgb && map.size >= 3)
      memcpy (f.rgb, map.data, 3);
    if (log->keep_bytes)
      f.bytes.assign (reinterpret_cast<const char *> (map.data), map.size);
    gst_buffer_unmap (buf, &map);
  }
  {
    std::lock_guard<std::mutex> lk (log->lock);
    log->frames.push_back (std::move (f));
  }
  log->count++;
  return GST_PAD_PROBE_OK;
}

static void
watch_frames (GstElement * src, FrameLog * log)
{
  GstPad *pad = gst_element_get_static_pad (src, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, frame_probe, log, nullptr);
  gst_object_unref (pad);
}

/* RGB frames (so that the top-left pixel can be read) to a fakesink. */
static const char *kRgbSink = " ! video/x-raw,format=RGB ! fakesink sync=false";

static guint64
msg_index (const GstStructure * s)
{
  guint64 index = G_MAXUINT64;
  GCharPtr text (gst_structure_to_string (s));
  fail_unless (gst_structure_get_uint64 (s, "index", &index), "no guint64 index: %s", text.get ());
  return index;
}

static bool
msg_bool (const GstStructure * s, const char *field)
{
  gboolean v = FALSE;
  GCharPtr text (gst_structure_to_string (s));
  fail_unless (gst_structure_get_boolean (s, field, &v), "no boolean %s: %s", field, text.get ());
  return v;
}

static guint64
msg_u64 (const GstStructure * s, const char *field)
{
  guint64 v = G_MAXUINT64;
  GCharPtr text (gst_structure_to_string (s));
  fail_unless (gst_structure_get_uint64 (s, field, &v), "no guint64 %s: %s", field, text.get ());
  return v;
}

static std::vector<guint64>
indices (const RunResult & r)
{
  std::vector<guint64> out;
  for (const GstStructure *s : r.image_messages)
    out.push_back (msg_index (s));
  return out;
}

static std::string
join (const std::vector<guint64> & v)
{
  std::string out;
  for (guint64 x : v)
    out += (out.empty () ? "" : ",") + std::to_string (x);
  return out;
}

/* The gemini-image messages' indices, in the order they were posted. */
static void
expect_indices (const RunResult & r, const char *want)
{
  const std::string got = join (indices (r));
  fail_unless (got == want, "gemini-image indices %s, expected %s", got.c_str (), want);
}

/* Frame i has PTS i x `step` and duration `step`. */
static void
expect_pts_sequence (const std::vector<Frame> & frames, guint n, GstClockTime step = GST_SECOND)
{
  fail_unless_equals_int (frames.size (), n);
  for (guint i = 0; i < n; i++) {
    fail_unless (frames[i].pts == i * step, "frame %u: PTS %" GST_TIME_FORMAT ", expected %" GST_TIME_FORMAT, i,
        GST_TIME_ARGS (frames[i].pts), GST_TIME_ARGS (i * step));
    fail_unless_equals_uint64 (frames[i].duration, step);
  }
}

static void
expect_frame_of (const Frame & f, const std::string & prompt, const char *what)
{
  expect_color (f.rgb, emulator::prompt_color (prompt), kJpegTolerance, what);
}

/* ---------------------------------------------------------- pipelines */

static std::string
write_file (const char *name, const std::string & text)
{
  std::string path = tmp_path (name);
  fail_unless (g_file_set_contents (path.c_str (), text.c_str (), gssize (text.size ()), nullptr));
  return path;
}

/* "geminiimagesrc name=N api-endpoint=<emulator> api-key=K props". */
static std::string
named_src (const char *name, const std::string & props, const char *key = "test-key")
{
  return std::string ("geminiimagesrc name=") + name + " api-endpoint=" + emu->base_url () + " api-key=" + key + " "
      + props;
}

/* A pipeline driven by hand. */
struct Pipeline {
  GstElement *pipeline = nullptr;
  GstElement *src = nullptr;
  GstBus *bus = nullptr;
  GErrorPtr error;
  bool eos = false;

  explicit Pipeline (const std::string & desc, const char *src_name = "src")
  {
    GErrorPtr err;
    pipeline = gst_parse_launch (desc.c_str (), out_error (err));
    fail_unless (pipeline != nullptr, "%s: %s", desc.c_str (), err ? err->message : "");
    src = gst_bin_get_by_name (GST_BIN (pipeline), src_name);
    fail_unless (src != nullptr);
    bus = gst_element_get_bus (pipeline);
  }
  ~Pipeline ()
  {
    gst_element_set_state (pipeline, GST_STATE_NULL);
    gst_object_unref (bus);
    gst_object_unref (src);
    gst_object_unref (pipeline);
  }
  Pipeline (const Pipeline &) = delete;
  Pipeline & operator= (const Pipeline &) = delete;

  void play ()
  {
    fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  }
  /* Pops messages for up to `seconds`: true once EOS or ERROR came. */
  bool poll (double seconds)
  {
    const gint64 deadline = g_get_monotonic_time () + gint64 (seconds * G_USEC_PER_SEC);
    while (!eos && !error) {
      const gint64 left = deadline - g_get_monotonic_time ();
      if (left <= 0)
        return false;
      GstMessage *m = gst_bus_timed_pop_filtered (bus, GstClockTime (left) * GST_USECOND,
          GstMessageType (GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
      if (!m)
        return false;
      if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_EOS) {
        eos = true;
      } else {
        GError *e = nullptr;
        gst_message_parse_error (m, &e, nullptr);
        error.reset (e);
      }
      gst_message_unref (m);
    }
    return true;
  }
  void expect_eos_within (double seconds)
  {
    fail_unless (poll (seconds), "no EOS within %.1f s", seconds);
    fail_unless (eos, "error instead of EOS: %s", error ? error->message : "");
  }
};

/* Runs the pipelines at once until each one ends in EOS. */
static void
run_together (const std::vector<Pipeline *> & ps, double timeout_s = 30)
{
  for (Pipeline *p : ps)
    p->play ();
  const gint64 start = g_get_monotonic_time ();
  for (;;) {
    bool all = true;
    for (Pipeline *p : ps)
      all = p->poll (0.01) && all;
    if (all)
      break;
    fail_if (seconds_since (start) > timeout_s, "the pipelines did not finish in %.0f s", timeout_s);
  }
  for (Pipeline *p : ps)
    fail_unless (p->eos, "error instead of EOS: %s", p->error ? p->error->message : "");
}

/* -------------------------------------------------- 1-4. prompt files */

/* Plain text: one prompt a line, blank lines and comments skipped; the
 * frames come in file order, then EOS. */
GST_START_TEST (test_prompt_file_text)
{
  const std::vector<std::string> prompts = {"a red fox in the snow", "a lighthouse at dawn", "three green apples"};
  const std::string file = write_file ("prompts.txt", "  " + prompts[0] + "\n" + prompts[1] + "\n\n"
      "# not a prompt\n   \n" + prompts[2] + "\n# the end\n");

  script ("[]");
  FrameLog log;
  RunResult r;
  run_pipeline (src_desc ("prompt-file=\"" + file + "\"") + kRgbSink, r, 60,
      [&log] (GstElement * src) { watch_frames (src, &log); });
  expect_eos (r);
  std::vector<Frame> frames = log.snapshot ();
  expect_pts_sequence (frames, 3);
  for (guint i = 0; i < 3; i++)
    expect_frame_of (frames[i], prompts[i], ("frame " + std::to_string (i)).c_str ());
  expect_indices (r, "0,1,2");
  std::vector<Req> reqs = requests ();
  fail_unless_equals_int (reqs.size (), 3);
  std::set<std::string> sent;
  for (const Req & q : reqs)
    sent.insert (q.prompt);
  fail_unless (sent == std::set<std::string> (prompts.begin (), prompts.end ()), "prompts sent: %s",
      describe_arrivals (reqs).c_str ());

  /* One at a time, the requests themselves go in file order. */
  script ("[]");
  RunResult r1;
  run_pipeline (src_desc ("max-in-flight=1 prompt-file=\"" + file + "\"") + " ! fakesink", r1);
  expect_eos (r1);
  reqs = requests ();
  fail_unless_equals_int (reqs.size (), 3);
  for (guint i = 0; i < 3; i++)
    fail_unless_equals_string (reqs[i].prompt.c_str (), prompts[i].c_str ());
  expect_indices (r1, "0,1,2");

  /* Numbered files, one per frame. */
  script ("[]");
  const std::string dir = tmp_path ("numbered");
  fail_unless_equals_int (g_mkdir_with_parents (dir.c_str (), 0700), 0);
  RunResult r2;
  run_pipeline (src_desc ("prompt-file=\"" + file + "\"") + " ! videoconvert ! pngenc compression-level=1 "
      "! multifilesink location=\"" + dir + "/%05d.png\"", r2);
  expect_eos (r2);
  for (guint i = 0; i < 3; i++) {
    GCharPtr path (g_strdup_printf ("%s/%05u.png", dir.c_str (), i));
    fail_unless (g_file_test (path.get (), G_FILE_TEST_IS_REGULAR), "%s is missing", path.get ());
    DecodedImage img = decode_file_image (path.get ());
    expect_color (emulator::pixel_at (img, 16, 16), emulator::prompt_color (prompts[i]), kJpegTolerance,
        path.get ());
  }
  GCharPtr fourth (g_strdup_printf ("%s/%05u.png", dir.c_str (), 3u));
  fail_if (g_file_test (fourth.get (), G_FILE_TEST_EXISTS), "a fourth file was written");

  /* num-images per prompt: 3 x 2 frames, prompt by prompt. */
  script ("[]");
  FrameLog log3;
  RunResult r3;
  run_pipeline (src_desc ("num-images=2 prompt-file=\"" + file + "\"") + kRgbSink, r3, 60,
      [&log3] (GstElement * src) { watch_frames (src, &log3); });
  expect_eos (r3);
  frames = log3.snapshot ();
  expect_pts_sequence (frames, 6);
  for (guint i = 0; i < 6; i++)
    expect_frame_of (frames[i], prompts[i / 2], ("frame " + std::to_string (i) + " of 6").c_str ());
  expect_indices (r3, "0,1,2,3,4,5");
  fail_unless_equals_int (request_count (), 6);
}
GST_END_TEST;

/* JSON Lines: each line's model, aspect-ratio, image-size, seed,
 * system-instruction and temperature reach the wire, and the frames have
 * the sizes the catalogue gives for them. */
GST_START_TEST (test_prompt_file_jsonl)
{
  const std::string file = write_file ("batch.jsonl",
      "# a batch\n"
      "{\"prompt\": \"pro wide\", \"model\": \"nano-banana-pro\", \"aspect-ratio\": \"16:9\", \"image-size\": \"1K\","
      " \"seed\": 7, \"system-instruction\": \"be bold\", \"temperature\": 0.25}\n"
      "\n"
      "{\"prompt\": \"lite landscape\", \"model\": \"nano-banana-lite\", \"aspect-ratio\": \"3:2\", \"seed\": 9}\n"
      "{\"prompt\": \"plain\"}\n");
  script ("[]");
  FrameLog log;
  RunResult r;
  run_pipeline (src_desc ("system-instruction=\"from the property\" temperature=1.5 prompt-file=\"" + file + "\"")
      + kRgbSink, r, 60, [&log] (GstElement * src) { watch_frames (src, &log); });
  expect_eos (r);
  std::vector<Req> reqs = requests ();
  fail_unless_equals_int (reqs.size (), 3);

  Req pro = request_of (reqs, "pro wide");
  fail_unless_equals_string (pro.model.c_str (), "gemini-3-pro-image");
  fail_unless_equals_string (pro.aspect_ratio.c_str (), "16:9");
  fail_unless_equals_string (pro.image_size.c_str (), "1K");
  fail_unless (pro.seed && *pro.seed == 7, "seed %" G_GINT64_FORMAT, pro.seed.value_or (-1));
  fail_unless (pro.temperature && *pro.temperature == 0.25, "temperature %g", pro.temperature.value_or (-1));
  fail_unless (pro.system_instruction && *pro.system_instruction == "be bold", "system instruction \"%s\"",
      pro.system_instruction.value_or ("(none)").c_str ());

  Req lite = request_of (reqs, "lite landscape");
  fail_unless_equals_string (lite.model.c_str (), "gemini-3.1-flash-lite-image");
  fail_unless_equals_string (lite.aspect_ratio.c_str (), "3:2");
  fail_unless_equals_string (lite.image_size.c_str (), "");
  fail_unless (lite.seed && *lite.seed == 9);
  /* What a line does not set comes from the properties. */
  fail_unless (lite.temperature && *lite.temperature == 1.5);
  fail_unless (lite.system_instruction && *lite.system_instruction == "from the property");

  Req plain = request_of (reqs, "plain");
  fail_unless_equals_string (plain.model.c_str (), "gemini-nano-banana-2.1");
  fail_unless_equals_string (plain.aspect_ratio.c_str (), "");
  fail_if (plain.seed.has_value ());
  fail_unless (plain.temperature && *plain.temperature == 1.5);

  /* The frames, in file order, at the catalogue's sizes. */
  std::vector<Frame> frames = log.snapshot ();
  expect_pts_sequence (frames, 3);
  const struct {
    const char *prompt;
    int w, h;
  } expect[] = {{"pro wide", 1376, 768}, {"lite landscape", 1264, 848}, {"plain", 1024, 1024}};
  for (guint i = 0; i < 3; i++) {
    fail_unless (frames[i].width == expect[i].w && frames[i].height == expect[i].h, "frame %u: %dx%d, expected "
        "%dx%d", i, frames[i].width, frames[i].height, expect[i].w, expect[i].h);
    expect_frame_of (frames[i], expect[i].prompt, expect[i].prompt);
  }
  fail_unless_equals_int (r.image_messages.size (), 3);
  fail_unless_equals_string (gst_structure_get_string (r.image_messages[0], "model"), "gemini-3-pro-image");
  fail_unless_equals_string (gst_structure_get_string (r.image_messages[1], "model"), "gemini-3.1-flash-lite-image");
  expect_indices (r, "0,1,2");
}
GST_END_TEST;

/* A bad line fails READY->PAUSED, naming the file and the line, before any
 * request; a missing file is OPEN_READ. */
GST_START_TEST (test_prompt_file_malformed)
{
  script ("[]");
  const std::string bad_json = write_file ("bad.jsonl",
      "{\"prompt\": \"fine\"}\n{\"prompt\": \"typo\", \"aspect-ratio\": \"7:5\"}\n{\"prompt\": \"never\"}\n");
  const std::string desc = src_desc ("prompt-file=\"" + bad_json + "\"") + " ! fakesink";
  expect_state_change_error (desc, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, bad_json.c_str ());
  expect_state_change_error (desc, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, "line 2");
  expect_state_change_error (desc, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, "\"7:5\"");

  const std::string typo_key = write_file ("typo.jsonl", "{\"prompt\": \"a\"}\n{\"promt\": \"b\"}\n");
  expect_state_change_error (src_desc ("prompt-file=\"" + typo_key + "\"") + " ! fakesink", GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_SETTINGS, (typo_key + " line 2: unknown key").c_str ());

  /* A control character in a plain text file, on line 2 after a comment. */
  const std::string bad_text = write_file ("bad.txt", "# header\nbell \x07 here\nfine\n");
  expect_state_change_error (src_desc ("prompt-file=\"" + bad_text + "\"") + " ! fakesink", GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_SETTINGS, (bad_text + " line 2").c_str ());

  const std::string missing = tmp_path ("no-such-prompts.txt");
  expect_state_change_error (src_desc ("prompt-file=\"" + missing + "\"") + " ! fakesink", GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_OPEN_READ, missing.c_str ());
  fail_unless_equals_int (request_count (), 0);
}
GST_END_TEST;

/* Image i of a prompt gets seed + i. */
GST_START_TEST (test_seed_plus_index)
{
  script ("[]");
  RunResult r;
  run_pipeline (src_desc ("prompt=seeded num-images=4 seed=100") + " ! fakesink", r);
  expect_eos (r);
  std::vector<Req> reqs = requests ();
  fail_unless_equals_int (reqs.size (), 4);
  std::multiset<gint64> seeds;
  for (const Req & q : reqs) {
    fail_unless (q.seed.has_value (), "a request without a seed");
    seeds.insert (*q.seed);
  }
  fail_unless (seeds == std::multiset<gint64> ({100, 101, 102, 103}), "seeds sent: %s",
      describe_arrivals (reqs).c_str ());
  expect_indices (r, "0,1,2,3");

  /* One at a time, request k is image k: seed 100 + k. */
  script ("[]");
  RunResult r1;
  run_pipeline (src_desc ("prompt=seeded num-images=4 seed=100 max-in-flight=1") + " ! fakesink", r1);
  expect_eos (r1);
  reqs = requests ();
  fail_unless_equals_int (reqs.size (), 4);
  for (guint i = 0; i < 4; i++)
    fail_unless (reqs[i].seed && *reqs[i].seed == 100 + gint64 (i), "request %u: seed %" G_GINT64_FORMAT, i,
        reqs[i].seed.value_or (-1));

  /* Per prompt of a file: each line's images count from its own seed. */
  const std::string file = write_file ("seeds.jsonl",
      "{\"prompt\": \"first\", \"seed\": 10}\n{\"prompt\": \"second\"}\n");
  script ("[]");
  RunResult r2;
  run_pipeline (src_desc ("num-images=2 seed=500 max-in-flight=1 prompt-file=\"" + file + "\"") + " ! fakesink",
      r2);
  expect_eos (r2);
  reqs = requests ();
  fail_unless_equals_int (reqs.size (), 4);
  const struct {
    const char *prompt;
    gint64 seed;
  } expect[] = {{"first", 10}, {"first", 11}, {"second", 500}, {"second", 501}};
  for (guint i = 0; i < 4; i++) {
    fail_unless_equals_string (reqs[i].prompt.c_str (), expect[i].prompt);
    fail_unless (reqs[i].seed && *reqs[i].seed == expect[i].seed, "request %u: seed %" G_GINT64_FORMAT, i,
        reqs[i].seed.value_or (-1));
  }
}
GST_END_TEST;

/* ------------------------------------------------ 5-7. order in flight */

/* Random latencies, four at a time: the frames still go out in input order
 * (PTS and index), and the run takes well under the serial sum. */
GST_START_TEST (test_order_under_random_latencies)
{
  const int delays[] = {300, 50, 200, 10, 150, 80};
  std::string steps;
  for (int d : delays)
    steps += std::string (steps.empty () ? "" : ",") + "{\"do\":\"image\",\"delay_ms\":" + std::to_string (d) + "}";
  const guint n = 12;
  double serial_s = 0;
  for (guint i = 0; i < n; i++)
    serial_s += delays[i % G_N_ELEMENTS (delays)] / 1000.0;

  script ("{\"steps\":[" + steps + "],\"then\":\"cycle\"}");
  FrameLog log;
  RunResult r;
  run_pipeline (src_desc ("prompt=latency num-images=12 max-in-flight=4") + kRgbSink, r, 60,
      [&log] (GstElement * src) { watch_frames (src, &log); });
  expect_eos (r);
  expect_pts_sequence (log.snapshot (), n);
  expect_indices (r, "0,1,2,3,4,5,6,7,8,9,10,11");
  fail_unless_equals_int (request_count (), n);
  g_print ("12 images, 4 in flight, delays cycling 300/50/200/10/150/80 ms: %.3f s (serial sum of the delays "
      "%.3f s, %.0f%%)\n", r.seconds, serial_s, 100 * r.seconds / serial_s);
  fail_unless (r.seconds < 0.6 * serial_s, "took %.3f s, the serial sum is %.3f s", r.seconds, serial_s);
}
GST_END_TEST;

/* The image whose request reached the emulator first (it took the
 * script's first step), told by its seed: with seed=0, image i sends seed i.
 * Images started together race on the wire, so it is usually, not always,
 * image 0. */
static guint64
first_arrival_index ()
{
  std::vector<Req> reqs = requests ();
  fail_unless (!reqs.empty () && reqs[0].seed.has_value ());
  return guint64 (*reqs[0].seed);
}

/* output-order=completion: the slow image does not hold the others back;
 * PTS still follow the output. */
GST_START_TEST (test_output_order_completion)
{
  script ("[{\"do\":\"image\",\"delay_ms\":800}]");
  FrameLog log;
  RunResult r;
  run_pipeline (src_desc ("prompt=completion seed=0 num-images=4 max-in-flight=4 output-order=completion")
      + kRgbSink, r, 60, [&log] (GstElement * src) { watch_frames (src, &log); });
  expect_eos (r);
  const guint64 slow = first_arrival_index ();
  expect_pts_sequence (log.snapshot (), 4);
  std::vector<guint64> idx = indices (r);
  fail_unless_equals_int (idx.size (), 4);
  fail_unless (idx[0] != slow, "the slow image %" G_GUINT64_FORMAT " went out first: %s", slow, join (idx).c_str ());
  fail_unless (idx[3] == slow, "the slow image %" G_GUINT64_FORMAT " did not go out last: %s", slow,
      join (idx).c_str ());
  fail_unless (std::set<guint64> (idx.begin (), idx.end ()) == std::set<guint64> ({0, 1, 2, 3}), "indices %s",
      join (idx).c_str ());
  g_print ("output-order=completion, image %" G_GUINT64_FORMAT " delayed 800 ms: indices out %s\n", slow,
      join (idx).c_str ());

  /* The same in input order: 0, 1, 2, 3 whichever is slow. */
  script ("[{\"do\":\"image\",\"delay_ms\":800}]");
  RunResult r2;
  run_pipeline (src_desc ("prompt=completion seed=0 num-images=4 max-in-flight=4") + " ! fakesink", r2);
  expect_eos (r2);
  expect_indices (r2, "0,1,2,3");
}
GST_END_TEST;

/* The reorder cap: with one image stuck, no more than max-in-flight +
 * max(4, max-in-flight) images past those already out are started; then
 * all go out in order. */
GST_START_TEST (test_reorder_cap)
{
  script ("[{\"do\":\"image\",\"delay_ms\":2000}]");
  FrameLog log;
  Pipeline p (src_desc ("prompt=capped seed=0 num-images=20 max-in-flight=2") + kRgbSink);
  watch_frames (p.src, &log);
  const gint64 start = g_get_monotonic_time ();
  p.play ();
  while (seconds_since (start) < 1.0)
    g_usleep (10 * 1000);
  const guint at_1s = request_count ();
  /* The stuck image (0, unless image 1 reached the emulator first): the
   * images before it have gone out, which frees their room. */
  const guint64 stuck = first_arrival_index ();
  fail_unless (stuck <= 1, "the first request to arrive was image %" G_GUINT64_FORMAT, stuck);
  const guint cap = guint (stuck) + 2 + 4;
  fail_unless (at_1s <= cap, "%u requests after 1 s with image %" G_GUINT64_FORMAT " stuck: the cap is 2 + 4", at_1s,
      stuck);
  /* It is answered 2 s after it arrived; until then exactly that many have
   * started (one slot held, the 4 after it answered and waiting). */
  while (seconds_since (start) < 1.8)
    g_usleep (10 * 1000);
  const guint at_1_8s = request_count ();
  fail_unless_equals_int (at_1_8s, cap);
  fail_unless_equals_int (log.count.load (), stuck);
  /* Every gemini-image message, in output order. */
  std::vector<guint64> idx;
  const gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  bool eos = false;
  while (!eos && g_get_monotonic_time () < deadline) {
    GstMessage *m = gst_bus_timed_pop (p.bus, 50 * GST_MSECOND);
    if (!m)
      continue;
    if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR) {
      GError *e = nullptr;
      gst_message_parse_error (m, &e, nullptr);
      fail ("error: %s", e->message);
    }
    eos = GST_MESSAGE_TYPE (m) == GST_MESSAGE_EOS;
    const GstStructure *s = gst_message_get_structure (m);
    if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ELEMENT && s && gst_structure_has_name (s, "gemini-image"))
      idx.push_back (msg_index (s));
    gst_message_unref (m);
  }
  fail_unless (eos, "no EOS");
  expect_pts_sequence (log.snapshot (), 20);
  fail_unless_equals_int (idx.size (), 20);
  for (guint i = 0; i < 20; i++)
    fail_unless_equals_int (idx[i], i);
  fail_unless_equals_int (request_count (), 20);
  g_print ("reorder cap (max-in-flight=2, image %" G_GUINT64_FORMAT " held 2 s): %u requests at 1 s, %u at 1.8 s, "
      "20 images in %.2f s\n", stuck, at_1s, at_1_8s, seconds_since (start));
}
GST_END_TEST;

/* The reorder window in bytes: at 4K (4096x4096, 48 MiB of RGB) no decoded
 * image waits beyond max-in-flight. With one image stuck, the images
 * before it go out and the one answered after it waits, and no other
 * starts; the count cap alone would start 4 more (issue 11: eight 4K
 * frames waited at max-in-flight 4). */
GST_START_TEST (test_reorder_bytes)
{
  /* Held longer than the others take to be made and decoded, however slow
   * the build (ASan). */
  const int held_ms = int (5000 * test_time_scale ());
  script ("[{\"do\":\"image\",\"delay_ms\":" + std::to_string (held_ms) + "}]");
  Pipeline p (src_desc ("prompt=big seed=0 num-images=8 max-in-flight=2 model=nano-banana-pro image-size=4K "
      "aspect-ratio=1:1") + kRgbSink);
  p.play ();
  /* Until the images that can be answered are: image 1 when image 0 is
   * stuck; images 0 and 2 when image 1 is. */
  guint complete = 0;
  guint64 stuck = G_MAXUINT64;
  const gint64 deadline = g_get_monotonic_time () + gint64 (30 * test_time_scale () * G_USEC_PER_SEC);
  while (stuck == G_MAXUINT64 || complete < stuck + 1) {
    fail_unless (g_get_monotonic_time () < deadline, "%u images answered, %u requests", complete, request_count ());
    GstMessage *m = gst_bus_timed_pop_filtered (p.bus, 50 * GST_MSECOND,
        GstMessageType (GST_MESSAGE_PROGRESS | GST_MESSAGE_ERROR));
    if (stuck == G_MAXUINT64 && request_count () > 0)
      stuck = first_arrival_index ();
    if (!m)
      continue;
    fail_unless (GST_MESSAGE_TYPE (m) == GST_MESSAGE_PROGRESS, "error while the first image is stuck");
    GstProgressType type;
    gst_message_parse_progress (m, &type, nullptr, nullptr);
    if (type == GST_PROGRESS_TYPE_COMPLETE)
      complete++;
    gst_message_unref (m);
  }
  fail_unless (stuck <= 1, "the first request to arrive was image %" G_GUINT64_FORMAT, stuck);
  /* Time for a third image to start, were there room for one. */
  g_usleep (300 * 1000);
  fail_unless_equals_int (request_count (), stuck + 2);
  g_print ("reorder window at 4K (max-in-flight=2, image %" G_GUINT64_FORMAT " held %d ms): %u requests with %u "
      "answered\n", stuck, held_ms, request_count (), complete);
}
GST_END_TEST;

/* ----------------------------------------------------------- 8. hedging */

GST_START_TEST (test_hedge_wins)
{
  script ("[{\"do\":\"image\",\"delay_ms\":3000}]");
  RunResult r;
  run_pipeline (src_desc ("prompt=hedged num-images=1 hedge-after=0.3") + " ! fakesink", r);
  expect_eos (r);
  fail_unless (r.seconds < 1.5, "the image took %.2f s: the hedge did not win", r.seconds);
  fail_unless_equals_int (r.image_messages.size (), 1);
  const GstStructure *m = r.image_messages[0];
  fail_unless (msg_bool (m, "hedged"));
  fail_unless (msg_bool (m, "hedge-won"));
  fail_unless_equals_uint64 (msg_u64 (m, "hedges"), 1);
  fail_unless_equals_uint64 (msg_index (m), 0);
  std::vector<Req> reqs = requests ();
  fail_unless_equals_int (reqs.size (), 2);
  const double hedge_gap = (reqs[1].received_us - reqs[0].received_us) / 1e6;
  fail_unless (hedge_gap >= 0.25 && hedge_gap < 1.0, "the hedge came %.3f s after the request", hedge_gap);
  g_print ("hedge: image in %.3f s, the hedge sent %.3f s after the first request\n", r.seconds, hedge_gap);

  /* The losing request is cancelled: a hung one is hung up on soon after. */
  script ("[{\"do\":\"hang\"}]");
  Pipeline p (src_desc ("prompt=hedged num-images=1 hedge-after=0.3") + " ! fakesink");
  const gint64 start = g_get_monotonic_time ();
  p.play ();
  p.expect_eos_within (5);
  const double eos_s = seconds_since (start);
  const gint64 eos_at = g_get_monotonic_time ();
  fail_unless (wait_until ([] { return open_connections () == 0; }, 0.5),
      "the losing (hung) request was still open 0.5 s after EOS");
  g_print ("hedge against a hung request: EOS after %.3f s, the hung connection closed %.0f ms after EOS\n", eos_s,
      ms_since (eos_at));
  fail_unless_equals_int (request_count (), 2);

  /* Both too slow: the original wins, the hedge is cancelled. */
  script ("{\"steps\":[{\"do\":\"image\",\"delay_ms\":600},{\"do\":\"image\",\"delay_ms\":2000}],\"then\":\"repeat\"}");
  RunResult r3;
  run_pipeline (src_desc ("prompt=hedged num-images=1 hedge-after=0.2") + " ! fakesink", r3);
  expect_eos (r3);
  fail_unless (r3.seconds < 1.5, "took %.2f s", r3.seconds);
  fail_unless (msg_bool (r3.image_messages[0], "hedged"));
  fail_if (msg_bool (r3.image_messages[0], "hedge-won"));
  fail_unless_equals_int (request_count (), 2);
}
GST_END_TEST;

/* hedge-budget=0: the floor of 2 hedges only. */
GST_START_TEST (test_hedge_budget_floor)
{
  script ("{\"steps\":[{\"do\":\"image\",\"delay_ms\":1000}],\"then\":\"repeat\"}");
  RunResult r;
  run_pipeline (src_desc ("prompt=budget num-images=3 max-in-flight=3 hedge-after=0.2 hedge-budget=0") +
      " ! fakesink", r);
  expect_eos (r);
  fail_unless_equals_int (r.image_messages.size (), 3);
  guint hedged = 0;
  for (const GstStructure *m : r.image_messages) {
    hedged += msg_bool (m, "hedged");
    /* Every request takes 1 s: the originals, sent first, win. */
    fail_if (msg_bool (m, "hedge-won"));
  }
  fail_unless_equals_int (hedged, 2);
  fail_unless_equals_uint64 (msg_u64 (r.image_messages.back (), "hedges"), 2);
  fail_unless_equals_int (request_count (), 5);
  fail_unless (r.seconds < 3, "took %.2f s", r.seconds);
}
GST_END_TEST;

/* ------------------------------------------------- 9. shared limiter */

/* Two elements of one pipeline, same endpoint, key and model, 120 requests
 * per minute: one bucket, so their 6 requests are 0.5 s apart overall. */
GST_START_TEST (test_shared_limiter_one_pipeline)
{
  script ("[]");
  RunResult r;
  run_pipeline (named_src ("src", "prompt=left requests-per-minute=120 num-images=3") + " ! fakesink " +
      named_src ("src2", "prompt=right requests-per-minute=120 num-images=3") + " ! fakesink", r);
  expect_eos (r);
  std::vector<Req> reqs = by_arrival (requests ());
  fail_unless_equals_int (reqs.size (), 6);
  guint left = 0;
  for (const Req & q : reqs)
    left += q.prompt == "left";
  fail_unless_equals_int (left, 3);
  const double gap = min_gap_s (reqs);
  g_print ("two elements sharing 120 rpm: smallest gap %.3f s; %s\n", gap, describe_arrivals (reqs).c_str ());
  fail_unless (gap >= 0.45, "requests %.3f s apart: %s", gap, describe_arrivals (reqs).c_str ());
  fail_unless (r.seconds >= 2.4, "6 requests at 120 rpm in %.2f s", r.seconds);

  /* max-concurrent-requests=1, shared: one request at a time across both
   * elements, each answered after 300 ms. */
  script ("{\"steps\":[{\"do\":\"image\",\"delay_ms\":300}],\"then\":\"repeat\"}");
  RunResult r2;
  run_pipeline (named_src ("src", "prompt=left max-concurrent-requests=1 num-images=2", "key-cap") + " ! fakesink " +
      named_src ("src2", "prompt=right max-concurrent-requests=1 num-images=2", "key-cap") + " ! fakesink", r2);
  expect_eos (r2);
  reqs = by_arrival (requests ());
  fail_unless_equals_int (reqs.size (), 4);
  const double cap_gap = min_gap_s (reqs);
  g_print ("two elements sharing max-concurrent-requests=1 (300 ms answers): smallest gap %.3f s; %s\n", cap_gap,
      describe_arrivals (reqs).c_str ());
  fail_unless (cap_gap >= 0.29, "requests %.3f s apart with one allowed at a time: %s", cap_gap,
      describe_arrivals (reqs).c_str ());
}
GST_END_TEST;

/* A 429 to one element holds back the other, whichever got it. */
static void
check_429_slows_other (const char *limits, const char *key, bool strictly_serial)
{
  /* The second request to arrive (the other element's first, when both
   * start at once) answers slowly: its next request cannot already be on
   * the wire when the 429 comes back. */
  script ("[{\"do\":\"error\",\"status\":429,\"retry_delay\":\"2s\"},{\"do\":\"image\",\"delay_ms\":300}]");
  RunResult r;
  const std::string common = std::string ("num-images=2 max-in-flight=1 retry-backoff=0.05 ") + limits;
  run_pipeline (named_src ("src", "prompt=one " + common, key) + " ! fakesink " +
      named_src ("src2", "prompt=two " + common, key) + " ! fakesink", r);
  expect_eos (r);
  std::vector<Req> reqs = by_arrival (requests ());
  fail_unless_equals_int (reqs.size (), 5);
  fail_unless_equals_int (reqs[0].status, 429);
  const std::string victim = reqs[0].prompt;
  const gint64 t429 = reqs[0].received_us;
  bool other_first = true;
  for (gsize i = 1; i < reqs.size (); i++) {
    const double after = (reqs[i].received_us - t429) / 1e6;
    if (reqs[i].prompt != victim && other_first && !strictly_serial) {
      /* The other element's first request: sent at start, with the one
       * that got the 429 (or, if that element was slower to start, held
       * like the rest). */
      other_first = false;
      fail_unless (after < 0.5 || after >= 1.8, "[%s] the other element's first request came %.3f s after the "
          "429: %s", limits, after, describe_arrivals (reqs).c_str ());
      continue;
    }
    fail_unless (after >= 1.8, "[%s] request %zu (%s) came %.3f s after the 429: %s", limits, i,
        reqs[i].prompt.c_str (), after, describe_arrivals (reqs).c_str ());
  }
  g_print ("429 (retry in 2 s) to \"%s\" [%s]: %s\n", victim.c_str (), limits, describe_arrivals (reqs).c_str ());
  /* The other element's next request is among those held. */
  guint other_held = 0;
  for (gsize i = 1; i < reqs.size (); i++)
    other_held += reqs[i].prompt != victim && (reqs[i].received_us - t429) / 1e6 >= 1.8;
  fail_unless (other_held >= 1, "no request of the other element came after the hold: %s",
      describe_arrivals (reqs).c_str ());
}

/* No rate, no cap: the two first requests go at once; the hold of the 429
 * applies to everything sent after it. */
GST_START_TEST (test_shared_limiter_429)
{
  check_429_slows_other ("", "key-429-free", false);
}
GST_END_TEST;

/* One request at a time: the slot the 429'd request frees must not let the
 * other element through before the hold ends. */
GST_START_TEST (test_shared_limiter_429_with_cap)
{
  check_429_slows_other ("max-concurrent-requests=1", "key-429-cap", true);
}
GST_END_TEST;

/* Two pipelines, each element given a GstContext: their own scopes do not
 * share the bucket, one scope given to both does. */
static std::vector<Req>
run_two_with_contexts (GstContext * ctx_a, GstContext * ctx_b)
{
  script ("[]");
  const char *props = "requests-per-minute=120 num-images=3";
  Pipeline a (named_src ("src", std::string ("prompt=alpha ") + props) + " ! fakesink");
  Pipeline b (named_src ("src", std::string ("prompt=beta ") + props) + " ! fakesink");
  gst_element_set_context (a.src, ctx_a);
  gst_element_set_context (b.src, ctx_b);
  run_together ({&a, &b});
  std::vector<Req> reqs = by_arrival (requests ());
  fail_unless_equals_int (reqs.size (), 6);
  return reqs;
}

GST_START_TEST (test_rate_limit_context)
{
  GstContext *own_a = rate_limit_scope_context_new (std::make_shared<RateLimitScope> ());
  GstContext *own_b = rate_limit_scope_context_new (std::make_shared<RateLimitScope> ());
  fail_unless (rate_limit_scope_from_context (own_a) != nullptr);
  fail_unless_equals_string (gst_context_get_context_type (own_a), "gst-gemini.rate-limit-scope");
  std::vector<Req> apart = run_two_with_contexts (own_a, own_b);
  const double apart_gap = min_gap_s (apart);
  const double apart_span = (apart.back ().received_us - apart.front ().received_us) / 1e6;
  g_print ("own scopes: smallest gap %.3f s, span %.3f s; %s\n", apart_gap, apart_span,
      describe_arrivals (apart).c_str ());
  fail_unless (apart_gap < 0.2, "own scopes, yet the requests were spaced: %s", describe_arrivals (apart).c_str ());
  fail_unless (apart_span < 1.6, "own scopes: 6 requests over %.3f s", apart_span);

  GstContext *shared = rate_limit_scope_context_new (std::make_shared<RateLimitScope> ());
  std::vector<Req> together = run_two_with_contexts (shared, shared);
  const double together_gap = min_gap_s (together);
  g_print ("one scope: smallest gap %.3f s; %s\n", together_gap, describe_arrivals (together).c_str ());
  fail_unless (together_gap >= 0.45, "one scope, yet requests %.3f s apart: %s", together_gap,
      describe_arrivals (together).c_str ());
  gst_context_unref (own_a);
  gst_context_unref (own_b);
  gst_context_unref (shared);
}
GST_END_TEST;

/* -------------------------------------------------------------- 10. cache */

static std::vector<std::string>
cache_entries (const std::string & dir)
{
  std::vector<std::string> out;
  GDir *d = g_dir_open (dir.c_str (), 0, nullptr);
  if (!d)
    return out;
  while (const char *name = g_dir_read_name (d))
    if (g_str_has_suffix (name, ".gimg"))
      out.push_back (dir + "/" + name);
  g_dir_close (d);
  std::sort (out.begin (), out.end ());
  return out;
}

static goffset
file_size (const std::string & path)
{
  GStatBuf st;
  fail_unless (g_stat (path.c_str (), &st) == 0, "cannot stat %s", path.c_str ());
  return st.st_size;
}

/* One run with the cache: the frame's bytes and the gemini-image message. */
struct CacheRun {
  std::string bytes;
  bool from_cache = false;
  guint64 hits = 0, misses = 0;
  guint requests = 0;
};

static CacheRun
cache_run (const std::string & dir, const char *prompt, const std::string & extra = "")
{
  emu->reset ();
  FrameLog log;
  log.keep_bytes = true;
  RunResult r;
  run_pipeline (src_desc (std::string ("prompt=\"") + prompt + "\" cache-dir=\"" + dir + "\" " + extra) + kRgbSink,
      r, 60, [&log] (GstElement * src) { watch_frames (src, &log); });
  expect_eos (r);
  std::vector<Frame> frames = log.snapshot ();
  fail_unless_equals_int (frames.size (), 1);
  fail_unless_equals_int (r.image_messages.size (), 1);
  expect_frame_of (frames[0], prompt, prompt);
  CacheRun c;
  c.bytes = frames[0].bytes;
  c.from_cache = msg_bool (r.image_messages[0], "from-cache");
  c.hits = msg_u64 (r.image_messages[0], "cache-hits");
  c.misses = msg_u64 (r.image_messages[0], "cache-misses");
  c.requests = request_count ();
  return c;
}

GST_START_TEST (test_cache)
{
  const std::string dir = tmp_path ("cache");
  CacheRun run1 = cache_run (dir, "a cached cat");
  fail_unless_equals_int (run1.requests, 1);
  fail_if (run1.from_cache);
  fail_unless_equals_uint64 (run1.misses, 1);
  fail_unless_equals_uint64 (run1.hits, 0);
  std::vector<std::string> entries = cache_entries (dir);
  fail_unless_equals_int (entries.size (), 1);
  const std::string entry = entries[0];
  const goffset entry_size = file_size (entry);
  {
    GCharPtr base (g_path_get_basename (entry.c_str ()));
    fail_unless_equals_int (strlen (base.get ()), 64 + strlen (".gimg"));
  }

  /* The same request again: no request, the same pixels. */
  CacheRun run2 = cache_run (dir, "a cached cat");
  fail_unless_equals_int (run2.requests, 0);
  fail_unless (run2.from_cache);
  fail_unless_equals_uint64 (run2.hits, 1);
  fail_unless_equals_uint64 (run2.misses, 0);
  fail_unless (run2.bytes == run1.bytes, "the cached frame differs from the first");

  /* Another prompt is another request. */
  CacheRun other = cache_run (dir, "a cached dog");
  fail_unless_equals_int (other.requests, 1);
  fail_if (other.from_cache);
  fail_unless_equals_int (cache_entries (dir).size (), 2);

  /* A truncated entry is a miss: a request, the right frame, and the entry
   * is written again. */
  fail_unless_equals_int (truncate (entry.c_str (), entry_size / 2), 0);
  CacheRun repaired = cache_run (dir, "a cached cat");
  fail_unless_equals_int (repaired.requests, 1);
  fail_if (repaired.from_cache);
  fail_unless (repaired.bytes == run1.bytes, "the frame after a corrupt entry differs from the first");
  fail_unless (g_file_test (entry.c_str (), G_FILE_TEST_IS_REGULAR), "the entry was not written again");
  fail_unless_equals_int (file_size (entry), entry_size);
  CacheRun fourth = cache_run (dir, "a cached cat");
  fail_unless_equals_int (fourth.requests, 0);
  fail_unless (fourth.from_cache);
  fail_unless (fourth.bytes == run1.bytes);

  /* Appended garbage (the size no longer adds up) is a miss too. */
  {
    FILE *f = fopen (entry.c_str (), "ab");
    fail_unless (f != nullptr);
    fputs ("garbage", f);
    fclose (f);
  }
  CacheRun grown = cache_run (dir, "a cached cat");
  fail_unless_equals_int (grown.requests, 1);
  fail_unless (grown.bytes == run1.bytes);

  /* A bound of 1.5 entries: the older ones go. */
  const std::string small = tmp_path ("small-cache");
  const std::string bound = "cache-max-size=" + std::to_string (entry_size * 3 / 2);
  for (const char *p : {"first small", "second small", "third small"})
    cache_run (small, p, bound);
  std::vector<std::string> left = cache_entries (small);
  g_print ("cache: one entry %" G_GOFFSET_FORMAT " bytes; with cache-max-size %" G_GOFFSET_FORMAT ", %zu entries "
      "left after 3 prompts\n", entry_size, entry_size * 3 / 2, left.size ());
  fail_unless (left.size () <= 1, "%zu entries left with room for 1.5", left.size ());
  /* The last one is kept (when it fits): asking again costs nothing. */
  if (left.size () == 1) {
    CacheRun again = cache_run (small, "third small", bound);
    fail_unless_equals_int (again.requests, 0);
  }
}
GST_END_TEST;

/* ----------------------------------------- 11. EOS, NULL, flush, 8 in flight */

static const char *kHangForever = "{\"steps\":[{\"do\":\"hang\"}],\"then\":\"repeat\"}";

static void
start_eight_hung (Pipeline & p)
{
  p.play ();
  wait_requests (8, 10);
  fail_unless (wait_until ([] { return open_connections () == 8; }, 2), "%" G_GINT64_FORMAT " connections open",
      open_connections ());
  g_usleep (100 * 1000);
  /* max-in-flight: no ninth. */
  fail_unless_equals_int (request_count (), 8);
}

GST_START_TEST (test_null_with_eight_in_flight)
{
  script (kHangForever);
  Pipeline p (src_desc ("prompt=stuck num-images=20 max-in-flight=8") + " ! fakesink");
  start_eight_hung (p);
  const gint64 start = g_get_monotonic_time ();
  fail_unless_equals_int (gst_element_set_state (p.pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  const double took = ms_since (start);
  const gint64 down = g_get_monotonic_time ();
  fail_unless (wait_until ([] { return open_connections () == 0; }, 1), "%" G_GINT64_FORMAT " connections still "
      "open 1 s after NULL", open_connections ());
  g_print ("8 hung requests: PLAYING->NULL %.1f ms, connections closed %.0f ms later\n", took, ms_since (down));
  fail_unless (took < state_change_bound_ms (), "PLAYING->NULL took %.0f ms", took);
}
GST_END_TEST;

GST_START_TEST (test_eos_with_eight_in_flight)
{
  script (kHangForever);
  FrameLog log;
  Pipeline p (src_desc ("prompt=stuck num-images=20 max-in-flight=8") + " ! fakesink");
  watch_frames (p.src, &log);
  start_eight_hung (p);
  const gint64 start = g_get_monotonic_time ();
  fail_unless (gst_element_send_event (p.pipeline, gst_event_new_eos ()));
  p.expect_eos_within (0.5);
  const double took = ms_since (start);
  fail_unless (wait_until ([] { return open_connections () == 0; }, 1), "%" G_GINT64_FORMAT " connections still "
      "open 1 s after EOS", open_connections ());
  fail_unless_equals_int (log.count.load (), 0);
  fail_unless_equals_int (request_count (), 8);
  g_print ("8 hung requests: application EOS on the bus after %.1f ms\n", took);
}
GST_END_TEST;

GST_START_TEST (test_flush_with_eight_in_flight)
{
  script (kHangForever);
  FrameLog log;
  Pipeline p (src_desc ("prompt=stuck num-images=20 max-in-flight=8") + " ! fakesink sync=false");
  watch_frames (p.src, &log);
  std::atomic<int> flush_starts {0}, flush_stops {0};
  struct Counters {
    std::atomic<int> *starts, *stops;
  } counters {&flush_starts, &flush_stops};
  GstPad *pad = gst_element_get_static_pad (p.src, "src");
  gst_pad_add_probe (pad, GstPadProbeType (GST_PAD_PROBE_TYPE_EVENT_FLUSH | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
      [] (GstPad *, GstPadProbeInfo * info, gpointer data) {
        auto *c = static_cast<Counters *> (data);
        if (!(GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM))
          return GST_PAD_PROBE_OK;
        GstEvent *ev = GST_PAD_PROBE_INFO_EVENT (info);
        if (GST_EVENT_TYPE (ev) == GST_EVENT_FLUSH_START)
          (*c->starts)++;
        else if (GST_EVENT_TYPE (ev) == GST_EVENT_FLUSH_STOP)
          (*c->stops)++;
        return GST_PAD_PROBE_OK;
      }, &counters, nullptr);
  start_eight_hung (p);

  /* FLUSH_START, as a sink sends it upstream: every request is cancelled. */
  const gint64 start = g_get_monotonic_time ();
  fail_unless (gst_pad_send_event (pad, gst_event_new_flush_start ()));
  const double flush_ms = ms_since (start);
  fail_unless_equals_int (flush_starts.load (), 1);
  fail_unless (wait_until ([] { return open_connections () == 0; }, state_change_bound_ms () / 1000),
      "%" G_GINT64_FORMAT " connections open %.0f ms after FLUSH_START", open_connections (),
      state_change_bound_ms ());
  const double closed_ms = ms_since (start);
  g_usleep (100 * 1000);
  fail_unless_equals_int (request_count (), 8);
  fail_unless_equals_int (log.count.load (), 0);

  /* FLUSH_STOP with the emulator answering again: the stream starts over
   * from image 0 and runs to its end. */
  script ("[]");
  fail_unless (gst_pad_send_event (pad, gst_event_new_flush_stop (TRUE)));
  fail_unless_equals_int (flush_stops.load (), 1);
  fail_unless (wait_until ([&log] { return log.count.load () >= 1; }, 10), "no image after the flush");
  p.expect_eos_within (20);
  std::vector<Frame> frames = log.snapshot ();
  expect_pts_sequence (frames, 20);
  fail_unless_equals_int (request_count (), 20);
  gst_object_unref (pad);
  g_print ("8 hung requests: FLUSH_START returned in %.1f ms, connections closed after %.1f ms; 20 images after "
      "FLUSH_STOP\n", flush_ms, closed_ms);
}
GST_END_TEST;

/* A flush with output-order=completion: images that already went out are
 * not made again, and the others are; every index once. (Found in review:
 * the restart began at the count of images out, as for input order, and
 * made one image twice and another never.) */
GST_START_TEST (test_flush_completion_order)
{
  script ("{\"steps\":[{\"do\":\"image\"},{\"do\":\"image\"},{\"do\":\"hang\"}],\"then\":\"repeat\"}");
  GstElement *p = gst_parse_launch ((src_desc ("prompt=order num-images=4 max-in-flight=4 seed=0 "
          "output-order=completion") + " ! fakesink sync=false").c_str (), nullptr);
  GstElement *src = gst_bin_get_by_name (GST_BIN (p), "src");
  GstBus *bus = gst_element_get_bus (p);
  struct Seen {
    std::mutex lock;
    std::vector<guint64> indices;
    bool eos = false;
  } seen;
  gst_bus_set_sync_handler (bus, [] (GstBus *, GstMessage * m, gpointer data) {
    auto *seen = static_cast<Seen *> (data);
    std::lock_guard<std::mutex> lk (seen->lock);
    const GstStructure *st = gst_message_get_structure (m);
    guint64 index;
    if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ELEMENT && gst_structure_has_name (st, "gemini-image")
        && gst_structure_get_uint64 (st, "index", &index))
      seen->indices.push_back (index);
    if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_EOS)
      seen->eos = true;
    return GST_BUS_PASS;
  }, &seen, nullptr);
  gst_element_set_state (p, GST_STATE_PLAYING);
  auto count = [&seen] {
    std::lock_guard<std::mutex> lk (seen.lock);
    return seen.indices.size ();
  };
  fail_unless (wait_until ([&] { return count () >= 2 && open_connections () >= 2; }, 10));
  GstPad *pad = gst_element_get_static_pad (src, "src");
  fail_unless (gst_pad_send_event (pad, gst_event_new_flush_start ()));
  script ("[]");
  fail_unless (gst_pad_send_event (pad, gst_event_new_flush_stop (TRUE)));
  fail_unless (wait_until ([&seen] { std::lock_guard<std::mutex> lk (seen.lock); return seen.eos; }, 10),
      "no EOS after the flush");
  std::vector<guint64> indices;
  {
    std::lock_guard<std::mutex> lk (seen.lock);
    indices = seen.indices;
  }
  std::sort (indices.begin (), indices.end ());
  fail_unless_equals_int (indices.size (), 4);
  for (guint i = 0; i < 4; i++)
    fail_unless_equals_int (indices[i], i);
  /* 4 before the flush (2 answered, 2 hung), then only the 2 not yet out. */
  fail_unless_equals_int (request_count (), 2);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (pad);
  gst_object_unref (src);
  gst_object_unref (bus);
  gst_object_unref (p);
}
GST_END_TEST;

/* The element asks for the scope with NEED_CONTEXT at READY->PAUSED; an
 * application's sync handler answers with set_context, and the element
 * uses that scope. */
GST_START_TEST (test_need_context)
{
  script ("[]");
  auto scope = std::make_shared<gemini::RateLimitScope> ();
  GstElement *p = gst_parse_launch ((src_desc ("prompt=ctx requests-per-minute=600") + " ! fakesink").c_str (),
      nullptr);
  GstBus *bus = gst_element_get_bus (p);
  struct Ctx {
    std::shared_ptr<gemini::RateLimitScope> scope;
    std::atomic<int> asked {0};
  } ctx {scope, {}};
  gst_bus_set_sync_handler (bus, [] (GstBus *, GstMessage * m, gpointer data) {
    auto *c = static_cast<Ctx *> (data);
    const gchar *type = nullptr;
    if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_NEED_CONTEXT && gst_message_parse_context_type (m, &type)
        && g_str_equal (type, GEMINI_RATE_LIMIT_CONTEXT_TYPE)) {
      c->asked++;
      GstContext *context = gemini::rate_limit_scope_context_new (c->scope);
      gst_element_set_context (GST_ELEMENT (GST_MESSAGE_SRC (m)), context);
      gst_context_unref (context);
    }
    return GST_BUS_PASS;
  }, &ctx, nullptr);
  gst_element_set_state (p, GST_STATE_PLAYING);
  GstMessage *m = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND, GstMessageType (GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  fail_unless (m && GST_MESSAGE_TYPE (m) == GST_MESSAGE_EOS);
  gst_message_unref (m);
  fail_unless_equals_int (ctx.asked.load (), 1);
  /* The limiter of this element lives in the application's scope. */
  fail_unless (scope->describe ().find ("127.0.0.1") != std::string::npos, "%s", scope->describe ().c_str ());
  gst_element_set_state (p, GST_STATE_NULL);
  gst_bus_set_sync_handler (bus, nullptr, nullptr, nullptr);
  gst_object_unref (bus);
  gst_object_unref (p);
}
GST_END_TEST;

static Suite *
throughput_suite (void)
{
  Suite *s = suite_create ("throughput");

  TCase *batch = add_emulator_tcase (s, "prompt-file", 60);
  tcase_add_test (batch, test_prompt_file_text);
  tcase_add_test (batch, test_prompt_file_jsonl);
  tcase_add_test (batch, test_prompt_file_malformed);
  tcase_add_test (batch, test_seed_plus_index);

  TCase *order = add_emulator_tcase (s, "in-flight", 60);
  tcase_add_test (order, test_order_under_random_latencies);
  tcase_add_test (order, test_output_order_completion);
  tcase_add_test (order, test_reorder_cap);
  tcase_add_test (order, test_reorder_bytes);
  tcase_add_test (order, test_flush_completion_order);

  TCase *hedge = add_emulator_tcase (s, "hedging", 60);
  tcase_add_test (hedge, test_hedge_wins);
  tcase_add_test (hedge, test_hedge_budget_floor);

  TCase *limit = add_emulator_tcase (s, "rate-limit", 60);
  tcase_add_test (limit, test_shared_limiter_one_pipeline);
  tcase_add_test (limit, test_need_context);
  tcase_add_test (limit, test_shared_limiter_429);
  tcase_add_test (limit, test_shared_limiter_429_with_cap);
  tcase_add_test (limit, test_rate_limit_context);

  TCase *cache = add_emulator_tcase (s, "cache", 60);
  tcase_add_test (cache, test_cache);

  TCase *cancel = add_emulator_tcase (s, "cancellation", 60);
  tcase_add_test (cancel, test_null_with_eight_in_flight);
  tcase_add_test (cancel, test_eos_with_eight_in_flight);
  tcase_add_test (cancel, test_flush_with_eight_in_flight);
  return s;
}

GST_CHECK_MAIN (throughput);

/* Unit tests of plugin/gemini-prompt-text.cpp: prompt buffers to text, and
 * every refusal with the sentence it gives.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <string>
#include <vector>

#include "gemini-prompt-text.h"
#include "scratch-dir.h"

#include <gst/check/gstcheck.h>
#include <gst/app/gstappsink.h>

using namespace gemini;
using gemini::test::ScratchDir;

/* Compares a std::string result; fail_unless_equals_string would keep a
 * pointer into a temporary. */
#define EXPECT_TEXT(expr, want) \
  do { \
    std::string got_ = (expr); \
    fail_unless_equals_string (got_.c_str (), want); \
  } while (0)

static GstBuffer *
text_buffer (const std::string & bytes)
{
  return bytes.empty () ? gst_buffer_new () : gst_buffer_new_memdup (bytes.data (), bytes.size ());
}

/* The text of `bytes`, failing the test if it is refused. */
static std::string
accept (const std::string & bytes, PromptFormat format = PromptFormat::Utf8)
{
  GstBuffer *buf = text_buffer (bytes);
  std::string text, problem;
  gboolean ok = prompt_from_buffer (buf, format, text, problem);
  gst_buffer_unref (buf);
  fail_unless (ok, "refused: %s", problem.c_str ());
  return text;
}

/* The problem given for `bytes`, failing the test if it is accepted. */
static std::string
refuse (const std::string & bytes, PromptFormat format = PromptFormat::Utf8)
{
  GstBuffer *buf = text_buffer (bytes);
  std::string text = "untouched", problem;
  gboolean ok = prompt_from_buffer (buf, format, text, problem);
  gst_buffer_unref (buf);
  fail_if (ok, "accepted as \"%s\"", text.c_str ());
  fail_unless_equals_string (text.c_str (), "untouched");
  return problem;
}

GST_START_TEST (test_caps)
{
  PromptFormat f = PromptFormat::PangoMarkup;
  GstCaps *caps = gst_caps_from_string ("text/x-raw, format=utf8");
  fail_unless (prompt_format_from_caps (caps, f));
  fail_unless (f == PromptFormat::Utf8);
  gst_caps_unref (caps);

  caps = gst_caps_from_string ("text/x-raw, format=pango-markup");
  fail_unless (prompt_format_from_caps (caps, f));
  fail_unless (f == PromptFormat::PangoMarkup);
  gst_caps_unref (caps);

  for (const char *bad : { "text/x-raw", "text/x-raw, format=utf16", "application/x-subtitle",
           "video/x-raw, format=utf8" }) {
    caps = gst_caps_from_string (bad);
    fail_if (prompt_format_from_caps (caps, f), "accepted %s", bad);
    gst_caps_unref (caps);
  }
  fail_if (prompt_format_from_caps (nullptr, f));
}
GST_END_TEST;

GST_START_TEST (test_plain_text)
{
  EXPECT_TEXT (accept ("a cat in a hat"), "a cat in a hat");
  /* Surrounding whitespace (Unicode too) and a byte-order mark go; CR LF
   * becomes LF; inner whitespace stays. */
  EXPECT_TEXT (accept ("\xEF\xBB\xBF  line one\r\nline two \t\r\n\n"),
      "line one\nline two");
  EXPECT_TEXT (accept ("\xC2\xA0" "caf\xC3\xA9  au lait\xE3\x80\x80"),
      "caf\xC3\xA9  au lait");
  /* Plain text is not markup: tags and entities are kept as typed. */
  EXPECT_TEXT (accept ("<i>x</i> &amp;"), "<i>x</i> &amp;");
}
GST_END_TEST;

GST_START_TEST (test_refuse_empty)
{
  EXPECT_TEXT (refuse (""),
      "the prompt buffer is empty; send text, or drop empty buffers upstream");
  EXPECT_TEXT (refuse (" \r\n\t \xE3\x80\x80"),
      "the prompt buffer holds only whitespace; send text to generate from");
  EXPECT_TEXT (refuse ("<i> </i><b></b>", PromptFormat::PangoMarkup),
      "the prompt markup holds no text, only tags or whitespace; send text to generate from");
}
GST_END_TEST;

GST_START_TEST (test_refuse_too_big)
{
  /* The limit itself is accepted; one byte more is not. */
  std::string at_limit (kMaxPromptBytes, 'a');
  fail_unless_equals_int (accept (at_limit).size (), kMaxPromptBytes);

  std::string ten_mb (10 * 1000 * 1000, 'a');
  EXPECT_TEXT (refuse (ten_mb),
      "the prompt buffer is 10000000 bytes, over the limit of 1048576 bytes; send a shorter "
      "prompt or split the text upstream");
  EXPECT_TEXT (refuse (at_limit + "a"),
      "the prompt buffer is 1048577 bytes, over the limit of 1048576 bytes; send a shorter "
      "prompt or split the text upstream");
}
GST_END_TEST;

GST_START_TEST (test_refuse_not_utf8)
{
  /* "café" in Latin-1: the é is byte 3. */
  EXPECT_TEXT (refuse ("caf\xE9 au lait"),
      "the prompt is not valid UTF-8 at byte offset 3; convert it to UTF-8 upstream (for "
      "example subparse sub-encoding=WINDOWS-1252 for subtitles, or iconv for files)");
  /* A sequence cut short at the end, and in markup. */
  fail_unless (refuse ("ok \xE2\x82").find ("at byte offset 3;") != std::string::npos);
  fail_unless (refuse ("<i>\xFF</i>", PromptFormat::PangoMarkup).find ("at byte offset 3;")
      != std::string::npos);
}
GST_END_TEST;

GST_START_TEST (test_refuse_nul)
{
  EXPECT_TEXT (refuse (std::string ("hello\0world", 11)),
      "the prompt contains a NUL byte at offset 5; send plain text without NUL terminators "
      "or binary data");
  /* A C string sent with its terminator is refused too: silently cutting
   * at the NUL could hide the rest of the text. */
  fail_unless (refuse (std::string ("a prompt\0", 9)).find ("offset 8;") != std::string::npos);
}
GST_END_TEST;

GST_START_TEST (test_markup)
{
  auto M = PromptFormat::PangoMarkup;
  EXPECT_TEXT (accept ("<i>A cat</i> &amp; <b>a dog</b>", M),
      "A cat & a dog");
  EXPECT_TEXT (accept ("<span foreground=\"#ff0000\" size=\"large\">red</span> sky &lt;3", M),
      "red sky <3");
  EXPECT_TEXT (accept ("line one\r\n<u>line two</u>\r\n", M),
      "line one\nline two");
  EXPECT_TEXT (accept ("&#233;t&#xE9; &quot;hot&quot;", M),
      "\xC3\xA9t\xC3\xA9 \"hot\"");
}
GST_END_TEST;

GST_START_TEST (test_bad_markup_falls_back)
{
  auto M = PromptFormat::PangoMarkup;
  /* Stray '<' and '&', unclosed and mismatched tags: GMarkup refuses them;
   * the words stay, tags go, a '<' that starts no tag stays. */
  EXPECT_TEXT (accept ("a < b & <i>c", M), "a < b & c");
  EXPECT_TEXT (accept ("<b>bold <i>both</b> tail</i>", M),
      "bold both tail");
  EXPECT_TEXT (accept ("fish &amp; chips <i>& peas", M),
      "fish & chips & peas");
  EXPECT_TEXT (pango_markup_to_text ("x <3 y"), "x <3 y");
}
GST_END_TEST;

static const char kSrt[] =
    "1\n00:00:01,000 --> 00:00:02,500\n<i>A cat</i> &amp; <b>a dog</b>\n\n"
    "2\n00:00:03,000 --> 00:00:04,000\nFish & chips, <font color=\"#ff0000\">red</font>\r\n"
    "second line\n\n"
    "3\n00:00:05,000 --> 00:00:06,000\nif a < b then <b>c</b>\n\n";

/* Markup as subparse really writes it: an SRT file through filesrc !
 * subparse ! appsink, each buffer given to prompt_from_buffer. */
GST_START_TEST (test_subparse_output)
{
  ScratchDir dir ("test-prompt-text-XXXXXX");
  std::string path = dir.file ("prompts.srt");
  fail_unless (g_file_set_contents (path.c_str (), kSrt, -1, nullptr));

  GError *error = nullptr;
  gchar *desc = g_strdup_printf ("filesrc location=\"%s\" ! subparse ! "
      "appsink name=sink sync=false", path.c_str ());
  GstElement *pipeline = gst_parse_launch (desc, &error);
  g_free (desc);
  fail_unless (pipeline != nullptr, "%s", error ? error->message : "?");
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_PLAYING),
      GST_STATE_CHANGE_ASYNC);

  std::vector<std::string> texts, raw;
  std::vector<GstClockTime> times;
  while (GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (sink), 5 * GST_SECOND)) {
    PromptFormat format = PromptFormat::Utf8;
    fail_unless (prompt_format_from_caps (gst_sample_get_caps (sample), format));
    fail_unless (format == PromptFormat::PangoMarkup);
    GstBuffer *buf = gst_sample_get_buffer (sample);
    GstMapInfo map;
    fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
    raw.emplace_back ((const char *) map.data, map.size);
    gst_buffer_unmap (buf, &map);
    std::string text, problem;
    fail_unless (prompt_from_buffer (buf, format, text, problem), "%s", problem.c_str ());
    texts.push_back (text);
    times.push_back (GST_BUFFER_PTS (buf));
    gst_sample_unref (sample);
  }
  fail_unless (gst_app_sink_is_eos (GST_APP_SINK (sink)));
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (pipeline);

  fail_unless_equals_int (texts.size (), 3);
  /* subparse escapes SRT's literal "&amp;" and "&": the markup holds
   * entities, and the text what the subtitle file said. */
  fail_unless (raw[0].find ("&amp;amp;") != std::string::npos, "%s", raw[0].c_str ());
  fail_unless_equals_string (texts[0].c_str (), "A cat &amp; a dog");
  fail_unless (raw[1].find ("Fish &amp; chips") != std::string::npos, "%s", raw[1].c_str ());
  fail_unless_equals_string (texts[1].c_str (), "Fish & chips, red\nsecond line");
  fail_unless_equals_string (texts[2].c_str (), "if a < b then c");
  fail_unless_equals_uint64 (times[0], 1 * GST_SECOND);
  fail_unless_equals_uint64 (times[2], 5 * GST_SECOND);
}
GST_END_TEST;

static Suite *
prompt_text_suite (void)
{
  Suite *s = suite_create ("prompt-text");
  TCase *tc = tcase_create ("general");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_caps);
  tcase_add_test (tc, test_plain_text);
  tcase_add_test (tc, test_refuse_empty);
  tcase_add_test (tc, test_refuse_too_big);
  tcase_add_test (tc, test_refuse_not_utf8);
  tcase_add_test (tc, test_refuse_nul);
  tcase_add_test (tc, test_markup);
  tcase_add_test (tc, test_bad_markup_falls_back);
  tcase_add_test (tc, test_subparse_output);
  return s;
}

GST_CHECK_MAIN (prompt_text);

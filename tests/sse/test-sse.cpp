/* Unit tests of plugin/gemini-sse.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <string>
#include <vector>

#include "gemini-sse.h"

#include <gst/check/gstcheck.h>

using namespace gemini;

namespace {

/* Feeds `text` in pieces of `piece` bytes (0: at once). */
std::vector<std::string>
split (const std::string & text, gsize piece = 0, gsize max = 1024 * 1024, bool *pending = nullptr,
    SseSplitter::Status *status = nullptr)
{
  SseSplitter s (max);
  std::vector<std::string> events;
  SseSplitter::Status st = SseSplitter::Status::Ok;
  if (piece == 0)
    piece = text.size () ? text.size () : 1;
  for (gsize i = 0; i < text.size () && st == SseSplitter::Status::Ok; i += piece)
    st = s.feed (text.data () + i, std::min (piece, text.size () - i), events);
  if (pending)
    *pending = s.pending ();
  if (status)
    *status = st;
  return events;
}

void
expect_events (const std::vector<std::string> & got, const std::vector<std::string> & want)
{
  fail_unless_equals_int (got.size (), want.size ());
  for (gsize i = 0; i < want.size (); i++)
    fail_unless (got[i] == want[i], "event %u: \"%s\", expected \"%s\"", (guint) i, got[i].c_str (),
        want[i].c_str ());
}

}  // namespace

/* \n\n, \r\r and \r\n\r\n all end an event, mixed in one stream too. */
GST_START_TEST (test_delimiters)
{
  const std::vector<std::string> want {"{\"a\":1}", "{\"b\":2}"};
  for (const char *sep : {"\n", "\r", "\r\n"}) {
    const std::string s = std::string ("data: {\"a\":1}") + sep + sep + "data: {\"b\":2}" + sep + sep;
    expect_events (split (s), want);
  }
  expect_events (split ("data: {\"a\":1}\r\n\r\ndata: {\"b\":2}\n\n"), want);
  expect_events (split ("data: {\"a\":1}\r\rdata: {\"b\":2}\r\n\n"), want);
  /* No space after the colon; "data" without a colon is an empty value. */
  expect_events (split ("data:x\n\ndata\n\n"), {"x", ""});
}
GST_END_TEST;

/* Every piece size, down to one byte: a CRLF split between two pieces is
 * one line end, not two (which would end the event early). */
GST_START_TEST (test_split_chunks)
{
  const std::string s = "data: {\"text\": \"one\"}\r\n\r\n: keep-alive\r\ndata: {\"text\": \"two\"}\r\n\r\n"
      "data: line1\r\ndata: line2\r\n\r\n";
  const std::vector<std::string> want {"{\"text\": \"one\"}", "{\"text\": \"two\"}", "line1\nline2"};
  for (gsize piece = 1; piece <= s.size (); piece++) {
    bool pending = true;
    expect_events (split (s, piece, 1024 * 1024, &pending), want);
    fail_if (pending, "piece %u: bytes held after the last event", (guint) piece);
  }
}
GST_END_TEST;

/* Multi-line data is joined with '\n'; other fields and comments are
 * ignored; an event without data is dropped. */
GST_START_TEST (test_fields_and_comments)
{
  expect_events (split (": comment\nevent: x\nid: 7\nretry: 10\n\n:only a comment\n\n"
          "data: a\ndata:  b\n: mid\ndata\n\n"), {"a\n b\n"});
  /* A leading byte order mark is not part of the first field name. */
  expect_events (split ("\xEF\xBB\xBF" "data: x\n\n", 1), {"x"});
  /* ... but only at the start. */
  expect_events (split ("data: x\n\n\xEF\xBB\xBF" "data: y\n\n"), {"x"});
}
GST_END_TEST;

/* A cut stream: the unfinished event is not handed out, and pending ()
 * says so; at an event boundary nothing is pending. */
GST_START_TEST (test_pending)
{
  bool pending = false;
  expect_events (split ("data: {\"a\":1}\r\n\r\ndata: {\"b\"", 0, 1024, &pending), {"{\"a\":1}"});
  fail_unless (pending);
  expect_events (split ("data: {\"a\":1}\r\n\r\ndata: {\"b\":2}\r\n", 0, 1024, &pending), {"{\"a\":1}"});
  fail_unless (pending);
  expect_events (split ("data: {\"a\":1}\r\n\r\n", 0, 1024, &pending), {"{\"a\":1}"});
  fail_if (pending);
  /* A trailing CR whose LF never came is a whole line end. */
  expect_events (split ("data: {\"a\":1}\r\r", 0, 1024, &pending), {"{\"a\":1}"});
  fail_if (pending);
}
GST_END_TEST;

/* An 8 MB event (a 4K image and its signature in one line), in network-sized
 * pieces and in uneven small ones. */
GST_START_TEST (test_multi_megabyte_event)
{
  std::string payload = "{\"inlineData\":{\"data\":\"" + std::string (8 * 1024 * 1024, 'A') + "\"}}";
  const std::string s = "data: {\"thought\":true}\r\n\r\ndata: " + payload + "\r\n\r\ndata: {\"end\":1}\r\n\r\n";
  for (gsize piece : {gsize (16384), gsize (65521), gsize (256 * 1024)}) {
    bool pending = true;
    SseSplitter::Status st;
    auto events = split (s, piece, 16 * 1024 * 1024, &pending, &st);
    fail_unless (st == SseSplitter::Status::Ok);
    fail_unless_equals_int (events.size (), 3);
    fail_unless (events[1] == payload);
    fail_unless (events[2] == "{\"end\":1}");
    fail_if (pending);
  }
}
GST_END_TEST;

/* The bound counts one event's data and the line being read; it holds
 * however the bytes are split, and the splitter stays failed. */
GST_START_TEST (test_bound_exceeded)
{
  const std::string big = "data: " + std::string (1000, 'x') + "\n\n";
  SseSplitter::Status st;
  /* 1000 data bytes pass a 1000-byte bound (the line is "data: " + 1000). */
  auto events = split (big, 0, 1006, nullptr, &st);
  fail_unless (st == SseSplitter::Status::Ok);
  fail_unless_equals_int (events.size (), 1);
  for (gsize piece : {gsize (1), gsize (7), gsize (0)}) {
    events = split (big, piece, 999, nullptr, &st);
    fail_unless (st == SseSplitter::Status::TooLarge, "piece %u", (guint) piece);
    fail_unless (events.empty ());
  }
  /* Many data lines of one event add up. */
  std::string lines;
  for (int i = 0; i < 100; i++)
    lines += "data: 0123456789\n";
  events = split (lines + "\n", 3, 500, nullptr, &st);
  fail_unless (st == SseSplitter::Status::TooLarge);
  /* Many small events never add up. */
  std::string many;
  for (int i = 0; i < 1000; i++)
    many += "data: 0123456789\r\n\r\n";
  events = split (many, 5, 64, nullptr, &st);
  fail_unless (st == SseSplitter::Status::Ok);
  fail_unless_equals_int (events.size (), 1000);
  /* Failed stays failed. */
  SseSplitter s (4);
  std::vector<std::string> out;
  fail_unless (s.feed ("data: 12345", 11, out) == SseSplitter::Status::TooLarge);
  fail_unless (s.feed ("\n\n", 2, out) == SseSplitter::Status::TooLarge);
  fail_unless (out.empty ());
}
GST_END_TEST;

static Suite *
sse_suite (void)
{
  Suite *s = suite_create ("gemini-sse");
  TCase *tc = tcase_create ("sse");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_delimiters);
  tcase_add_test (tc, test_split_chunks);
  tcase_add_test (tc, test_fields_and_comments);
  tcase_add_test (tc, test_pending);
  tcase_add_test (tc, test_multi_megabyte_event);
  tcase_add_test (tc, test_bound_exceeded);
  return s;
}

GST_CHECK_MAIN (sse);

/* Unit tests of plugin/gemini-input.cpp: prompt files, plain text and JSON
 * Lines, every malformed line refused with its file, line and reason.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gemini-input.h"
#include "gemini-json.h"
#include "gemini-reference.h"
#include "scratch-dir.h"

#include <gst/check/gstcheck.h>
#include <glib/gstdio.h>

using namespace gemini;
using gemini::test::ScratchDir;

/* Copies first: check's macro keeps a pointer past a temporary's life. */
#define assert_str(a, b) G_STMT_START {                                    \
    const std::string _a (a), _b (b);                                      \
    fail_unless_equals_string (_a.c_str (), _b.c_str ());                  \
  } G_STMT_END

static ScratchDir *scratch;

static void
setup (void)
{
  scratch = new ScratchDir ("test-input-XXXXXX");
}

static void
teardown (void)
{
  delete scratch;
  scratch = nullptr;
}

static std::vector<PromptEntry>
parse_ok (const char *name, const std::string & data, const char *base_dir = "/base")
{
  std::vector<PromptEntry> out;
  std::string error;
  fail_unless (parse_prompt_file (name, base_dir, data.data (), data.size (), out, error),
      "%s", error.c_str ());
  fail_unless (error.empty ());
  return out;
}

static std::string
parse_error (const char *name, const std::string & data)
{
  std::vector<PromptEntry> out {PromptEntry {}};
  std::string error;
  fail_if (parse_prompt_file (name, "/base", data.data (), data.size (), out, error),
      "%s parsed: %s", name, data.substr (0, 200).c_str ());
  fail_unless (out.empty ());
  return error;
}

static bool
no_overrides (const PromptEntry & e)
{
  return !e.model && !e.aspect_ratio && !e.image_size && !e.seed && !e.reference_images
      && !e.system_instruction && !e.temperature;
}

/* json-glib's own words for a line, which differ between its versions. */
static std::string
json_says (const std::string & line)
{
  std::string message;
  fail_if (parse_json (line.data (), line.size (), message));
  return message;
}

static double
ms_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / 1000.0;
}

GST_START_TEST (test_plain_text)
{
  auto v = parse_ok ("prompts.txt", "\xef\xbb\xbf# a comment\r\n\r\n  a banana astronaut, watercolor  \r\n"
      "\tnight  city\twith a tab \n   # indented comment\n \t \ntrailing line without newline");
  fail_unless_equals_int (v.size (), 3);
  fail_unless_equals_int (v[0].line, 3);
  assert_str (v[0].prompt.c_str (), "a banana astronaut, watercolor");
  fail_unless_equals_int (v[1].line, 4);
  assert_str (v[1].prompt.c_str (), "night  city\twith a tab");
  fail_unless_equals_int (v[2].line, 7);
  assert_str (v[2].prompt.c_str (), "trailing line without newline");
  for (const auto & e : v)
    fail_unless (no_overrides (e));

  /* UTF-8 kept as is; a '{' later on is just text. */
  v = parse_ok ("p", "caf\xc3\xa9 \xe2\x98\x95\n{\"prompt\": \"x\"}\n");
  fail_unless_equals_int (v.size (), 2);
  assert_str (v[0].prompt.c_str (), "caf\xc3\xa9 \xe2\x98\x95");
  assert_str (v[1].prompt.c_str (), "{\"prompt\": \"x\"}");
}
GST_END_TEST;

GST_START_TEST (test_jsonl_every_key)
{
  auto v = parse_ok ("prompts.jsonl",
      "# options per image\n"
      "{\"prompt\": \" a cat \\n on a mat \", \"model\": \"nano-banana-pro\", \"aspect-ratio\": \"16:9\", "
      "\"image-size\": \"2K\", \"seed\": 2147483647, \"reference-images\": \"a.png, /abs/b.png, sub/c\\\\,d.png\", "
      "\"system-instruction\": \"be brief\", \"temperature\": 2}\r\n"
      "\n"
      "  {\"prompt\": \"x\", \"seed\": 0, \"temperature\": 0.5, \"image-size\": \"512\", \"aspect-ratio\": \"8:1\", "
      "\"reference-images\": [\"r,1.png\", \"/abs/r2.png\", \"d/r\\\\x.png\"]}\n"
      "{\"prompt\": \"y\", \"reference-images\": [], \"system-instruction\": \"\", \"temperature\": 0, "
      "\"model\": \"gemini-3.1-flash-image\"}\n"
      "{\"prompt\": \"z\", \"reference-images\": \"\"}");
  fail_unless_equals_int (v.size (), 4);

  fail_unless_equals_int (v[0].line, 2);
  assert_str (v[0].prompt.c_str (), "a cat \n on a mat");
  assert_str (v[0].model->c_str (), "nano-banana-pro");
  assert_str (v[0].aspect_ratio->c_str (), "16:9");
  assert_str (v[0].image_size->c_str (), "2K");
  fail_unless_equals_int64 (*v[0].seed, G_MAXINT32);
  assert_str (v[0].system_instruction->c_str (), "be brief");
  fail_unless_equals_float (*v[0].temperature, 2.0);
  auto refs = split_reference_list (*v[0].reference_images);
  fail_unless_equals_int (refs.size (), 3);
  assert_str (refs[0].c_str (), "/base/a.png");
  assert_str (refs[1].c_str (), "/abs/b.png");
  assert_str (refs[2].c_str (), "/base/sub/c,d.png");

  fail_unless_equals_int (v[1].line, 4);
  fail_unless_equals_int64 (*v[1].seed, 0);
  fail_unless_equals_float (*v[1].temperature, 0.5);
  assert_str (v[1].image_size->c_str (), "512");
  assert_str (v[1].aspect_ratio->c_str (), "8:1");
  fail_unless (!v[1].model && !v[1].system_instruction);
  refs = split_reference_list (*v[1].reference_images);
  fail_unless_equals_int (refs.size (), 3);
  assert_str (refs[0].c_str (), "/base/r,1.png");
  assert_str (refs[1].c_str (), "/abs/r2.png");
  assert_str (refs[2].c_str (), "/base/d/r\\x.png");

  /* Empty values override the element's with nothing. */
  fail_unless_equals_int (v[2].line, 5);
  assert_str (v[2].reference_images->c_str (), "");
  assert_str (v[2].system_instruction->c_str (), "");
  fail_unless_equals_float (*v[2].temperature, 0.0);
  assert_str (v[2].model->c_str (), "gemini-3.1-flash-image");
  fail_unless (!v[2].seed && !v[2].aspect_ratio && !v[2].image_size);
  assert_str (v[3].reference_images->c_str (), "");

  /* No base directory: relative names stay as written. */
  v = parse_ok ("p.jsonl", "{\"prompt\": \"a\", \"reference-images\": [\"x,y.png\", \"b.png\"]}", ".");
  refs = split_reference_list (*v[0].reference_images);
  fail_unless_equals_int (refs.size (), 2);
  assert_str (refs[0].c_str (), "x,y.png");
  assert_str (refs[1].c_str (), "b.png");
}
GST_END_TEST;

GST_START_TEST (test_detection)
{
  /* By the first line that says something. */
  auto v = parse_ok ("prompts.txt", "\xef\xbb\xbf# comment\n\n   {\"prompt\": \"a\", \"seed\": 3}\n# {not json}\n");
  fail_unless_equals_int (v.size (), 1);
  fail_unless_equals_int (v[0].line, 3);
  fail_unless_equals_int64 (*v[0].seed, 3);
  /* By the name, whatever the first line is. */
  assert_str (parse_error ("p.NDJSON", "hello\n").c_str (),
      "p.NDJSON line 1: not a JSON object (" + json_says ("hello") + ").");
  assert_str (parse_error ("dir/p.jsonl", "\n\n  [1]").c_str (),
      "dir/p.jsonl line 3: not a JSON object (it is an array).");
  /* Once JSON Lines, every line is JSON. */
  assert_str (parse_error ("p.txt", "{\"prompt\": \"a\"}\nsecond prompt\n").c_str (),
      "p.txt line 2: not a JSON object (" + json_says ("second prompt") + ").");
  /* Not JSON Lines: "{" later on, or a name that only contains ".jsonl". */
  fail_unless_equals_int (parse_ok ("p.jsonl.txt", "a\n{\"prompt\": \"b\"}\n").size (), 2);
}
GST_END_TEST;

struct BadCase {
  const char *name;
  std::string data;
  std::string error;
};

GST_START_TEST (test_malformed)
{
  const std::string keys = "(keys: prompt, model, aspect-ratio, image-size, seed, reference-images, "
      "system-instruction, temperature).";
  const std::vector<BadCase> cases {
    {"p.jsonl", "{\"prompt\": \"a\"}\n\n{\"prompt\": \"a\",}\n",
      "p.jsonl line 3: not a JSON object (" + json_says ("{\"prompt\": \"a\",}") + ")."},
    {"p.jsonl", "{\"prompt\": \"a\" \"seed\": 1}",
      "p.jsonl line 1: not a JSON object (" + json_says ("{\"prompt\": \"a\" \"seed\": 1}") + ")."},
    /* Columns are the file's: the line is not trimmed before parsing. */
    {"p.jsonl", "   {\"prompt\": 'a'}", "p.jsonl line 1: not a JSON object (1:15: Parse error: unexpected "
      "character `'' outside a string)."},
    {"p.jsonl", "\"just a string\"", "p.jsonl line 1: not a JSON object (it is a string)."},
    {"p.jsonl", "{\"model\": \"nano-banana\"}", "p.jsonl line 1: no \"prompt\"."},
    {"p.jsonl", "{\"prompt\": \" \\t \"}", "p.jsonl line 1: \"prompt\" is empty."},
    {"p.jsonl", "{\"promt\": \"a cat\"}", "p.jsonl line 1: unknown key \"promt\" " + keys},
    {"p.jsonl", "{\"prompt\": \"a\", \"aspect_ratio\": \"1:1\"}",
      "p.jsonl line 1: unknown key \"aspect_ratio\" " + keys},
    {"p.jsonl", "{\"prompt\": 5}", "p.jsonl line 1: \"prompt\" is a number, not a string."},
    {"p.jsonl", "{\"prompt\": \"a\", \"model\": true}", "p.jsonl line 1: \"model\" is a boolean, not a string."},
    {"p.jsonl", "{\"prompt\": \"a\", \"aspect-ratio\": null}",
      "p.jsonl line 1: \"aspect-ratio\" is null, not a string."},
    {"p.jsonl", "{\"prompt\": \"a\", \"image-size\": 2}", "p.jsonl line 1: \"image-size\" is a number, not a string."},
    {"p.jsonl", "{\"prompt\": \"a\", \"system-instruction\": {}}",
      "p.jsonl line 1: \"system-instruction\" is an object, not a string."},
    {"p.jsonl", "{\"prompt\": \"a\", \"seed\": \"7\"}", "p.jsonl line 1: \"seed\" is a string, not an integer."},
    {"p.jsonl", "{\"prompt\": \"a\", \"seed\": 1.5}",
      "p.jsonl line 1: \"seed\" is a number with a fraction or an exponent, not an integer."},
    {"p.jsonl", "{\"prompt\": \"a\", \"seed\": 1e3}",
      "p.jsonl line 1: \"seed\" is a number with a fraction or an exponent, not an integer."},
    {"p.jsonl", "{\"prompt\": \"a\", \"seed\": -1}", "p.jsonl line 1: \"seed\" is -1, which is not in 0..2147483647."},
    {"p.jsonl", "{\"prompt\": \"a\", \"seed\": 2147483648}",
      "p.jsonl line 1: \"seed\" is 2147483648, which is not in 0..2147483647."},
    /* json-glib would wrap these to -1 and to 1. */
    {"p.jsonl", "{\"prompt\": \"a\", \"seed\": 99999999999999999999}",
      "p.jsonl line 1: the number 99999999999999999999 is too large."},
    {"p.jsonl", "{\"prompt\": \"a 1234567890123456789\", \"temperature\": 18446744073709551617}",
      "p.jsonl line 1: the number 18446744073709551617 is too large."},
    {"p.jsonl", "{\"prompt\": \"a\", \"seed\": 999999999999999999}",
      "p.jsonl line 1: \"seed\" is 999999999999999999, which is not in 0..2147483647."},
    {"p.jsonl", "{\"prompt\": \"a\", \"temperature\": 1e400}",
      "p.jsonl line 1: \"temperature\" is inf, which is not in 0..2."},
    {"p.jsonl", "{\"prompt\": \"a\", \"temperature\": \"0.5\"}",
      "p.jsonl line 1: \"temperature\" is a string, not a number."},
    {"p.jsonl", "{\"prompt\": \"a\", \"temperature\": 2.5}",
      "p.jsonl line 1: \"temperature\" is 2.5, which is not in 0..2."},
    {"p.jsonl", "{\"prompt\": \"a\", \"temperature\": -0.1}",
      "p.jsonl line 1: \"temperature\" is -0.1, which is not in 0..2."},
    {"prompts.jsonl", "\n\n{\"prompt\": \"a\", \"aspect-ratio\": \"7:5\"}",
      "prompts.jsonl line 3: \"aspect-ratio\" is \"7:5\", which is not one of 1:1, 2:3, 3:2, 3:4, 4:3, 4:5, "
      "5:4, 9:16, 16:9, 21:9, 1:4, 4:1, 1:8, 8:1."},
    {"p.jsonl", "{\"prompt\": \"a\", \"image-size\": \"1k\"}",
      "p.jsonl line 1: \"image-size\" is \"1k\", which is not one of 512, 1K, 2K, 4K (the K is upper-case)."},
    {"p.jsonl", "{\"prompt\": \"a\", \"image-size\": \"8K\"}",
      "p.jsonl line 1: \"image-size\" is \"8K\", which is not one of 512, 1K, 2K, 4K."},
    {"p.jsonl", "{\"prompt\": \"a\", \"model\": \"nano banana\"}",
      "p.jsonl line 1: \"model\" is \"nano banana\", which is not a model id (letters, digits, '-', '.' and "
      "'_', at most 128)."},
    {"p.jsonl", "{\"prompt\": \"a\", \"model\": \"../x\\ny\"}",
      "p.jsonl line 1: \"model\" is \"../x\\x0ay\", which is not a model id (letters, digits, '-', '.' and "
      "'_', at most 128)."},
    {"p.jsonl", "{\"prompt\": \"a\", \"reference-images\": 5}",
      "p.jsonl line 1: \"reference-images\" is a number, not a string or an array of strings."},
    {"p.jsonl", "{\"prompt\": \"a\", \"reference-images\": [\"a.png\", 1]}",
      "p.jsonl line 1: \"reference-images\" item 2 is a number, not a string."},
    {"p.jsonl", "{\"prompt\": \"a\", \"reference-images\": [\" \"]}",
      "p.jsonl line 1: \"reference-images\" item 1 is empty."},
    {"p.jsonl", "{\"prompt\": \"a\", \"reference-images\": [\"/d/a.png \"]}",
      "p.jsonl line 1: \"reference-images\" item 1, \"/d/a.png \", cannot be passed on: a name must not start "
      "or end with white space or end in '\\'."},
    {"p.jsonl", "{\"prompt\": \"a\", \"reference-images\": [\"/d\\\\\", \"b.png\"]}",
      "p.jsonl line 1: \"reference-images\" item 1, \"/d\\\\\", cannot be passed on: a name must not start "
      "or end with white space or end in '\\'."},
    {"p.jsonl", "{\"prompt\": \"a\\u0000b\"}", "p.jsonl line 1: a string contains \\u0000 (a NUL character)."},
    {"p.txt", "ok\nab\xe9" "c\n", "p.txt line 2: not valid UTF-8 (byte 3 is 0xE9)."},
    {"p.jsonl", "{\"prompt\": \"caf\xe9\"}", "p.jsonl line 1: not valid UTF-8 (byte 16 is 0xE9)."},
    {"p.txt", std::string ("a\nb\0c\n", 6), "p.txt line 2: contains a NUL byte (byte 2)."},
    {"p.txt", "ok\n\x1b[31mred\n",
      "p.txt line 2: contains the control character U+001B: a prompt is one line of text (use JSON Lines for "
      "anything else)."},
    {"p.txt", "old\rmac\rline\rends\n",
      "p.txt line 1: contains the control character U+000D: a prompt is one line of text (use JSON Lines for "
      "anything else)."},
    {"p.txt", "a\n" + std::string (kMaxPromptLineBytes + 1, 'x') + "\n", "p.txt line 2: longer than 1 MiB."},
    {"p.txt", "# nothing\n\n \t \r\n#\n", "p.txt: no prompts (every line is blank or a comment)."},
    {"p.txt", "", "p.txt: no prompts (every line is blank or a comment)."},
    {"p.jsonl", "\xef\xbb\xbf", "p.jsonl: no prompts (every line is blank or a comment)."},
  };
  for (const auto & c : cases)
    assert_str (parse_error (c.name, c.data).c_str (), c.error.c_str ());

  /* A line of exactly 1 MiB is fine. */
  fail_unless_equals_int (parse_ok ("p.txt", std::string (kMaxPromptLineBytes, 'x'))[0].prompt.size (),
      kMaxPromptLineBytes);
}
GST_END_TEST;

GST_START_TEST (test_entry_limit)
{
  std::string data = "# many\n";
  for (gsize i = 0; i < kMaxPromptFileLines; i++)
    data += "p\n";
  fail_unless_equals_int (parse_ok ("p.txt", data).size (), kMaxPromptFileLines);
  data += "\n# comments do not count\none more\n";
  assert_str (parse_error ("p.txt", data).c_str (),
      "p.txt line 100004: more than 100000 prompts in one file: split it.");
}
GST_END_TEST;

GST_START_TEST (test_load_file)
{
  std::string path = scratch->file ("prompts.jsonl");
  const std::string text = "{\"prompt\": \"a\", \"reference-images\": [\"ref,1.png\", \"/abs.png\"]}\n"
      "{\"prompt\": \"b\", \"reference-images\": \"sub/x.png\"}\n";
  fail_unless (g_file_set_contents (path.c_str (), text.data (), (gssize) text.size (), nullptr));
  std::vector<PromptEntry> v;
  PromptFileError kind;
  std::string error;
  fail_unless (load_prompt_file (path, v, kind, error), "%s", error.c_str ());
  fail_unless (kind == PromptFileError::None);
  fail_unless_equals_int (v.size (), 2);
  auto refs = split_reference_list (*v[0].reference_images);
  fail_unless_equals_int (refs.size (), 2);
  assert_str (refs[0].c_str (), (scratch->path () + "/ref,1.png").c_str ());
  assert_str (refs[1].c_str (), "/abs.png");
  assert_str (v[1].reference_images->c_str (), (scratch->path () + "/sub/x.png").c_str ());

  /* A content error names the path as given. */
  std::string bad = scratch->file ("bad.txt");
  fail_unless (g_file_set_contents (bad.c_str (), "# none\n", -1, nullptr));
  fail_if (load_prompt_file (bad, v, kind, error));
  fail_unless (kind == PromptFileError::Settings);
  fail_unless (v.empty ());
  assert_str (error.c_str (), (bad + ": no prompts (every line is blank or a comment).").c_str ());
}
GST_END_TEST;

GST_START_TEST (test_load_refused)
{
  std::vector<PromptEntry> v;
  PromptFileError kind;
  std::string error;

  std::string missing = scratch->file ("missing.txt");
  fail_if (load_prompt_file (missing, v, kind, error));
  fail_unless (kind == PromptFileError::OpenRead);
  assert_str (error.c_str (), (missing + ": cannot be read: No such file or directory.").c_str ());

  fail_if (load_prompt_file (scratch->path (), v, kind, error));
  fail_unless (kind == PromptFileError::Settings);
  assert_str (error.c_str (),
      (scratch->path () + ": cannot be read: it is a directory, not a regular file.").c_str ());

  /* A FIFO with no writer: refused at once, not waited on. */
  std::string fifo = scratch->file ("fifo.txt");
  fail_unless_equals_int (mkfifo (fifo.c_str (), 0600), 0);
  gint64 start = g_get_monotonic_time ();
  fail_if (load_prompt_file (fifo, v, kind, error));
  fail_unless (ms_since (start) < 500);
  fail_unless (kind == PromptFileError::Settings);
  assert_str (error.c_str (), (fifo + ": cannot be read: it is not a regular file.").c_str ());

  /* /dev/null is a device, not an empty file. */
  fail_if (load_prompt_file ("/dev/null", v, kind, error));
  fail_unless (kind == PromptFileError::Settings);
  assert_str (error.c_str (), "/dev/null: cannot be read: it is not a regular file.");

  /* Over the limit: sparse, so cheap; refused from its size, not read. */
  std::string big = scratch->file ("big.txt");
  int fd = g_open (big.c_str (), O_WRONLY | O_CREAT, 0600);
  fail_unless (fd >= 0);
  fail_unless_equals_int (ftruncate (fd, (off_t) kMaxPromptFileBytes + 1), 0);
  close (fd);
  start = g_get_monotonic_time ();
  fail_if (load_prompt_file (big, v, kind, error));
  fail_unless (ms_since (start) < 500);
  fail_unless (kind == PromptFileError::Settings);
  assert_str (error.c_str (), (big + ": cannot be read: it is larger than 16 MiB.").c_str ());
  fail_unless (v.empty ());
}
GST_END_TEST;

static Suite *
input_suite (void)
{
  Suite *s = suite_create ("input");
  TCase *tc = tcase_create ("general");
  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_add_test (tc, test_plain_text);
  tcase_add_test (tc, test_jsonl_every_key);
  tcase_add_test (tc, test_detection);
  tcase_add_test (tc, test_malformed);
  tcase_add_test (tc, test_entry_limit);
  tcase_add_test (tc, test_load_file);
  tcase_add_test (tc, test_load_refused);
  return s;
}

GST_CHECK_MAIN (input);

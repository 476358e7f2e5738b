/* gst-gemini tests: the emulator's VCR cassette reader, on the three real
 * recordings in tests/data/recorded and on small YAML snippets.
 * SPDX-License-Identifier: LGPL-2.1-or-later */

#include <string>
#include <vector>

#include "cassette.h"
#include "gemini-image.h"
#include "image-check.h"
#include "json-check.h"
#include "test-files.h"

/* Last: gstcheck.h defines a `fail` macro that breaks C++ headers. */
#include <gst/check/gstcheck.h>

using namespace gemini;
using namespace gemini::emulator;
using namespace gemini::test;

/* Loads a recording and checks it took well under a second or two. */
static std::vector<Interaction>
load (const char *name)
{
  std::vector<Interaction> out;
  std::string error;
  const gint64 start = g_get_monotonic_time ();
  fail_unless (load_cassette (recorded_path (name), out, error), "%s", error.c_str ());
  const gint64 ms = (g_get_monotonic_time () - start) / 1000;
  fail_unless (ms < 3000, "loading %s took %" G_GINT64_FORMAT " ms", name, ms);
  return out;
}

/* The recorded image: base64 that decodes to `format`, `width` x `height`. */
static void
check_image (const char *b64, int width, int height, ImageFormat format)
{
  DecodedImage img = decode_base64_image (b64, format);
  fail_unless_equals_int (img.width, width);
  fail_unless_equals_int (img.height, height);
}

GST_START_TEST (test_pro_recording)
{
  auto list = load ("test_google_image_generation_with_text.yaml");
  fail_unless_equals_int (list.size (), 1);
  const Interaction & it = list[0];
  fail_unless_equals_string (it.method.c_str (), "POST");
  fail_unless_equals_string (it.uri.c_str (), "https://generativelanguage.googleapis.com/v1beta/models/"
      "gemini-3-pro-image-preview:generateContent");
  fail_unless_equals_int (it.status, 200);
  fail_unless_equals_string (it.response_header ("Content-Type"), "application/json; charset=UTF-8");
  /* A header recorded as a list keeps every value. */
  int vary = 0;
  for (const auto & [name, value] : it.response_headers)
    vary += name == "vary";
  fail_unless_equals_int (vary, 3);

  fail_unless_equals_string (str_at (it.request_body.get (), "contents.0.parts.0.text"),
      "Generate an illustrated two-sentence story about an axolotl.");
  fail_unless_equals_string (str_at (it.request_body.get (), "generationConfig.responseModalities.1"), "IMAGE");

  JsonNode *body = it.response_body.get ();
  fail_unless_equals_string (str_at (body, "candidates.0.finishReason"), "STOP");
  fail_unless_equals_int (int_at (body, "candidates.0.index"), 0);
  fail_unless_equals_string (str_at (body, "modelVersion"), "gemini-3-pro-image-preview");
  fail_unless_equals_int (int_at (body, "usageMetadata.candidatesTokenCount"), 1283);
  fail_unless_equals_int (int_at (body, "usageMetadata.thoughtsTokenCount"), 174);
  fail_unless_equals_int (int_at (body, "usageMetadata.candidatesTokensDetails.0.tokenCount"), 1120);
  /* The |+ block scalar keeps its trailing newlines. */
  const char *text = str_at (body, "candidates.0.content.parts.0.text");
  fail_unless (g_str_has_prefix (text, "A little axolotl named Archie"));
  fail_unless (g_str_has_suffix (text, "\n"));
  fail_unless_equals_int (strlen (str_at (body, "candidates.0.content.parts.0.thoughtSignature")), 1100216);
  fail_unless_equals_int (strlen (str_at (body, "candidates.0.content.parts.1.thoughtSignature")), 1098588);
  const char *data = str_at (body, "candidates.0.content.parts.1.inlineData.data");
  fail_unless_equals_int (strlen (data), 1136480);
  fail_unless_equals_string (str_at (body, "candidates.0.content.parts.1.inlineData.mimeType"), "image/jpeg");
  check_image (data, 1408, 768, ImageFormat::Jpeg);
}
GST_END_TEST;

GST_START_TEST (test_flash_recording)
{
  auto list = load ("test_google_image_or_text_output.yaml");
  fail_unless_equals_int (list.size (), 2);
  /* generationConfig: {} is an empty object, not null. */
  JsonNode *config = must_at (list[0].request_body.get (), "generationConfig");
  fail_unless (JSON_NODE_HOLDS_OBJECT (config));
  fail_unless_equals_int (json_object_get_size (json_node_get_object (config)), 0);

  JsonNode *text_only = list[0].response_body.get ();
  fail_unless_equals_string (str_at (text_only, "candidates.0.finishReason"), "STOP");
  JsonArray *parts = json_node_get_array (must_at (text_only, "candidates.0.content.parts"));
  fail_unless_equals_int (json_array_get_length (parts), 1);
  /* A folded plain scalar is one string with single spaces. */
  fail_unless (strstr (str_at (text_only, "candidates.0.content.parts.0.text"), "One evening, a glimmering portal"));

  JsonNode *image = list[1].response_body.get ();
  fail_unless_equals_string (str_at (image, "candidates.0.content.parts.0.text"),
      "Here's an image of an axolotl for you! ");
  const char *data = str_at (image, "candidates.0.content.parts.1.inlineData.data");
  fail_unless_equals_int (strlen (data), 2033576);
  check_image (data, 1024, 1024, ImageFormat::Png);
  fail_unless_equals_int (int_at (image, "usageMetadata.candidatesTokensDetails.0.tokenCount"), 1290);
}
GST_END_TEST;

GST_START_TEST (test_vertex_recording)
{
  auto list = load ("test_google_vertexai_image_generation_with_output_format.yaml");
  fail_unless_equals_int (list.size (), 1);
  JsonNode *body = list[0].response_body.get ();
  /* Quoted in the YAML: stays a string. */
  fail_unless_equals_string (str_at (body, "createTime"), "2025-12-18T00:23:47.329132Z");
  fail_unless_equals_string (str_at (body, "usageMetadata.trafficType"), "ON_DEMAND");
  fail_if (json_object_has_member (json_node_get_object (must_at (body, "candidates.0")), "index"));
  fail_unless_equals_int (int_at (list[0].request_body.get (),
      "generationConfig.imageConfig.imageOutputOptions.compressionQuality"), 85);
  const char *data = str_at (body, "candidates.0.content.parts.0.inlineData.data");
  fail_unless_equals_int (strlen (data), 309756);
  check_image (data, 1024, 1024, ImageFormat::Jpeg);
  /* content-length was recorded quoted: a string header value. */
  fail_unless_equals_string (list[0].response_header ("content-length"), "310533");
}
GST_END_TEST;

GST_START_TEST (test_scalar_typing)
{
  const char yaml[] =
      "int: 42\nneg: -7\nhex: 0x1F\nfloat: 1.5\nexp: 2e3\nquoted_int: '42'\ndq: \"true\"\n"
      "yes_bool: true\nno_bool: False\nnull1: null\nnull2: ~\nempty:\nword: hello world\n"
      "version: 1.2.3\nhuge: 123456789012345678901234567890\nstr_tag: !!str 12\n"
      "flow: {a: 1, b: [x, 'y', 3]}\nlist:\n- 1\n- two\nanchor: &A {k: v}\nalias: *A\n"
      "literal: |\n  line1\n  line2\nfolded: >\n  a\n  b\n";
  std::string error;
  JsonNodePtr root = yaml_to_json (yaml, sizeof yaml - 1, error);
  fail_unless (root != nullptr, "%s", error.c_str ());
  JsonNode *r = root.get ();
  fail_unless_equals_int (int_at (r, "int"), 42);
  fail_unless_equals_int (int_at (r, "neg"), -7);
  fail_unless_equals_int (int_at (r, "hex"), 31);
  fail_unless_equals_float (json_node_get_double (must_at (r, "float")), 1.5);
  fail_unless_equals_float (json_node_get_double (must_at (r, "exp")), 2000.0);
  fail_unless_equals_string (str_at (r, "quoted_int"), "42");
  fail_unless_equals_string (str_at (r, "dq"), "true");
  fail_unless (bool_at (r, "yes_bool"));
  fail_unless (json_node_get_value_type (must_at (r, "no_bool")) == G_TYPE_BOOLEAN);
  fail_if (bool_at (r, "no_bool"));
  fail_unless (JSON_NODE_HOLDS_NULL (must_at (r, "null1")));
  fail_unless (JSON_NODE_HOLDS_NULL (must_at (r, "null2")));
  fail_unless (JSON_NODE_HOLDS_NULL (must_at (r, "empty")));
  fail_unless_equals_string (str_at (r, "word"), "hello world");
  fail_unless_equals_string (str_at (r, "version"), "1.2.3");
  fail_unless_equals_string (str_at (r, "huge"), "123456789012345678901234567890");
  fail_unless_equals_string (str_at (r, "str_tag"), "12");
  fail_unless_equals_int (int_at (r, "flow.a"), 1);
  fail_unless_equals_string (str_at (r, "flow.b.1"), "y");
  fail_unless_equals_int (int_at (r, "flow.b.2"), 3);
  fail_unless_equals_string (str_at (r, "list.1"), "two");
  fail_unless_equals_string (str_at (r, "alias.k"), "v");
  fail_unless_equals_string (str_at (r, "literal"), "line1\nline2\n");
  fail_unless_equals_string (str_at (r, "folded"), "a b\n");
}
GST_END_TEST;

GST_START_TEST (test_errors)
{
  std::string error;
  const char bad[] = "a: [1, 2\nb: c\n";
  fail_unless (yaml_to_json (bad, sizeof bad - 1, error) == nullptr);
  fail_unless (error.find ("line") != std::string::npos, "%s", error.c_str ());

  std::vector<Interaction> out;
  const char not_cassette[] = "hello: world\n";
  fail_if (load_cassette_from_data (not_cassette, sizeof not_cassette - 1, out, error));
  fail_unless (error.find ("interactions") != std::string::npos, "%s", error.c_str ());

  fail_if (load_cassette ("/nonexistent/cassette.yaml", out, error));
  fail_unless (error.find ("/nonexistent/cassette.yaml") != std::string::npos, "%s", error.c_str ());

  /* A VCR body stored as a JSON string is parsed too. */
  const char string_body[] =
      "interactions:\n- request:\n    method: GET\n    uri: http://x/\n    body: null\n"
      "  response:\n    status: {code: 503, message: Service Unavailable}\n"
      "    headers: {Content-Type: [application/json]}\n"
      "    body: {string: '{\"error\": {\"code\": 503}}'}\n";
  fail_unless (load_cassette_from_data (string_body, sizeof string_body - 1, out, error), "%s", error.c_str ());
  fail_unless_equals_int (out.size (), 1);
  fail_unless (out[0].request_body == nullptr);
  fail_unless_equals_int (out[0].status, 503);
  fail_unless_equals_int (int_at (out[0].response_body.get (), "error.code"), 503);
}
GST_END_TEST;

static Suite *
cassette_suite (void)
{
  Suite *s = suite_create ("emulator-cassette");
  TCase *tc = tcase_create ("cassette");
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_pro_recording);
  tcase_add_test (tc, test_flash_recording);
  tcase_add_test (tc, test_vertex_recording);
  tcase_add_test (tc, test_scalar_typing);
  tcase_add_test (tc, test_errors);
  suite_add_tcase (s, tc);
  return s;
}

GST_CHECK_MAIN (cassette);

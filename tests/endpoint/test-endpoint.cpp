/* Unit tests of plugin/gemini-endpoint.cpp: where requests go and whether
 * the key may travel there.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <string>

#include "gemini-endpoint.h"
#include "gemini-protocol.h"

#include <gst/check/gstcheck.h>

using namespace gemini;

GST_START_TEST (test_loopback)
{
  for (const char *h : {"localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1", "[::1]"})
    fail_unless (host_is_loopback (h), "%s is loopback", h);
  for (const char *h : {"gemini.test", "10.0.0.1", "192.168.1.1", "::2", "[fe80::1]", "",
           "localhost.example.com", "127.0.0.1.example.com"})
    fail_if (host_is_loopback (h), "%s is not loopback", h);
}
GST_END_TEST;

/* fail_unless_equals_string keeps the pointer: compare owned strings. */
#define assert_str(expr, expected) \
  G_STMT_START { std::string got_ = (expr); fail_unless_equals_string (got_.c_str (), expected); } G_STMT_END

GST_START_TEST (test_redact)
{
  assert_str (redact_url ("http://user:s3cret@host:8080/v1beta?x=1"), "http://user@host:8080/v1beta?x=1");
  assert_str (redact_url ("https://generativelanguage.googleapis.com"),
      "https://generativelanguage.googleapis.com");
  /* Not a URL at all: whatever stands before '@' is dropped. */
  std::string bad = redact_url ("ht tp://user:s3cret@host");
  fail_if (bad.find ("s3cret") != std::string::npos, "%s", bad.c_str ());
  assert_str (url_origin ("https://u:p@evil.example:8443/a/b?k=v"), "https://evil.example:8443");
  assert_str (url_origin ("http://127.0.0.1/x"), "http://127.0.0.1");
  assert_str (url_origin ("not a url"), "");
}
GST_END_TEST;

GST_START_TEST (test_parse_endpoint)
{
  Endpoint e;
  std::string error;
  fail_unless (parse_endpoint ("http://127.0.0.1:1234", e, error));
  fail_unless (e.plain_http && e.loopback);
  fail_unless (parse_endpoint ("https://generativelanguage.googleapis.com/v1beta", e, error));
  fail_if (e.plain_http || e.loopback);
  assert_str (e.host, "generativelanguage.googleapis.com");

  fail_if (parse_endpoint ("ftp://user:s3cret@host", e, error));
  fail_unless (error.find ("is not an http(s) URL") != std::string::npos, "%s", error.c_str ());
  fail_if (error.find ("s3cret") != std::string::npos, "password echoed: %s", error.c_str ());
  fail_if (parse_endpoint ("http:///nohost", e, error));
}
GST_END_TEST;

/* Issue 6 item 3: a loopback endpoint never goes through a proxy, whatever
 * the proxy property or http_proxy say. */
GST_START_TEST (test_route)
{
  Endpoint local, remote, remote_http;
  std::string error;
  fail_unless (parse_endpoint ("http://127.0.0.1:9", local, error));
  fail_unless (parse_endpoint ("https://gemini.example", remote, error));
  fail_unless (parse_endpoint ("http://gemini.example", remote_http, error));

  Route r = resolve_route (local, "http://proxy.example:3128");
  fail_unless (r.direct);
  fail_unless (check_route (local, r, false, error));

  r = resolve_route (remote, "http://user:pw@proxy.example:3128");
  fail_if (r.direct);
  assert_str (r.proxy, "http://user@proxy.example:3128");
  /* https through an http proxy is a CONNECT tunnel: TLS end to end. */
  fail_unless (check_route (remote, r, false, error), "%s", error.c_str ());

  r = resolve_route (remote, "");
  fail_if (r.direct);
  fail_unless (r.proxy.empty ());

  /* Plain http to another host, directly or through the proxy: refused
   * unless allowed, and the message names both, without the password. */
  r = resolve_route (remote_http, "http://user:pw@proxy.example:3128");
  fail_if (check_route (remote_http, r, false, error));
  fail_unless (error.find ("Refusing to send the API key over plain http to gemini.example")
      != std::string::npos, "%s", error.c_str ());
  fail_unless (error.find ("through the proxy http://user@proxy.example:3128") != std::string::npos,
      "%s", error.c_str ());
  fail_unless (error.find ("allow-insecure-http=true") != std::string::npos);
  fail_if (error.find ("pw@") != std::string::npos);
  fail_unless (check_route (remote_http, r, true, error));

  r = resolve_route (remote, "proxy.example:3128");
  fail_if (check_route (remote, r, true, error));
  fail_unless (error.find ("is not a proxy URI") != std::string::npos, "%s", error.c_str ());
  r = resolve_route (remote, "socks5://127.0.0.1:1080");
  fail_unless (check_route (remote, r, false, error), "%s", error.c_str ());
}
GST_END_TEST;

/* Issue 6 item 4: libsoup drops a header value with CR/LF and the server
 * then answers 403; refuse such a key with a message that says why. */
GST_START_TEST (test_api_key)
{
  std::string error;
  fail_unless (api_key_is_valid ("AIzaSyA-abc_123", error));
  const char *secret = "AIzaSy-SECRET";
  struct { std::string key; const char *says; } bad[] = {
    {std::string (secret) + "\r\nX-Evil: 1", "a line break (CR or LF) at character 14 of"},
    {std::string (secret) + "\nmore", "a line break"},
    {std::string ("AIza Sy"), "white space"},
    {std::string ("AIza\x01Sy"), "a control character"},
    {std::string ("AIza\xc3\xa9"), "a non-ASCII character"},
  };
  for (const auto & b : bad) {
    fail_if (api_key_is_valid (b.key, error));
    fail_unless (error.find (b.says) != std::string::npos, "%s", error.c_str ());
    fail_if (error.find ("SECRET") != std::string::npos, "the key is echoed: %s", error.c_str ());
  }
}
GST_END_TEST;

/* Vertex AI's URLs: global, regional, express mode, an endpoint override. */
GST_START_TEST (test_vertex_urls)
{
  assert_str (vertex_default_endpoint ("global"), "https://aiplatform.googleapis.com");
  assert_str (vertex_default_endpoint (""), "https://aiplatform.googleapis.com");
  assert_str (vertex_default_endpoint ("us-central1"), "https://us-central1-aiplatform.googleapis.com");
  assert_str (build_vertex_request_url (vertex_default_endpoint ("global"), "my-proj", "global",
          "gemini-2.5-flash-image"),
      "https://aiplatform.googleapis.com/v1/projects/my-proj/locations/global/publishers/google/models/"
      "gemini-2.5-flash-image:generateContent");
  assert_str (build_vertex_request_url (vertex_default_endpoint ("europe-west4"), "p_1", "europe-west4", "m"),
      "https://europe-west4-aiplatform.googleapis.com/v1/projects/p_1/locations/europe-west4/publishers/google/"
      "models/m:generateContent");
  /* Express mode: no project, v1beta1, as google-genai sends it. */
  assert_str (build_vertex_request_url (vertex_default_endpoint ("global"), "", "global", "m"),
      "https://aiplatform.googleapis.com/v1beta1/publishers/google/models/m:generateContent");
  /* api-endpoint replaces scheme and host; its trailing '/' go. */
  assert_str (build_vertex_request_url ("http://127.0.0.1:8080/", "my-proj", "us-central1", "m"),
      "http://127.0.0.1:8080/v1/projects/my-proj/locations/us-central1/publishers/google/models/m:generateContent");
  assert_str (build_vertex_request_url ("http://127.0.0.1:8080", "", "global", "m"),
      "http://127.0.0.1:8080/v1beta1/publishers/google/models/m:generateContent");
  /* An empty location is the default. */
  assert_str (build_vertex_request_url ("https://gw.example/vertex", "p", "", "m"),
      "https://gw.example/vertex/v1/projects/p/locations/global/publishers/google/models/m:generateContent");
  /* previews=true streams, in both forms. */
  assert_str (build_vertex_request_url ("http://127.0.0.1:8080", "p", "global", "m", true),
      "http://127.0.0.1:8080/v1/projects/p/locations/global/publishers/google/models/m:streamGenerateContent?alt=sse");
  assert_str (build_vertex_request_url ("http://127.0.0.1:8080", "", "global", "m", true),
      "http://127.0.0.1:8080/v1beta1/publishers/google/models/m:streamGenerateContent?alt=sse");
}
GST_END_TEST;

/* Project and location go into the URL path: nothing but letters, digits,
 * '-' and '_', with an error that names the property and what to do. */
GST_START_TEST (test_vertex_validation)
{
  std::string property, error;
  fail_unless (vertex_target_is_valid ("my-proj", "global", property, error));
  fail_unless (vertex_target_is_valid ("", "us-central1", property, error));
  fail_unless (vertex_target_is_valid ("proj_2", "europe-west4", property, error));
  struct { const char *project, *location, *property, *says; } bad[] = {
    {"my/proj", "global", "project", "GOOGLE_CLOUD_PROJECT"},
    {"..", "global", "project", "letters, digits, '-' and '_'"},
    {"my proj", "global", "project", "gcloud config get-value project"},
    {"p?x=1", "global", "project", "not a Google Cloud project id"},
    {"p", "", "location", "GOOGLE_CLOUD_LOCATION"},
    {"p", "us-central1/../x", "location", "us-central1"},
    {"p", "us.central1", "location", "not a Vertex AI location"},
    {"p", "global#", "location", "global (the default)"},
  };
  for (const auto & b : bad) {
    property.clear ();
    fail_if (vertex_target_is_valid (b.project, b.location, property, error), "%s %s", b.project, b.location);
    fail_unless_equals_string (property.c_str (), b.property);
    fail_unless (error.find (b.says) != std::string::npos, "%s", error.c_str ());
  }
  fail_unless (vertex_segment_is_valid (std::string (128, 'a')));
  fail_if (vertex_segment_is_valid (std::string (129, 'a')));
}
GST_END_TEST;

/* A token is checked like a key, and never echoed. */
GST_START_TEST (test_access_token)
{
  std::string error;
  fail_unless (access_token_is_valid ("ya29.a0AfB_byC-secret.token", error));
  fail_if (access_token_is_valid ("ya29.SECRET\n", error));
  fail_unless (error.find ("The access token contains a line break") != std::string::npos, "%s", error.c_str ());
  fail_unless (error.find ("gcloud auth print-access-token") != std::string::npos, "%s", error.c_str ());
  fail_if (error.find ("SECRET") != std::string::npos, "the token is echoed: %s", error.c_str ());

  /* Plain http elsewhere: the refusal names the token, not the key. */
  Endpoint e;
  fail_unless (parse_endpoint ("http://vertex.example", e, error));
  fail_if (check_route (e, resolve_route (e, ""), false, error, "the access token"));
  fail_unless (error.find ("Refusing to send the access token over plain http") != std::string::npos,
      "%s", error.c_str ());
}
GST_END_TEST;

static Suite *
endpoint_suite (void)
{
  Suite *s = suite_create ("gemini-endpoint");
  TCase *tc = tcase_create ("endpoint");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_loopback);
  tcase_add_test (tc, test_redact);
  tcase_add_test (tc, test_parse_endpoint);
  tcase_add_test (tc, test_route);
  tcase_add_test (tc, test_api_key);
  tcase_add_test (tc, test_vertex_urls);
  tcase_add_test (tc, test_vertex_validation);
  tcase_add_test (tc, test_access_token);
  return s;
}

GST_CHECK_MAIN (endpoint);

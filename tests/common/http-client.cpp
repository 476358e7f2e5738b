/* gst-gemini tests: one HTTP request with libsoup.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "http-client.h"

#include "bytes.h"

namespace gemini::test {

const char *
HttpReply::header (const char *name) const
{
  for (const auto & [n, v] : headers)
    if (g_ascii_strcasecmp (n.c_str (), name) == 0)
      return v.c_str ();
  return nullptr;
}

SoupSession *
http_session (const HttpOptions & options)
{
  /* A resolver of our own: no proxy from the environment can be involved. */
  GObjectPtr<GProxyResolver> resolver (g_simple_proxy_resolver_new (
      options.proxy.empty () ? nullptr : options.proxy.c_str (), nullptr));
  SoupSession *session = soup_session_new_with_options ("proxy-resolver", resolver.get (), "timeout",
      options.timeout_s, nullptr);
  if (options.tls_db)
    soup_session_set_tls_database (session, options.tls_db);
  return session;
}

HttpReply
http_request (const std::string & method, const std::string & url, const std::string * body,
    const HttpOptions & options)
{
  HttpReply r;
  GObjectPtr<SoupSession> session (http_session (options));
  GObjectPtr<SoupMessage> msg (soup_message_new (method.c_str (), url.c_str ()));
  if (!msg) {
    r.error.reset (g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "bad URL %s", url.c_str ()));
    return r;
  }
  for (const auto & [n, v] : options.headers)
    soup_message_headers_append (soup_message_get_request_headers (msg.get ()), n.c_str (), v.c_str ());
  if (body) {
    GBytesPtr b (bytes_of (*body));
    soup_message_set_request_body_from_bytes (msg.get (), "application/json", b.get ());
  }
  const gint64 start = g_get_monotonic_time ();
  GBytesPtr reply (soup_session_send_and_read (session.get (), msg.get (), nullptr, out_error (r.error)));
  r.seconds = (g_get_monotonic_time () - start) / 1e6;
  if (!reply)
    return r;
  r.status = soup_message_get_status (msg.get ());
  r.body = string_of (reply.get ());
  SoupMessageHeadersIter it;
  soup_message_headers_iter_init (&it, soup_message_get_response_headers (msg.get ()));
  const char *n, *v;
  while (soup_message_headers_iter_next (&it, &n, &v))
    r.headers.emplace_back (n, v);
  const char *ct = r.header ("Content-Type");
  r.content_type = ct ? ct : "";
  if (r.content_type.starts_with ("application/json")) {
    std::string json_error;
    r.json = parse_json (r.body.data (), r.body.size (), json_error);
  }
  return r;
}

}  // namespace gemini::test

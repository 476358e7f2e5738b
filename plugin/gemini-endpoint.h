/* gst-gemini: where requests go, and whether the key may travel there.
 *
 * Parses api-endpoint, decides the route (direct or through a proxy) and
 * refuses routes on which the key would travel in clear text to another
 * machine. Knows nothing about the element, so it is unit-tested alone.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <string>

namespace gemini {

/* True for "localhost", 127.0.0.0/8 and ::1 (bracketed or not). */
bool host_is_loopback (const std::string & host);

/* The URL with any password (and auth parameters) removed, for messages and
 * logs: "http://user:pw@host/x" -> "http://user@host/x". A string that is not
 * a URL is returned with everything up to the last '@' before the host
 * dropped, so a typo cannot echo a password either. */
std::string redact_url (const std::string & url);

/* "scheme://host[:port]" of a URL: a target named in a message without its
 * path, query or credentials. "" when it is not a URL. */
std::string url_origin (const std::string & url);

struct Endpoint {
  std::string url;        /* as given */
  std::string redacted;   /* redact_url (url) */
  std::string host;
  bool plain_http = false;
  bool loopback = false;
};

/* True for Google's own Gemini API host (generativelanguage.googleapis.com,
 * any case, with or without the final dot): the host whose model
 * retirements the catalogue records. A gateway or an emulator may still
 * serve a retired id. */
bool endpoint_is_gemini_api (const Endpoint & endpoint);

/* Parses an http(s) base URL; on failure `error` says what is wrong
 * (redacted). */
bool parse_endpoint (const std::string & url, Endpoint & out, std::string & error);

/* The route a request takes. */
struct Route {
  bool direct = true;     /* no proxy at all */
  std::string proxy;      /* the proxy URI when not direct, redacted */
  std::string source;     /* "the proxy property", "GIO's proxy settings (http_proxy, …)" */
};

/* Loopback endpoints are never proxied (a proxy elsewhere would carry the
 * request off the machine); otherwise `proxy_property` when set, else
 * GIO's default resolver (http_proxy, https_proxy, no_proxy, desktop
 * settings). */
Route resolve_route (const Endpoint & endpoint, const std::string & proxy_property);

/* The key travels in a header: refuses, with a message that says why and
 * what to do, any route on which it would reach another machine in clear
 * text (plain http to a host that is not loopback, directly or through a
 * proxy), unless `allow_insecure_http`. An https endpoint reached through
 * an http proxy is fine: libsoup tunnels it with CONNECT and TLS runs end
 * to end, so the proxy sees the host name only. */
bool check_route (const Endpoint & endpoint, const Route & route, bool allow_insecure_http,
    std::string & error, const char *credential = "the API key");

/* The key must be a header value: printable ASCII without CR/LF (libsoup
 * silently drops a header with a line break, and the server then answers
 * a misleading 403). `error` never contains the key. */
bool api_key_is_valid (const std::string & key, std::string & error);

/* The same for a Vertex AI OAuth access token (Authorization: Bearer). */
bool access_token_is_valid (const std::string & token, std::string & error);

/* Vertex AI's project and location go into the URL path: each must be
 * letters, digits, '-' and '_' (an empty project is express mode). On
 * failure `property` names the one at fault ("project" or "location") and
 * `error` says what to do. */
bool vertex_target_is_valid (const std::string & project, const std::string & location,
    std::string & property, std::string & error);

}  // namespace gemini

/* gst-gemini: where requests go, and whether the key may travel there.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-endpoint.h"

#include <gio/gio.h>

#include "gemini-protocol.h"
#include "glib-raii.h"

namespace gemini {

namespace {

struct GUriUnref {
  void operator() (GUri * u) const { if (u) g_uri_unref (u); }
};
using GUriPtr = std::unique_ptr<GUri, GUriUnref>;

/* HAS_PASSWORD splits "user:pw" so that the password can be hidden. */
GUriPtr
parse_uri (const std::string & url)
{
  return GUriPtr (g_uri_parse (url.c_str (),
          (GUriFlags) (G_URI_FLAGS_HAS_PASSWORD | G_URI_FLAGS_HAS_AUTH_PARAMS), nullptr));
}

}  // namespace

bool
host_is_loopback (const std::string & host)
{
  if (g_ascii_strcasecmp (host.c_str (), "localhost") == 0)
    return true;
  std::string bare = host;
  /* GUri keeps IPv6 literals bracketed. */
  if (bare.size () > 2 && bare.front () == '[' && bare.back () == ']')
    bare = bare.substr (1, bare.size () - 2);
  GObjectPtr<GInetAddress> addr (g_inet_address_new_from_string (bare.c_str ()));
  return addr && g_inet_address_get_is_loopback (addr.get ());
}

std::string
redact_url (const std::string & url)
{
  if (GUriPtr uri = parse_uri (url)) {
    GCharPtr s (g_uri_to_string_partial (uri.get (),
            (GUriHideFlags) (G_URI_HIDE_PASSWORD | G_URI_HIDE_AUTH_PARAMS)));
    return s.get ();
  }
  /* Not a URL: still never echo what could be "user:password@". */
  auto at = url.rfind ('@');
  if (at == std::string::npos)
    return url;
  auto scheme = url.find ("://");
  std::string head = scheme != std::string::npos && scheme < at ? url.substr (0, scheme + 3) : "";
  return head + "[REDACTED]@" + url.substr (at + 1);
}

std::string
url_origin (const std::string & url)
{
  GUriPtr uri = parse_uri (url);
  if (!uri || !g_uri_get_scheme (uri.get ()) || !g_uri_get_host (uri.get ()))
    return "";
  std::string s = std::string (g_uri_get_scheme (uri.get ())) + "://" + g_uri_get_host (uri.get ());
  if (g_uri_get_port (uri.get ()) > 0)
    s += ":" + std::to_string (g_uri_get_port (uri.get ()));
  return s;
}

bool
parse_endpoint (const std::string & url, Endpoint & out, std::string & error)
{
  out = Endpoint ();
  out.url = url;
  out.redacted = redact_url (url);
  GUriPtr uri = parse_uri (url);
  const char *scheme = uri ? g_uri_get_scheme (uri.get ()) : nullptr;
  const char *host = uri ? g_uri_get_host (uri.get ()) : nullptr;
  if (!uri || !host || !*host
      || (g_strcmp0 (scheme, "https") != 0 && g_strcmp0 (scheme, "http") != 0)) {
    error = "The api-endpoint \"" + out.redacted + "\" is not an http(s) URL, for example "
        "https://generativelanguage.googleapis.com.";
    return false;
  }
  out.host = host;
  out.plain_http = g_strcmp0 (scheme, "http") == 0;
  out.loopback = host_is_loopback (out.host);
  return true;
}

Route
resolve_route (const Endpoint & endpoint, const std::string & proxy_property)
{
  Route r;
  if (endpoint.loopback)
    return r;
  r.direct = false;
  if (!proxy_property.empty ()) {
    r.proxy = redact_url (proxy_property);
    r.source = "the proxy property";
  } else {
    /* Resolved per request by libsoup on its own thread: a PAC lookup must
     * not block a state change. */
    r.source = "GIO's proxy settings (http_proxy, https_proxy, no_proxy)";
  }
  return r;
}

bool
check_route (const Endpoint & endpoint, const Route & route, bool allow_insecure_http,
    std::string & error, const char *credential)
{
  if (!route.direct && !route.proxy.empty ()) {
    GUriPtr proxy = parse_uri (route.proxy);
    const char *scheme = proxy ? g_uri_get_scheme (proxy.get ()) : nullptr;
    static const char *const schemes[] = {"http", "https", "socks", "socks4", "socks4a", "socks5"};
    bool known = false;
    for (const char *s : schemes)
      known = known || g_strcmp0 (scheme, s) == 0;
    if (!known || !g_uri_get_host (proxy.get ())) {
      error = "The proxy \"" + route.proxy + "\" is not a proxy URI: use http://HOST:PORT, "
          "https://HOST:PORT or socks5://HOST:PORT.";
      return false;
    }
  }
  if (endpoint.plain_http && !endpoint.loopback && !allow_insecure_http) {
    error = std::string ("Refusing to send ") + credential + " over plain http to " + endpoint.host + " (api-endpoint \""
        + endpoint.redacted + "\"";
    if (!route.direct && !route.proxy.empty ())
      error += ", through the proxy " + route.proxy;
    error += "): use https, or set allow-insecure-http=true if the network path is trusted.";
    return false;
  }
  return true;
}

namespace {

/* `what` names the credential ("The API key"); `hint` says what it
 * usually looks like. Never quotes the value. */
bool
header_value_is_valid (const std::string & value, const char *what, const char *hint, std::string & error)
{
  for (gsize i = 0; i < value.size (); i++) {
    auto c = (guchar) value[i];
    if (c >= 0x21 && c < 0x7f)
      continue;
    GCharPtr where (g_strdup_printf ("at character %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT,
            i + 1, value.size ()));
    const char *kind = c == '\r' || c == '\n' ? "a line break (CR or LF)"
        : c == ' ' || c == '\t' ? "white space"
        : c < 0x20 || c == 0x7f ? "a control character" : "a non-ASCII character";
    error = std::string (what) + " contains " + kind + " " + where.get ()
        + ": an HTTP header cannot carry it. " + hint
        + "; check how it was set (a file read with its line ending, a pasted quote).";
    return false;
  }
  return true;
}

}  // namespace

bool
api_key_is_valid (const std::string & key, std::string & error)
{
  return header_value_is_valid (key, "The API key", "Gemini keys are letters, digits, '-' and '_'", error);
}

bool
access_token_is_valid (const std::string & token, std::string & error)
{
  return header_value_is_valid (token, "The access token",
      "Access tokens from gcloud auth print-access-token are printable ASCII on one line", error);
}

bool
vertex_target_is_valid (const std::string & project, const std::string & location,
    std::string & property, std::string & error)
{
  if (!project.empty () && !vertex_segment_is_valid (project)) {
    property = "project";
    error = "The project \"" + project + "\" is not a Google Cloud project id: use letters, digits, "
        "'-' and '_' only (the id gcloud config get-value project prints, not the display name), "
        "set with the project property or GOOGLE_CLOUD_PROJECT.";
    return false;
  }
  if (!vertex_segment_is_valid (location)) {
    property = "location";
    error = "The location \"" + location + "\" is not a Vertex AI location: use global (the default) "
        "or a region such as us-central1 (letters, digits, '-' and '_'), set with the location "
        "property or GOOGLE_CLOUD_LOCATION.";
    return false;
  }
  return true;
}

bool
endpoint_is_gemini_api (const Endpoint & endpoint)
{
  std::string host = endpoint.host;
  if (!host.empty () && host.back () == '.')
    host.pop_back ();
  return g_ascii_strcasecmp (host.c_str (), "generativelanguage.googleapis.com") == 0;
}

}  // namespace gemini

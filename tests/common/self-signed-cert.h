/* gst-gemini tests: a throw-away self-signed certificate for 127.0.0.1,
 * made with the openssl command line at test time (nothing secret is kept
 * in the repository).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <string>

namespace gemini::test {

/* Writes DIR/cert.pem and DIR/key.pem (RSA 2048, CN and subjectAltName
 * IP:127.0.0.1, valid one day). Returns false, with `why`, when openssl is
 * missing or fails: callers skip their TLS checks then. */
inline bool
make_self_signed_cert (const std::string & dir, std::string & cert, std::string & key, std::string & why)
{
  gchar *openssl = g_find_program_in_path ("openssl");
  if (!openssl) {
    why = "openssl is not installed";
    return false;
  }
  gchar *c = g_build_filename (dir.c_str (), "cert.pem", nullptr);
  gchar *k = g_build_filename (dir.c_str (), "key.pem", nullptr);
  cert = c;
  key = k;
  g_free (c);
  g_free (k);
  const gchar *argv[] = {
    openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
    "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1",
    "-keyout", key.c_str (), "-out", cert.c_str (), nullptr,
  };
  gchar *err_text = nullptr;
  gint status = 0;
  GError *error = nullptr;
  const gboolean spawned = g_spawn_sync (nullptr, const_cast<gchar **> (argv), nullptr,
      G_SPAWN_STDOUT_TO_DEV_NULL, nullptr, nullptr, nullptr, &err_text, &status, &error);
  g_free (openssl);
  bool ok = spawned && g_spawn_check_wait_status (status, nullptr);
  if (!spawned)
    why = std::string ("cannot run openssl: ") + error->message;
  else if (!ok)
    why = std::string ("openssl req failed: ") + (err_text ? err_text : "");
  g_clear_error (&error);
  g_free (err_text);
  return ok;
}

}  // namespace gemini::test

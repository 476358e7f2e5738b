/* gst-gemini emulator: command line. Prints exactly one line to stdout,
 * "gemini-emulator listening on http://HOST:PORT" (https:// with
 * --tls-cert/--tls-key), then serves until
 * SIGTERM or SIGINT. See docs/emulator.md.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib-unix.h>
#include <glib.h>

#include <csignal>
#include <cstdio>
#include <string>

#include "emulator-server.h"
#include "glib-raii.h"

namespace {

struct CliOptions {
  gchar *host = nullptr;
  gint port = 0;
  gchar *api_key = nullptr;
  gchar *access_token = nullptr;
  gchar *script = nullptr;
  gchar *recorded_dir = nullptr;
  gchar *tls_cert = nullptr;
  gchar *tls_key = nullptr;
  gint latency_ms = 0;
  gint list_page_size = 0;
  gboolean quiet = FALSE;
  gboolean allow_remote = FALSE;

  ~CliOptions ()
  {
    g_free (host);
    g_free (api_key);
    g_free (access_token);
    g_free (script);
    g_free (recorded_dir);
    g_free (tls_cert);
    g_free (tls_key);
  }
};

bool
parse_args (int & argc, char **& argv, CliOptions & o, std::string & error)
{
  const GOptionEntry entries[] = {
    {"host", 0, 0, G_OPTION_ARG_STRING, &o.host, "Address to bind (default 127.0.0.1)", "ADDR"},
    {"port", 0, 0, G_OPTION_ARG_INT, &o.port, "Port (default 0: any free port)", "PORT"},
    {"allow-remote", 0, 0, G_OPTION_ARG_NONE, &o.allow_remote, "Allow a non-loopback --host", nullptr},
    {"api-key", 0, 0, G_OPTION_ARG_STRING, &o.api_key,
        "Accept only this API key (default: any non-empty key)", "KEY"},
    {"access-token", 0, 0, G_OPTION_ARG_STRING, &o.access_token,
        "Accept only this OAuth token in Authorization: Bearer (default: any non-empty token)", "TOKEN"},
    {"script", 0, 0, G_OPTION_ARG_FILENAME, &o.script, "Scripted behaviours (JSON), see docs/emulator.md",
        "FILE"},
    {"recorded-dir", 0, 0, G_OPTION_ARG_FILENAME, &o.recorded_dir,
        "Directory of VCR cassettes for \"replay\" steps", "DIR"},
    {"tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &o.tls_cert,
        "Serve HTTPS with this PEM certificate (needs --tls-key)", "FILE"},
    {"tls-key", 0, 0, G_OPTION_ARG_FILENAME, &o.tls_key, "PEM private key of --tls-cert", "FILE"},
    {"latency-ms", 0, 0, G_OPTION_ARG_INT, &o.latency_ms, "Default delay of every answer (default 0)", "MS"},
    {"list-page-size", 0, 0, G_OPTION_ARG_INT, &o.list_page_size,
        "Cap ListModels pages at N models (default: the API's 1000), to force pagination", "N"},
    {"quiet", 'q', 0, G_OPTION_ARG_NONE, &o.quiet, "Do not log one line per request", nullptr},
    {},
  };
  std::unique_ptr<GOptionContext, decltype (&g_option_context_free)> ctx (
      g_option_context_new ("- Gemini Developer API emulator for tests"), g_option_context_free);
  g_option_context_set_summary (ctx.get (),
      "Answers POST /v1beta/models/{model}:generateContent like the Gemini API, with\n"
      "deterministic images and scripted failures, and ListModels (GET /v1beta/models).\n"
      "It serves the served and deprecated models of the project's model catalogue\n"
      "(plugin/gemini-models.cpp); retired ids answer 404 except to a \"replay\" step.\n"
      "Never use a real API key with it.");
  g_option_context_add_main_entries (ctx.get (), entries, nullptr);
  gemini::GErrorPtr err;
  if (!g_option_context_parse (ctx.get (), &argc, &argv, gemini::out_error (err))) {
    error = err->message;
    return false;
  }
  if (argc > 1) {
    error = std::string ("unexpected argument \"") + argv[1] + "\"";
    return false;
  }
  if (o.port < 0 || o.port > 65535 || o.latency_ms < 0) {
    error = "--port must be 0..65535 and --latency-ms not negative";
    return false;
  }
  if (o.list_page_size < 0 || o.list_page_size > 1000) {
    error = "--list-page-size must be 1..1000 (0: no cap)";
    return false;
  }
  if (!o.tls_cert != !o.tls_key) {
    error = "--tls-cert and --tls-key go together";
    return false;
  }
  return true;
}

gboolean
on_quit_signal (gpointer loop)
{
  g_main_loop_quit (static_cast<GMainLoop *> (loop));
  return G_SOURCE_CONTINUE;
}

bool
load_script (gemini::emulator::Server & server, const char * path, std::string & error)
{
  gchar *contents = nullptr;
  gsize len = 0;
  gemini::GErrorPtr err;
  if (!g_file_get_contents (path, &contents, &len, gemini::out_error (err))) {
    error = err->message;
    return false;
  }
  gemini::GCharPtr owner (contents);
  if (!server.set_script (std::string (contents, len), error)) {
    error = std::string (path) + ": " + error;
    return false;
  }
  return true;
}

}  // namespace

int
main (int argc, char **argv)
{
  /* A closed stdout pipe or a vanished client must not kill the emulator. */
  signal (SIGPIPE, SIG_IGN);

  CliOptions cli;
  std::string error;
  if (!parse_args (argc, argv, cli, error)) {
    g_printerr ("gemini-emulator: %s\n", error.c_str ());
    return 2;
  }
  gemini::emulator::ServerOptions opts;
  if (cli.host)
    opts.host = cli.host;
  opts.port = static_cast<guint16> (cli.port);
  opts.allow_remote = cli.allow_remote;
  if (cli.api_key)
    opts.api_key = std::string (cli.api_key);
  if (cli.access_token)
    opts.access_token = std::string (cli.access_token);
  if (cli.recorded_dir)
    opts.recorded_dir = cli.recorded_dir;
  if (cli.tls_cert)
    opts.tls_cert_file = cli.tls_cert;
  if (cli.tls_key)
    opts.tls_key_file = cli.tls_key;
  opts.latency_ms = static_cast<guint> (cli.latency_ms);
  opts.list_page_size = static_cast<guint> (cli.list_page_size);
  opts.quiet = cli.quiet;

  gemini::emulator::Server server (opts);
  if (cli.script && !load_script (server, cli.script, error)) {
    g_printerr ("gemini-emulator: --script %s\n", error.c_str ());
    return 1;
  }
  std::string url;
  if (!server.start (url, error)) {
    g_printerr ("gemini-emulator: %s\n", error.c_str ());
    return 1;
  }

  gemini::GMainLoopPtr loop (g_main_loop_new (nullptr, FALSE));
  const guint term = g_unix_signal_add (SIGTERM, on_quit_signal, loop.get ());
  const guint intr = g_unix_signal_add (SIGINT, on_quit_signal, loop.get ());
  printf ("gemini-emulator listening on %s\n", url.c_str ());
  fflush (stdout);
  g_main_loop_run (loop.get ());
  g_source_remove (term);
  g_source_remove (intr);
  server.stop ();
  if (!opts.quiet)
    g_printerr ("gemini-emulator: stopped\n");
  return 0;
}

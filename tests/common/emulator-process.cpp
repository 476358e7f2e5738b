/* gst-gemini tests: the gemini-emulator child process.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "emulator-process.h"

#include <gio/gio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "http-client.h"
#include "plugin/glib-raii.h"

namespace gemini::test {

namespace {

constexpr gint64 kStartTimeoutUs = 10 * G_TIME_SPAN_SECOND;
constexpr gint64 kStopTimeoutUs = 5 * G_TIME_SPAN_SECOND;
constexpr char kListening[] = "gemini-emulator listening on ";

/* Runs a private main context until `done` or the deadline. Async GIO
 * callbacks of operations started under it are dispatched here only. */
class PrivateLoop {
public:
  PrivateLoop () : ctx_ (g_main_context_new ()) { g_main_context_push_thread_default (ctx_.get ()); }
  ~PrivateLoop () { g_main_context_pop_thread_default (ctx_.get ()); }
  PrivateLoop (const PrivateLoop &) = delete;
  PrivateLoop & operator= (const PrivateLoop &) = delete;

  /* Returns false on timeout. */
  bool run_until (const bool & done, gint64 timeout_us)
  {
    const gint64 deadline = g_get_monotonic_time () + timeout_us;
    while (!done) {
      if (g_get_monotonic_time () >= deadline)
        return false;
      /* Wake up at least every 50 ms to look at the clock. */
      GSource *tick = g_timeout_source_new (50);
      g_source_set_callback (tick, [] (gpointer) { return G_SOURCE_REMOVE; }, nullptr, nullptr);
      g_source_attach (tick, ctx_.get ());
      g_main_context_iteration (ctx_.get (), TRUE);
      g_source_destroy (tick);
      g_source_unref (tick);
    }
    return true;
  }

  void drain () { while (g_main_context_iteration (ctx_.get (), FALSE)) {} }

private:
  GMainContextPtr ctx_;
};

struct ReadLine {
  bool done = false;
  GCharPtr line;
  GErrorPtr error;
};

void
on_line (GObject * source, GAsyncResult * res, gpointer data)
{
  auto *r = static_cast<ReadLine *> (data);
  r->line.reset (g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), res, nullptr,
      out_error (r->error)));
  r->done = true;
}

}  // namespace

struct EmulatorProcess::Impl {
  GObjectPtr<GSubprocess> proc;
  /* Kept open: the emulator's stdout must not become a broken pipe. */
  GObjectPtr<GDataInputStream> out;
  std::string url;
  std::string tls_cert_file;  /* --tls-cert: the control calls trust it */
  guint16 port = 0;
  pid_t owner = 0;

  void spawn (const std::vector<std::string> & extra_args);
  void wait_listening ();
  void terminate ();
  /* One call to a control endpoint; g_error () unless it answers 200 (and
   * JSON, with `want_json`). A fresh session each time: the object may be
   * used from a process forked after it was created. */
  HttpReply control (const char *method, const char *path, const std::string * body, bool want_json);
};

void
EmulatorProcess::Impl::spawn (const std::vector<std::string> & extra_args)
{
  const char *exe = g_getenv ("GEMINI_EMULATOR");
  if (!exe || !*exe)
    g_error ("EmulatorProcess: GEMINI_EMULATOR is not set (run the tests with meson test)");
  std::vector<const char *> argv {exe, "--host", "127.0.0.1", "--port", "0"};
  const char *recorded = g_getenv ("GEMINI_RECORDED_DIR");
  bool has_recorded = false;
  for (gsize i = 0; i < extra_args.size (); i++) {
    const std::string & a = extra_args[i];
    has_recorded = has_recorded || a.starts_with ("--recorded-dir");
    if (a == "--tls-cert" && i + 1 < extra_args.size ())
      tls_cert_file = extra_args[i + 1];
    else if (a.starts_with ("--tls-cert="))
      tls_cert_file = a.substr (strlen ("--tls-cert="));
  }
  if (recorded && *recorded && !has_recorded) {
    argv.push_back ("--recorded-dir");
    argv.push_back (recorded);
  }
  for (const std::string & a : extra_args)
    argv.push_back (a.c_str ());
  argv.push_back (nullptr);
  GErrorPtr err;
  proc.reset (g_subprocess_newv (argv.data (), G_SUBPROCESS_FLAGS_STDOUT_PIPE, out_error (err)));
  if (!proc)
    g_error ("EmulatorProcess: cannot start %s: %s", exe, err->message);
  owner = getpid ();
  out.reset (g_data_input_stream_new (g_subprocess_get_stdout_pipe (proc.get ())));
}

void
EmulatorProcess::Impl::wait_listening ()
{
  PrivateLoop loop;
  ReadLine r;
  GObjectPtr<GCancellable> cancel (g_cancellable_new ());
  g_data_input_stream_read_line_async (out.get (), G_PRIORITY_DEFAULT, cancel.get (), on_line, &r);
  if (!loop.run_until (r.done, kStartTimeoutUs)) {
    g_cancellable_cancel (cancel.get ());
    loop.run_until (r.done, kStopTimeoutUs);
    terminate ();
    g_error ("EmulatorProcess: no \"listening on\" line within 10 s");
  }
  if (!r.line) {
    terminate ();
    g_error ("EmulatorProcess: the emulator exited before listening%s%s", r.error ? ": " : "",
        r.error ? r.error->message : "");
  }
  const char *line = r.line.get ();
  if (!g_str_has_prefix (line, kListening)) {
    terminate ();
    g_error ("EmulatorProcess: unexpected first line \"%s\"", line);
  }
  url = line + strlen (kListening);
  const char *colon = strrchr (url.c_str (), ':');
  port = colon ? static_cast<guint16> (g_ascii_strtoull (colon + 1, nullptr, 10)) : 0;
  if (port == 0)
    g_error ("EmulatorProcess: no port in \"%s\"", line);
}

/* True once `pid` has exited (or was already reaped). WNOWAIT leaves the
 * zombie for GLib's child watch to reap. */
static bool
wait_exit (pid_t pid, gint64 timeout_us)
{
  const gint64 deadline = g_get_monotonic_time () + timeout_us;
  for (;;) {
    siginfo_t info = {};
    if (waitid (P_PID, static_cast<id_t> (pid), &info, WEXITED | WNOHANG | WNOWAIT) == -1)
      return errno != EINTR;  /* ECHILD: GLib reaped it already */
    if (info.si_pid == pid)
      return true;
    if (g_get_monotonic_time () >= deadline)
      return false;
    g_usleep (10 * 1000);
  }
}

/* The signal is sent with kill () and the exit seen with waitid (), not
 * with g_subprocess_send_signal ()/g_subprocess_wait_async (): GSubprocess
 * does both from GLib's worker thread, and a test process forked by check
 * after its parent started that thread has the worker's context but no
 * thread running it, so the signal would never be sent. */
void
EmulatorProcess::Impl::terminate ()
{
  if (!proc || owner != getpid ())
    return;
  const char *id = g_subprocess_get_identifier (proc.get ());
  if (id) {
    const pid_t pid = static_cast<pid_t> (g_ascii_strtoll (id, nullptr, 10));
    kill (pid, SIGTERM);
    if (!wait_exit (pid, kStopTimeoutUs)) {
      g_printerr ("EmulatorProcess: no exit 5 s after SIGTERM, killing it\n");
      kill (pid, SIGKILL);
      wait_exit (pid, kStopTimeoutUs);
    }
  }
  proc.reset ();
}

EmulatorProcess::EmulatorProcess (const std::vector<std::string> & extra_args) : impl_ (std::make_unique<Impl> ())
{
  impl_->spawn (extra_args);
  impl_->wait_listening ();
}

EmulatorProcess::~EmulatorProcess ()
{
  impl_->terminate ();
}

const std::string &
EmulatorProcess::base_url () const
{
  return impl_->url;
}

guint16
EmulatorProcess::port () const
{
  return impl_->port;
}

HttpReply
EmulatorProcess::Impl::control (const char *method, const char *path, const std::string * body, bool want_json)
{
  GObjectPtr<GTlsDatabase> tls_db;
  if (!tls_cert_file.empty ()) {
    /* An HTTPS emulator: trust exactly its (self-signed) certificate. */
    GErrorPtr err;
    tls_db.reset (g_tls_file_database_new (tls_cert_file.c_str (), out_error (err)));
    if (!tls_db)
      g_error ("EmulatorProcess: cannot load %s: %s", tls_cert_file.c_str (), err->message);
  }
  HttpOptions options;
  options.tls_db = tls_db.get ();
  HttpReply r = http_request (method, url + path, body, options);
  if (r.error)
    g_error ("EmulatorProcess: %s %s failed: %s", method, path, r.error->message);
  if (r.status != 200)
    g_error ("EmulatorProcess: %s %s gave HTTP %u: %s", method, path, r.status, r.body.c_str ());
  if (want_json && !r.json)
    g_error ("EmulatorProcess: %s %s is not JSON: %s", method, path, r.body.c_str ());
  return r;
}

void
EmulatorProcess::set_script (const std::string & script_json)
{
  impl_->control ("POST", "/emulator/script", &script_json, false);
}

JsonNode *
EmulatorProcess::requests ()
{
  return impl_->control ("GET", "/emulator/requests", nullptr, true).json.release ();
}

JsonNode *
EmulatorProcess::status ()
{
  return impl_->control ("GET", "/emulator/status", nullptr, true).json.release ();
}

void
EmulatorProcess::reset ()
{
  const std::string empty;
  impl_->control ("POST", "/emulator/reset", &empty, false);
}

}  // namespace gemini::test

/* gst-gemini tests: what the geminiimagesrc suites share. An emulator
 * fixture with a scratch directory, a pipeline runner that collects what
 * the application sees (EOS or error, samples, element messages,
 * warnings), and checks on the result.
 *
 * The checks use GstCheck's assertions, so they are for check tests only.
 * This header does not include <gst/check/gstcheck.h>: a test includes it
 * after all C++ standard headers (its fail() macro breaks <ios>).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "emulator-fixture.h"
#include "emulator-process.h"
#include "plugin/glib-raii.h"

#include <gst/gst.h>

namespace gemini::test {

/* ------------------------------------------------------------ fixture */

/* The emulator fixture (emu, start_emulator, add_emulator_tcase, tmp_path)
 * is in emulator-fixture.h. */

/* "geminiimagesrc name=src api-endpoint=E api-key=test-key <props>", with
 * E the emulator's base URL unless `endpoint` is given. */
std::string src_desc (const std::string & props, const std::string & endpoint = "");

/* ------------------------------------------------------- the emulator */

/* Fresh emulator state (empty request log, counters at 0) and a script. */
void script (const std::string & json);
/* generateContent requests since the last reset (the log keeps 64 only). */
guint request_count ();
/* Open connections to the emulator, now. */
gint64 open_connections ();
/* Polls `done` every 5 ms; false if it is still false after `seconds` times
 * test_time_scale (): a bound for failing, never a measurement. */
bool wait_until (const std::function<bool ()> & done, double seconds);
/* Fails unless `n` requests have arrived within `seconds`. */
void wait_requests (guint n, double seconds = 10);

/* ---------------------------------------------------- running pipelines */

double seconds_since (gint64 start_us);
double ms_since (gint64 start_us);

/* $GEMINI_TEST_TIME_SCALE, at least 1: how much slower than the plain build
 * this run is (.ci/sanitizers.sh sets 3 for ASan, as it does for meson's
 * timeouts, and 60 for its rerun with whole allocation stacks). */
double test_time_scale ();
/* The bound a state change (or flush, or EOS) must return within: 100 ms,
 * times test_time_scale (). */
double state_change_bound_ms ();
/* Threads of this process now (/proc/self/status). */
int process_threads ();
/* Waits up to `seconds` (scaled as in wait_until) until the process has no
 * more than `n` threads: workers a state change abandoned have finished and
 * freed their memory (json-glib building a million nodes takes minutes when
 * every malloc records a whole stack). */
bool wait_threads_at_most (int n, double seconds);

/* One `gemini-retry` element message. */
struct RetryInfo {
  guint attempt = 0;
  std::string outcome;
  guint status = 0;
  double delay = -1;
  std::string reason;
};

/* Fails the test unless every field is there, with its type, and the
 * reason is not empty. */
RetryInfo parse_retry (const GstStructure * s);

struct RunResult {
  GstMessageType type = GST_MESSAGE_UNKNOWN;   /* EOS or ERROR */
  GErrorPtr error;
  std::string debug;
  GstStructure *details = nullptr;             /* the ERROR's details */
  std::vector<GstSample *> samples;            /* from the appsink "sink" */
  std::vector<GstStructure *> image_messages;  /* "gemini-image" */
  std::vector<GstStructure *> retry_messages;  /* "gemini-retry" */
  std::vector<RetryInfo> retries;              /* the same, parsed */
  std::vector<std::string> warnings;           /* WARNING messages */
  double seconds = 0;                          /* PLAYING until EOS or ERROR */

  RunResult () = default;
  RunResult (const RunResult &) = delete;
  RunResult & operator= (const RunResult &) = delete;
  ~RunResult ();

  bool error_is (GQuark domain, gint code) const;
  std::string message () const;
  bool says (const char *text) const;
  /* Points into `details`; "" when absent. */
  const char *detail_string (const char *field) const;
  /* Fail the test when `details` lack the field. */
  guint detail_uint (const char *field) const;
  double detail_double (const char *field) const;
};

using SrcSetup = std::function<void (GstElement *)>;

/* Runs a pipeline to EOS or error, collecting what the application sees;
 * fails if that takes more than `timeout_s`, or if the state change to
 * NULL afterwards fails or takes 500 ms or more. An appsink named "sink"
 * is drained. `setup` gets the element named "src" before PLAYING (for
 * properties a launch line cannot set). */
void run_pipeline (const std::string & desc, RunResult & res, guint timeout_s = 60,
    const SrcSetup & setup = nullptr);

/* -------------------------------------------------- checks on results */

/* The run ended in EOS; the failure says which error it got instead. */
void expect_eos (const RunResult & r);
/* The run ended in an ERROR of `domain` and `code`. */
void expect_error (const RunResult & r, GQuark domain, gint code);
/* The error message contains `text`. */
void expect_says (const RunResult & r, const char *text);

/* Setting `desc` to PAUSED fails with an ERROR of `domain` and `code`
 * whose message contains `expect`. Returns how long the failed state
 * change took, in ms. */
double expect_state_change_error (const std::string & desc, GQuark domain, gint code, const char *expect);

/* `gst-inspect-1.0 <factory>`'s output, with the lines it wraps joined
 * (a line break and the indent after it become one space); fails the
 * test if it does not run. */
std::string inspect_text (const char *factory);

}  // namespace gemini::test

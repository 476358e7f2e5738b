/* gst-gemini: throughput benchmark of geminiimagesrc against gemini-emulator.
 *
 *   bench-throughput [--runs N] [--latency S] [--quick] [EMULATOR]
 *
 * Starts the emulator (EMULATOR, else $GEMINI_EMULATOR, else this build's),
 * then runs `gst-launch-1.0 -q geminiimagesrc … ! fakesink` once per
 * configuration and run, each in a child process of its own so that wait4 ()
 * gives that child's peak RSS and CPU time. Wall time is measured with
 * CLOCK_MONOTONIC from fork to reaping. Prints Markdown tables (min, median,
 * max over the runs) and a line naming the machine. docs/performance.md
 * explains the sections and the targets.
 *
 * Not a test: nothing here fails on a figure. It exits 1 only when a
 * pipeline fails or the emulator cannot be used.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <glib.h>
#include <glib/gstdio.h>

#include "bench-common.h"
#include "http-client.h"
#include "plugin/gemini-models.h"
#include "plugin/glib-raii.h"

namespace {

using gemini::GCharPtr;
using namespace gemini::bench;

/* ------------------------------------------------------------ options */

struct Options {
  int runs = 3;
  double latency_s = 1.0;      /* L: the emulator's answer delay */
  bool quick = false;
  std::string emulator;
  /* Counts (--quick makes them smaller). */
  int prompts = 32;            /* sections 1 and 2 */
  int memory_prompts = 16;     /* section 3 */
};

[[noreturn]] void
usage (int status)
{
  std::fprintf (status ? stderr : stdout,
      "usage: bench-throughput [--runs N] [--latency S] [--quick] [EMULATOR]\n"
      "  --runs N     runs per configuration (default 3); min/median/max are printed\n"
      "  --latency S  the emulator's answer latency L in seconds (default 1.0; 0.25 with --quick)\n"
      "  --quick      smoke check: 1 run, 16 prompts (4 for the memory section)\n"
      "  EMULATOR     gemini-emulator to start (default $GEMINI_EMULATOR, else\n"
      "               " BENCH_EMULATOR ")\n");
  std::exit (status);
}

Options
parse_options (int argc, char **argv)
{
  Options o;
  bool runs_set = false, latency_set = false;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    auto value = [&] () -> const char * {
      if (i + 1 >= argc) {
        std::fprintf (stderr, "bench-throughput: %s needs a value\n", a.c_str ());
        usage (2);
      }
      return argv[++i];
    };
    if (a == "--runs") {
      char *end = nullptr;
      const long n = std::strtol (value (), &end, 10);
      if (!end || *end || n < 1 || n > 100)
        usage (2);
      o.runs = static_cast<int> (n);
      runs_set = true;
    } else if (a == "--latency") {
      char *end = nullptr;
      const double s = g_ascii_strtod (value (), &end);
      if (!end || *end || !(s >= 0.01 && s <= 60))
        usage (2);
      o.latency_s = s;
      latency_set = true;
    } else if (a == "--quick") {
      o.quick = true;
    } else if (a == "-h" || a == "--help") {
      usage (0);
    } else if (!a.empty () && a[0] != '-' && o.emulator.empty ()) {
      o.emulator = a;
    } else {
      std::fprintf (stderr, "bench-throughput: unknown argument %s\n", a.c_str ());
      usage (2);
    }
  }
  if (o.quick) {
    if (!runs_set)
      o.runs = 1;
    if (!latency_set)
      o.latency_s = 0.25;
    o.prompts = 16;
    o.memory_prompts = 4;
  }
  if (o.emulator.empty ()) {
    const char *env = g_getenv ("GEMINI_EMULATOR");
    o.emulator = env && *env ? env : BENCH_EMULATOR;
  }
  return o;
}

/* Every step answers with an image after `delay_s`. */
std::string
uniform_script (double delay_s)
{
  return R"({"steps":[{"do":"image","delay_ms":)" +
      std::to_string (std::lround (delay_s * 1000)) + R"(}],"then":"repeat"})";
}

/* A cycle of 10: nine answers after L, the tenth after 10 L. */
std::string
slow_tail_script (double latency_s)
{
  const std::string fast = R"({"do":"image","delay_ms":)" + std::to_string (std::lround (latency_s * 1000)) + "}";
  const std::string slow = R"({"do":"image","delay_ms":)" +
      std::to_string (std::lround (latency_s * 10000)) + "}";
  std::string steps;
  for (int i = 0; i < 9; i++)
    steps += fast + ",";
  return R"({"steps":[)" + steps + slow + R"(],"then":"cycle"})";
}

/* `n` generateContent requests at once, straight to the emulator (no
 * element); returns the wall time until the last answer, or -1. */
double
direct_requests (const std::string & url, const std::string & model, int n, const std::string & image_config)
{
  std::vector<std::thread> threads;
  std::vector<int> ok (static_cast<size_t> (n), 0);
  const double t0 = now_s ();
  for (int i = 0; i < n; i++) {
    threads.emplace_back ([&, i] () {
      const std::string body = R"({"contents":[{"role":"user","parts":[{"text":"emulator check )" +
          std::to_string (i) + R"("}]}],"generationConfig":{"responseModalities":["IMAGE"])" +
          (image_config.empty () ? "" : R"(,"imageConfig":)" + image_config) + "}}";
      gemini::test::HttpOptions opts;
      opts.headers.emplace_back ("x-goog-api-key", "bench");
      opts.timeout_s = 300;
      const gemini::test::HttpReply r = gemini::test::http_request ("POST",
          url + "/v1beta/models/" + model + ":generateContent", &body, opts);
      ok[static_cast<size_t> (i)] = r.status == 200;
    });
  }
  for (std::thread & t : threads)
    t.join ();
  const double wall = now_s () - t0;
  return std::all_of (ok.begin (), ok.end (), [] (int v) { return v != 0; }) ? wall : -1;
}

/* ------------------------------------------------------------ one pipeline */

struct RunResult {
  bool ok = false;
  std::string failure;
  double wall_s = 0;
  double cpu_s = 0;           /* user + system of gst-launch-1.0 */
  double maxrss_mib = 0;      /* its peak resident set */
  gint64 requests = 0;        /* generateContent requests the emulator got */
};

class Runner {
public:
  Runner (Emulator & emu, std::string gst_launch)
    : emu_ (emu), gst_launch_ (std::move (gst_launch)), env_ (child_environment ())
  {
  }

  /* One gst-launch-1.0 run of `props` against `script`. */
  RunResult run (const std::string & script, const std::vector<std::string> & props, double timeout_s)
  {
    emu_.load (script);
    std::vector<std::string> args {gst_launch_, "-q", "geminiimagesrc",
      "api-endpoint=" + emu_.url (), "api-key=bench"};
    args.insert (args.end (), props.begin (), props.end ());
    args.emplace_back ("!");
    args.emplace_back ("fakesink");
    const ChildResult c = run_child (std::move (args), env_, timeout_s);
    RunResult r;
    r.ok = c.ok;
    r.failure = c.failure;
    r.wall_s = c.wall_s;
    r.cpu_s = c.cpu_s;
    r.maxrss_mib = c.maxrss_mib;
    r.requests = emu_.requests ();
    return r;
  }

  /* `runs` runs; failures are reported on stderr and left out. */
  std::vector<RunResult> repeat (int runs, const char *label, const std::string & script,
      const std::vector<std::string> & props, double timeout_s)
  {
    std::vector<RunResult> out;
    for (int i = 0; i < runs; i++) {
      RunResult r = run (script, props, timeout_s);
      std::fprintf (stderr, "  %s, run %d/%d: %s\n", label, i + 1, runs,
          r.ok ? (fmt ("%.2f s", r.wall_s) + ", " + fmt ("%.0f MiB", r.maxrss_mib) + ", " +
              std::to_string (r.requests) + " requests").c_str () : ("FAILED: " + r.failure).c_str ());
      if (r.ok)
        out.push_back (r);
      else
        failures_++;
    }
    return out;
  }

  int failures () const { return failures_; }

private:
  Emulator & emu_;
  std::string gst_launch_;
  std::vector<std::string> env_;
  int failures_ = 0;
};

template <typename F>
Stats
stat (const std::vector<RunResult> & rs, F field)
{
  std::vector<double> v;
  for (const RunResult & r : rs)
    v.push_back (field (r));
  return stats_of (v);
}

std::string
mmm (const Stats & s, const char *format)
{
  return fmt (format, s.min) + " | " + fmt (format, s.median) + " | " + fmt (format, s.max);
}

std::string
requests_cell (const std::vector<RunResult> & rs)
{
  std::string out;
  for (const RunResult & r : rs)
    out += (out.empty () ? "" : ", ") + std::to_string (r.requests);
  return out;
}

std::string
write_prompts (const std::string & dir, const char *name, int n)
{
  std::string text;
  for (int i = 1; i <= n; i++)
    text += "bench prompt " + std::to_string (i) + ": a lighthouse at dusk, variation " + std::to_string (i) + "\n";
  const std::string path = dir + "/" + name;
  GError *err = nullptr;
  if (!g_file_set_contents (path.c_str (), text.c_str (), static_cast<gssize> (text.size ()), &err))
    g_error ("cannot write %s: %s", path.c_str (), err->message);
  return path;
}

/* The first catalogue row still answered that makes 512-pixel images, for
 * the row of section 1 that shrinks the emulator's share of the time. */
const gemini::ModelSpec *
small_image_model ()
{
  for (const gemini::ModelSpec & m : gemini::model_catalogue ())
    if (m.status != gemini::ModelStatus::Retired && m.takes_size (gemini::image_size_index ("512")))
      return &m;
  return nullptr;
}

}  // namespace

int
main (int argc, char **argv)
{
  const Options opt = parse_options (argc, argv);
  GCharPtr gst_launch (g_find_program_in_path ("gst-launch-1.0"));
  if (!gst_launch) {
    std::fprintf (stderr, "bench-throughput: gst-launch-1.0 is not in PATH\n");
    return 1;
  }
  if (!g_file_test (opt.emulator.c_str (), G_FILE_TEST_IS_EXECUTABLE)) {
    std::fprintf (stderr, "bench-throughput: no emulator at %s\n", opt.emulator.c_str ());
    return 1;
  }
  GError *err = nullptr;
  GCharPtr scratch (g_dir_make_tmp ("bench-throughput-XXXXXX", &err));
  if (!scratch)
    g_error ("cannot make a scratch directory: %s", err->message);

  const double L = opt.latency_s;
  const int N = opt.prompts;
  const double started = now_s ();
  std::printf ("# bench-throughput\n\n%s\n\n", machine_line (gst_launch.get ()).c_str ());
  std::printf ("Runs per configuration: %d; answer latency L = %s s; emulator %s\n\n", opt.runs,
      num (L).c_str (), opt.emulator.c_str ());
  std::fflush (stdout);

  Emulator emu (opt.emulator);
  Runner runner (emu, gst_launch.get ());
  const std::string prompts = write_prompts (scratch.get (), "prompts.txt", N);
  const std::string memory_prompts = write_prompts (scratch.get (), "prompts-4k.txt", opt.memory_prompts);
  const std::string flash = gemini::resolve_model ("nano-banana").id;
  const std::string pro = gemini::resolve_model ("nano-banana-pro").id;

  /* Warm-up: builds the registry, not counted. */
  std::fprintf (stderr, "warm-up\n");
  if (!runner.run (uniform_script (0), {"prompt=warm-up"}, 120).ok) {
    std::fprintf (stderr, "bench-throughput: the warm-up pipeline failed\n");
    return 1;
  }

  /* 0. Does the emulator overlap delayed answers? */
  std::fprintf (stderr, "0. emulator\n");
  emu.load (uniform_script (L));
  const double overlap = direct_requests (emu.url (), flash, 8, "");
  emu.load (uniform_script (0));
  const double one_1k = direct_requests (emu.url (), flash, 1, "");
  const double eight_1k = direct_requests (emu.url (), flash, 8, "");
  const double one_4k = direct_requests (emu.url (), pro, 1, R"({"aspectRatio":"1:1","imageSize":"4K"})");
  if (overlap < 0 || one_1k < 0 || eight_1k < 0 || one_4k < 0) {
    std::fprintf (stderr, "bench-throughput: the emulator did not answer 200\n");
    return 1;
  }
  /* What one pipeline costs besides waiting: start, one answer, EOS, exit. */
  const auto fixed = runner.repeat (opt.runs, "0. one image, no delay", uniform_script (0), {"prompt=fixed cost"}, 120);
  std::printf ("## 0. Emulator and fixed cost\n\n");
  std::printf ("| check | wall time |\n|---|---|\n");
  std::printf ("| 8 requests at once, each answered after L = %s s | %.2f s (%s; one after the other would take %.1f s) |\n",
      num (L).c_str (), overlap, overlap < 1.5 * L ? "they overlap" : "they do NOT overlap", 8 * L);
  std::printf ("| 1 request, no delay, %s 1K | %.0f ms |\n", flash.c_str (), one_1k * 1000);
  std::printf ("| 8 requests at once, no delay, %s 1K | %.0f ms (%.0f ms per answer: built one at a time on the emulator's thread) |\n",
      flash.c_str (), eight_1k * 1000, eight_1k * 1000 / 8);
  std::printf ("| 1 request, no delay, %s 4K 1:1 | %.0f ms |\n", pro.c_str (), one_4k * 1000);
  if (!fixed.empty ())
    std::printf ("| gst-launch-1.0 with the element, 1 image, no delay (start to exit; median) | %.0f ms (peak RSS %.0f MiB) |\n",
        stat (fixed, [] (const RunResult & r) { return r.wall_s; }).median * 1000,
        stat (fixed, [] (const RunResult & r) { return r.maxrss_mib; }).median);
  std::printf ("\nThe first four rows send requests straight to the emulator; the last runs the element.\n\n");
  std::fflush (stdout);

  /* 1. max-in-flight 1, 4, 8 against ceil(N/K) x L. */
  std::printf ("## 1. %d prompts, answer latency L = %s s (%s, 1K)\n\n", N, num (L).c_str (), flash.c_str ());
  std::printf ("| max-in-flight | ideal ceil(%d/K) x L | min s | median s | max s | median / ideal | CPU s | peak RSS MiB |\n", N);
  std::printf ("|---|---|---|---|---|---|---|---|\n");
  std::fflush (stdout);
  double no_slow_median = 0;
  struct Row {
    int k;
    std::string label;
    std::vector<std::string> extra;
  };
  std::vector<Row> rows {{1, "1", {}}, {4, "4", {}}, {8, "8", {}}};
  if (const gemini::ModelSpec * small = small_image_model ())
    rows.push_back ({8, std::string ("8, 512 px answers (") + small->id + ")",
        {std::string ("model=") + small->id, "image-size=512"}});
  for (const Row & row : rows) {
    const double ideal = std::ceil (static_cast<double> (N) / row.k) * L;
    std::vector<std::string> props {"prompt-file=" + prompts, "max-in-flight=" + std::to_string (row.k)};
    props.insert (props.end (), row.extra.begin (), row.extra.end ());
    const std::string label = "1. K=" + row.label;
    const auto rs = runner.repeat (opt.runs, label.c_str (), uniform_script (L), props, 20 * ideal + 120);
    if (rs.empty ()) {
      std::printf ("| %s | %.1f | failed | | | | | |\n", row.label.c_str (), ideal);
      continue;
    }
    const Stats wall = stat (rs, [] (const RunResult & r) { return r.wall_s; });
    if (row.k == 8 && row.extra.empty ())
      no_slow_median = wall.median;
    std::printf ("| %s | %.1f | %s | %.3f | %.2f | %.0f |\n", row.label.c_str (), ideal, mmm (wall, "%.2f").c_str (),
        wall.median / ideal, stat (rs, [] (const RunResult & r) { return r.cpu_s; }).median,
        stat (rs, [] (const RunResult & r) { return r.maxrss_mib; }).median);
    std::fflush (stdout);
  }
  std::printf ("\nTarget: median / ideal <= 1.10.\n\n");

  /* 2. One request in ten 10x slower, 8 in flight: hedging off and on. */
  const double hedge_after = 1.5 * L;
  std::printf ("## 2. %d prompts, every 10th answer after 10 L = %s s, the others after L; max-in-flight 8\n\n", N,
      num (10 * L).c_str ());
  std::printf ("| hedging | min s | median s | max s | median / no-slow median | requests sent per run |\n");
  std::printf ("|---|---|---|---|---|---|\n");
  if (no_slow_median > 0)
    std::printf ("| no slow answers (section 1, K = 8) | | %.2f | | 1.00 | %d |\n", no_slow_median, N);
  struct HedgeRow {
    std::string label;
    std::vector<std::string> props;
  };
  const std::vector<HedgeRow> hedge_rows {
    {"off (hedge-after=0)", {"hedge-after=0"}},
    {"on (hedge-after=" + num (hedge_after) + ", hedge-budget=0.2)",
      {"hedge-after=" + num (hedge_after), "hedge-budget=0.2"}},
  };
  double hedged_ratio = -1;
  for (const HedgeRow & row : hedge_rows) {
    std::vector<std::string> props {"prompt-file=" + prompts, "max-in-flight=8"};
    props.insert (props.end (), row.props.begin (), row.props.end ());
    const std::string label = "2. hedging " + row.label;
    const auto rs = runner.repeat (opt.runs, label.c_str (), slow_tail_script (L), props,
        20 * std::ceil (N / 8.0) * L + 20 * L + 120);
    if (rs.empty ()) {
      std::printf ("| %s | failed | | | | |\n", row.label.c_str ());
      continue;
    }
    const Stats wall = stat (rs, [] (const RunResult & r) { return r.wall_s; });
    const double ratio = no_slow_median > 0 ? wall.median / no_slow_median : 0;
    if (&row == &hedge_rows.back ())
      hedged_ratio = ratio;
    std::printf ("| %s | %s | %.2f | %s |\n", row.label.c_str (), mmm (wall, "%.2f").c_str (), ratio,
        requests_cell (rs).c_str ());
    std::fflush (stdout);
  }
  std::printf ("\nTarget: hedging on, median / no-slow median <= 1.5%s.\n\n",
      hedged_ratio >= 0 ? (" (measured " + fmt ("%.2f", hedged_ratio) + ")").c_str () : "");

  /* 3. Peak memory on 4K answers. */
  const gemini::ModelSpec *pro_spec = gemini::find_model_spec (pro);
  const auto px = pro_spec ? gemini::output_pixels (*pro_spec, "1:1", "4K") : std::nullopt;
  const double frame_mib = px ? static_cast<double> (px->width) * px->height * 3 / (1024.0 * 1024) : 0;
  std::printf ("## 3. Peak memory: %d prompts, %s image-size=4K aspect-ratio=1:1 (%ux%u JPEG, %.0f MiB decoded as RGB), L = %s s\n\n",
      opt.memory_prompts, pro.c_str (), px ? px->width : 0u, px ? px->height : 0u, frame_mib, num (L).c_str ());
  std::printf ("| max-in-flight | peak RSS min MiB | median MiB | max MiB | bound (K + max(4, K)) x frame MiB | median wall s | median CPU s |\n");
  std::printf ("|---|---|---|---|---|---|---|\n");
  std::fflush (stdout);
  for (int k : {8, 1}) {
    const std::vector<std::string> props {"prompt-file=" + memory_prompts, "max-in-flight=" + std::to_string (k),
      "model=nano-banana-pro", "image-size=4K", "aspect-ratio=1:1"};
    const std::string label = "3. K=" + std::to_string (k);
    const auto rs = runner.repeat (opt.runs, label.c_str (), uniform_script (L), props,
        opt.memory_prompts * (L + 10 * one_4k) * 4 + 120);
    if (rs.empty ()) {
      std::printf ("| %d | failed | | | | | |\n", k);
      continue;
    }
    std::printf ("| %d | %s | %.0f | %.2f | %.2f |\n", k,
        mmm (stat (rs, [] (const RunResult & r) { return r.maxrss_mib; }), "%.0f").c_str (),
        (k + std::max (4, k)) * frame_mib, stat (rs, [] (const RunResult & r) { return r.wall_s; }).median,
        stat (rs, [] (const RunResult & r) { return r.cpu_s; }).median);
    std::fflush (stdout);
  }
  std::printf ("\nPeak RSS is ru_maxrss of the gst-launch-1.0 child (wait4).\n");
  std::printf ("\nTotal benchmark time: %.0f s; failed runs: %d\n", now_s () - started, runner.failures ());

  for (const std::string & f : {prompts, memory_prompts})
    g_unlink (f.c_str ());
  g_rmdir (scratch.get ());
  return runner.failures () ? 1 : 0;
}

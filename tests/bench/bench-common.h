/* gst-gemini: what the benchmarks of tests/bench share. Header-only: the
 * clock, number formatting, min/median/max, the machine line, the child
 * process runner (fork, exec, wait4 with a watchdog) and the emulator.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <glib.h>

#include "bench-config.h"
#include "emulator-process.h"
#include "plugin/glib-raii.h"

namespace gemini::bench {

/* ------------------------------------------------------------ numbers */

inline double
now_s ()
{
  timespec ts {};
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return static_cast<double> (ts.tv_sec) + static_cast<double> (ts.tv_nsec) * 1e-9;
}

inline std::string
fmt (const char *format, double v)
{
  char buf[64];
  std::snprintf (buf, sizeof buf, format, v);
  return buf;
}

/* A number for a gst-launch property or a JSON script: C locale. */
inline std::string
num (double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  return g_ascii_formatd (buf, sizeof buf, "%.4g", v);
}

struct Stats {
  double min = 0, median = 0, max = 0;
};

inline Stats
stats_of (std::vector<double> v)
{
  Stats s;
  if (v.empty ())
    return s;
  std::sort (v.begin (), v.end ());
  s.min = v.front ();
  s.max = v.back ();
  const size_t n = v.size ();
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return s;
}

/* ------------------------------------------------------------ the machine */

/* The first line `argv` prints on stdout, or "unknown". */
inline std::string
first_line_of_command (const char *const *argv)
{
  gchar *out = nullptr;
  gint status = 0;
  if (!g_spawn_sync (nullptr, const_cast<gchar **> (argv), nullptr,
          static_cast<GSpawnFlags> (G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL), nullptr, nullptr, &out,
          nullptr, &status, nullptr))
    return "unknown";
  GCharPtr owned (out);
  std::string s = out ? out : "";
  const size_t nl = s.find ('\n');
  return nl == std::string::npos ? s : s.substr (0, nl);
}

inline std::string
cpu_model_name ()
{
  std::ifstream f ("/proc/cpuinfo");
  std::string line;
  while (std::getline (f, line)) {
    if (line.rfind ("model name", 0) == 0) {
      const size_t colon = line.find (':');
      if (colon != std::string::npos)
        return std::string (g_strstrip (line.data () + colon + 1));
    }
  }
  return "unknown CPU";
}

/* "Machine: nproc …, CPU, RAM, kernel; date; gst-launch-1.0 version …",
 * then `extra` (e.g. "; node v20") when not empty. */
inline std::string
machine_line (const char *gst_launch, const std::string & extra = {})
{
  cpu_set_t set;
  CPU_ZERO (&set);
  const int nproc = sched_getaffinity (0, sizeof set, &set) == 0 ? CPU_COUNT (&set)
      : static_cast<int> (sysconf (_SC_NPROCESSORS_ONLN));
  utsname u {};
  uname (&u);
  const double ram_gib = static_cast<double> (sysconf (_SC_PHYS_PAGES)) *
      static_cast<double> (sysconf (_SC_PAGESIZE)) / (1024.0 * 1024 * 1024);
  char date[64];
  const time_t t = time (nullptr);
  tm utc {};
  gmtime_r (&t, &utc);
  strftime (date, sizeof date, "%Y-%m-%d %H:%M UTC", &utc);
  const char *version_argv[] = {gst_launch, "--version", nullptr};
  return "Machine: nproc " + std::to_string (nproc) + ", " + cpu_model_name () + ", " +
      fmt ("%.0f", ram_gib) + " GiB RAM, Linux " + u.release + " " + u.machine + "; " + date +
      "; " + first_line_of_command (version_argv) + extra;
}

/* ------------------------------------------------------------ child processes */

/* This process's environment for a pipeline child: this build's plugin
 * directory, a registry file of this build dir (never the user's), no
 * proxy, no MALLOC_PERTURB_. */
inline std::vector<std::string>
child_environment ()
{
  GStrv env = g_get_environ ();
  env = g_environ_setenv (env, "GST_PLUGIN_PATH", BENCH_PLUGIN_DIR, TRUE);
  env = g_environ_setenv (env, "GST_PLUGIN_PATH_1_0", BENCH_PLUGIN_DIR, TRUE);
  env = g_environ_setenv (env, "GST_REGISTRY", BENCH_REGISTRY, TRUE);
  env = g_environ_setenv (env, "GST_REGISTRY_1_0", BENCH_REGISTRY, TRUE);
  env = g_environ_setenv (env, "GSETTINGS_BACKEND", "memory", TRUE);
  env = g_environ_setenv (env, "no_proxy", "127.0.0.1,localhost", TRUE);
  env = g_environ_unsetenv (env, "http_proxy");
  env = g_environ_unsetenv (env, "https_proxy");
  env = g_environ_unsetenv (env, "MALLOC_PERTURB_");
  std::vector<std::string> out;
  for (gchar **e = env; *e; e++)
    out.emplace_back (*e);
  g_strfreev (env);
  return out;
}

struct ChildResult {
  bool ok = false;
  std::string failure;
  double wall_s = 0;
  double cpu_s = 0;           /* user + system of the child (and its reaped children) */
  double maxrss_mib = 0;      /* its peak resident set */
};

/* Runs args[0] (a path) with `env` in a child process whose stdout goes to
 * /dev/null (stderr is inherited); SIGKILL after `timeout_s`. CPU time and
 * peak RSS come from the rusage wait4 () returns, wall time from fork to
 * reaping on CLOCK_MONOTONIC. */
inline ChildResult
run_child (std::vector<std::string> args, std::vector<std::string> env, double timeout_s)
{
  std::vector<char *> argv, envp;
  for (std::string & a : args)
    argv.push_back (a.data ());
  argv.push_back (nullptr);
  for (std::string & e : env)
    envp.push_back (e.data ());
  envp.push_back (nullptr);

  ChildResult r;
  const double t0 = now_s ();
  const pid_t pid = fork ();
  if (pid < 0) {
    r.failure = std::string ("fork: ") + std::strerror (errno);
    return r;
  }
  if (pid == 0) {
    /* Only async-signal-safe calls between fork and exec. */
    const int devnull = open ("/dev/null", O_WRONLY);
    if (devnull >= 0)
      dup2 (devnull, STDOUT_FILENO);
    execve (argv[0], argv.data (), envp.data ());
    _exit (127);
  }
  /* A watchdog: a stuck child is killed, not waited for forever. */
  std::mutex m;
  std::condition_variable cv;
  bool reaped = false, killed = false;
  std::thread watchdog ([&] () {
    std::unique_lock lock (m);
    if (!cv.wait_for (lock, std::chrono::duration<double> (timeout_s), [&] { return reaped; })) {
      killed = true;
      kill (pid, SIGKILL);
    }
  });
  int status = 0;
  rusage ru {};
  pid_t got;
  do
    got = wait4 (pid, &status, 0, &ru);
  while (got < 0 && errno == EINTR);
  r.wall_s = now_s () - t0;
  {
    std::lock_guard lock (m);
    reaped = true;
  }
  cv.notify_one ();
  watchdog.join ();
  r.cpu_s = static_cast<double> (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
      static_cast<double> (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
  r.maxrss_mib = static_cast<double> (ru.ru_maxrss) / 1024.0;   /* KiB on Linux */
  if (got != pid)
    r.failure = std::string ("wait4: ") + std::strerror (errno);
  else if (killed)
    r.failure = "killed after " + fmt ("%.0f", timeout_s) + " s";
  else if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    r.ok = true;
  else if (WIFEXITED (status))
    r.failure = "exit status " + std::to_string (WEXITSTATUS (status));
  else
    r.failure = std::string ("signal ") + strsignal (WTERMSIG (status));
  return r;
}

/* ------------------------------------------------------------ the emulator */

class Emulator {
public:
  /* Starts `path` --quiet plus `extra_args`. */
  explicit Emulator (const std::string & path, const std::vector<std::string> & extra_args = {})
  {
    g_setenv ("GEMINI_EMULATOR", path.c_str (), TRUE);
    g_unsetenv ("GEMINI_RECORDED_DIR");
    std::vector<std::string> args {"--quiet"};
    args.insert (args.end (), extra_args.begin (), extra_args.end ());
    proc_ = std::make_unique<gemini::test::EmulatorProcess> (args);
  }

  const std::string & url () const { return proc_->base_url (); }

  /* A fresh request counter and this script (its step counter at 0). */
  void load (const std::string & script_json)
  {
    proc_->reset ();
    proc_->set_script (script_json);
  }

  /* generateContent (and model list) requests since load (). */
  gint64 requests ()
  {
    JsonNode *s = proc_->status ();
    const gint64 n = json_object_get_int_member (json_node_get_object (s), "requests");
    json_node_unref (s);
    return n;
  }

private:
  std::unique_ptr<gemini::test::EmulatorProcess> proc_;
};

}  // namespace gemini::bench

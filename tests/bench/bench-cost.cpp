/* gst-gemini: cost per image (issue 11). geminiimagesrc against a peer client
 * (Google's Node SDK @google/genai and sharp, tests/bench/peer/), both
 * turning the same recorded answers into raw RGBA frames.
 *
 *   bench-cost [--runs N] [--quick] [EMULATOR]
 *
 * Starts one gemini-emulator per answer (EMULATOR, else $GEMINI_EMULATOR,
 * else this build's), each replaying one answer forever: the Flash recording
 * (1024² PNG), the Pro recording (1408×768 JPEG, MB-sized thought
 * signatures) and a Pro-sized 4K answer built at run time (the emulator's
 * 4096×4096 JPEG with the Pro recording's two thought signatures, written as
 * a cassette into the build dir). For each answer and K in {1, 4} it runs, R
 * times and interleaved, the element and the peer with a small and a large
 * image count, each in a child process of its own: the marginal CPU per image
 * is (CPU(large) − CPU(small)) / (large − small) from wait4 ()'s rusage, the
 * peak memory is ru_maxrss of the large run. Then it times, in this process,
 * what base64, inflate and JPEG decoding alone cost for these images.
 *
 * Installs the peer (npm install into the build dir) when it is missing;
 * without node or npm only the element's side is measured. Progress goes to
 * stderr, Markdown to stdout; docs/performance.md ("Cost per image") explains
 * the figures. Not a test: it exits 1 only when a child fails or the
 * emulator cannot be used.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include <jpeglib.h>
#include <zlib.h>
#ifdef BENCH_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

#include "bench-common.h"
#include "cassette.h"
#include "http-client.h"
#include "plugin/gemini-models.h"
#include "plugin/glib-raii.h"

namespace {

using gemini::GCharPtr;
using namespace gemini::bench;

/* ------------------------------------------------------------ options */

struct Options {
  int runs = 5;
  bool quick = false;
  std::string emulator;
  /* Image counts of the small and the large run (--quick makes them smaller). */
  int small = 5, large = 25;          /* Flash and Pro */
  int small_4k = 3, large_4k = 13;    /* 4K: 10 more images, so that K = 4 reaches reuse */
  int reps = 11;                      /* in-process repetitions (physical limit) */
};

[[noreturn]] void
usage (int status)
{
  std::fprintf (status ? stderr : stdout,
      "usage: bench-cost [--runs N] [--quick] [EMULATOR]\n"
      "  --runs N     paired runs per answer and K (default 5); medians are printed\n"
      "  --quick      smoke check: 1 run, 2 and 6 images (1 and 3 at 4K)\n"
      "  EMULATOR     gemini-emulator to start (default $GEMINI_EMULATOR, else\n"
      "               " BENCH_EMULATOR ")\n");
  std::exit (status);
}

Options
parse_options (int argc, char **argv)
{
  Options o;
  bool runs_set = false;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    if (a == "--runs") {
      if (i + 1 >= argc)
        usage (2);
      char *end = nullptr;
      const long n = std::strtol (argv[++i], &end, 10);
      if (!end || *end || n < 1 || n > 100)
        usage (2);
      o.runs = static_cast<int> (n);
      runs_set = true;
    } else if (a == "--quick") {
      o.quick = true;
    } else if (a == "-h" || a == "--help") {
      usage (0);
    } else if (!a.empty () && a[0] != '-' && o.emulator.empty ()) {
      o.emulator = a;
    } else {
      std::fprintf (stderr, "bench-cost: unknown argument %s\n", a.c_str ());
      usage (2);
    }
  }
  if (o.quick) {
    if (!runs_set)
      o.runs = 1;
    o.small = 2;
    o.large = 6;
    o.small_4k = 1;
    o.large_4k = 3;
    o.reps = 3;
  }
  if (o.emulator.empty ()) {
    const char *env = g_getenv ("GEMINI_EMULATOR");
    o.emulator = env && *env ? env : BENCH_EMULATOR;
  }
  return o;
}

/* ------------------------------------------------------------ small helpers */

std::string
read_file (const std::string & path)
{
  gchar *data = nullptr;
  gsize size = 0;
  if (!g_file_get_contents (path.c_str (), &data, &size, nullptr))
    return {};
  GCharPtr owned (data);
  return std::string (data, size);
}

bool
write_file (const std::string & path, const std::string & text)
{
  GError *err = nullptr;
  if (!g_file_set_contents (path.c_str (), text.data (), static_cast<gssize> (text.size ()), &err)) {
    std::fprintf (stderr, "bench-cost: cannot write %s: %s\n", path.c_str (), err->message);
    g_error_free (err);
    return false;
  }
  return true;
}

/* The "version" of a package.json, or "". */
std::string
package_version (const std::string & package_json)
{
  const std::string text = read_file (package_json);
  if (text.empty ())
    return {};
  JsonParser *parser = json_parser_new ();
  std::string v;
  if (json_parser_load_from_data (parser, text.data (), static_cast<gssize> (text.size ()), nullptr)) {
    JsonNode *root = json_parser_get_root (parser);
    if (root && JSON_NODE_HOLDS_OBJECT (root)) {
      JsonObject *o = json_node_get_object (root);
      if (json_object_has_member (o, "version"))
        v = json_object_get_string_member_with_default (o, "version", "");
    }
  }
  g_object_unref (parser);
  return v;
}

/* A command's stdout (trimmed), run in `cwd`; "" on failure. Its stderr goes to ours. */
std::string
output_of (const std::vector<std::string> & args, const std::string & cwd, int *status_out = nullptr)
{
  std::vector<char *> argv;
  for (const std::string & a : args)
    argv.push_back (const_cast<char *> (a.c_str ()));
  argv.push_back (nullptr);
  gchar *out = nullptr;
  gint status = 0;
  GError *err = nullptr;
  if (!g_spawn_sync (cwd.empty () ? nullptr : cwd.c_str (), argv.data (), nullptr,
          static_cast<GSpawnFlags> (G_SPAWN_SEARCH_PATH | G_SPAWN_CHILD_INHERITS_STDIN), nullptr, nullptr, &out,
          nullptr, &status, &err)) {
    std::fprintf (stderr, "bench-cost: cannot run %s: %s\n", args[0].c_str (), err->message);
    g_error_free (err);
    if (status_out)
      *status_out = -1;
    return {};
  }
  GCharPtr owned (out);
  if (status_out)
    *status_out = g_spawn_check_wait_status (status, nullptr) ? 0 : 1;
  return out ? std::string (g_strstrip (out)) : std::string ();
}

double
cpu_now_s ()
{
  timespec ts {};
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double> (ts.tv_sec) + static_cast<double> (ts.tv_nsec) * 1e-9;
}

/* Median CPU milliseconds of `reps` calls of `f` (after one untimed call). */
double
cpu_ms_median (int reps, const std::function<void ()> & f)
{
  f ();
  std::vector<double> v;
  for (int i = 0; i < reps; i++) {
    const double t0 = cpu_now_s ();
    f ();
    v.push_back ((cpu_now_s () - t0) * 1000);
  }
  return stats_of (v).median;
}

std::string
mib (double bytes)
{
  return fmt ("%.2f MB", bytes / 1e6);
}

/* ------------------------------------------------------------ the peer */

struct Peer {
  bool ok = false;
  std::string why_not;           /* when !ok */
  std::string node;              /* path of node */
  std::string script;            /* <builddir>/tests/bench/peer/peer.mjs */
  std::string node_version, genai_version, sharp_version, vips_version;
};

/* Copies package.json and peer.mjs into the build dir and runs npm install
 * there when node_modules lacks the pinned packages. */
Peer
set_up_peer ()
{
  Peer p;
  const std::string src = std::string (BENCH_SOURCE_DIR) + "/peer";
  const std::string dir = std::string (BENCH_BUILD_DIR) + "/peer";
  GCharPtr node (g_find_program_in_path ("node"));
  GCharPtr npm (g_find_program_in_path ("npm"));
  if (!node || !npm) {
    p.why_not = !node ? "node is not in PATH" : "npm is not in PATH";
    return p;
  }
  p.node = node.get ();
  if (g_mkdir_with_parents (dir.c_str (), 0755) != 0) {
    p.why_not = "cannot create " + dir;
    return p;
  }
  for (const char *name : {"package.json", "peer.mjs"}) {
    const std::string text = read_file (src + "/" + name);
    if (text.empty ()) {
      p.why_not = "cannot read " + src + "/" + name;
      return p;
    }
    if (read_file (dir + "/" + name) != text && !write_file (dir + "/" + name, text)) {
      p.why_not = "cannot write " + dir + "/" + name;
      return p;
    }
  }
  const std::string package_json = read_file (dir + "/package.json");
  auto pinned = [&] (const char *name) {
    const std::string key = std::string ("\"") + name + "\": \"";
    const size_t at = package_json.find (key);
    if (at == std::string::npos)
      return std::string ();
    const size_t end = package_json.find ('"', at + key.size ());
    return package_json.substr (at + key.size (), end - at - key.size ());
  };
  auto installed = [&] () {
    return package_version (dir + "/node_modules/@google/genai/package.json") == pinned ("@google/genai") &&
        package_version (dir + "/node_modules/sharp/package.json") == pinned ("sharp");
  };
  if (!installed ()) {
    std::fprintf (stderr, "peer: npm install --no-audit --no-fund in %s\n", dir.c_str ());
    int status = 0;
    output_of ({npm.get (), "install", "--no-audit", "--no-fund"}, dir, &status);
    if (status != 0 || !installed ()) {
      p.why_not = "npm install failed in " + dir;
      return p;
    }
  }
  p.script = dir + "/peer.mjs";
  p.node_version = output_of ({p.node, "--version"}, dir);
  p.genai_version = package_version (dir + "/node_modules/@google/genai/package.json");
  p.sharp_version = package_version (dir + "/node_modules/sharp/package.json");
  p.vips_version = output_of ({p.node, "--input-type=module", "-e",
        "import sharp from 'sharp'; console.log(sharp.versions.vips)"}, dir);
  p.ok = true;
  return p;
}

/* ------------------------------------------------------------ the answers */

struct Answer {
  std::string name;              /* "Flash", "Pro", "4K" */
  std::string model;
  std::string cassette;          /* path */
  int interaction = 0;
  int small = 0, large = 0;
  /* Read from the cassette. */
  gsize json_bytes = 0;          /* the body as the emulator serves it (compact) */
  std::string mime;
  std::string image_base64;      /* the image part's data */
  std::vector<gsize> signature_bytes;
  std::unique_ptr<Emulator> emu;

  void set (std::string name_, std::string model_, std::string cassette_, int interaction_, int small_, int large_)
  {
    name = std::move (name_);
    model = std::move (model_);
    cassette = std::move (cassette_);
    interaction = interaction_;
    small = small_;
    large = large_;
  }

  std::string script () const
  {
    return R"({"steps":[{"do":"replay","file":")" + cassette + R"(","interaction":)" +
        std::to_string (interaction) + R"(}],"then":"repeat"})";
  }
};

JsonArray *
parts_of (JsonNode * body)
{
  if (!body || !JSON_NODE_HOLDS_OBJECT (body))
    return nullptr;
  JsonObject *root = json_node_get_object (body);
  JsonArray *cands = json_object_has_member (root, "candidates") ?
      json_object_get_array_member (root, "candidates") : nullptr;
  if (!cands || json_array_get_length (cands) == 0)
    return nullptr;
  JsonObject *cand = json_array_get_object_element (cands, 0);
  JsonObject *content = cand && json_object_has_member (cand, "content") ?
      json_object_get_object_member (cand, "content") : nullptr;
  return content && json_object_has_member (content, "parts") ?
      json_object_get_array_member (content, "parts") : nullptr;
}

/* Fills the answer's figures from its cassette. */
bool
read_answer (Answer & a)
{
  std::vector<gemini::emulator::Interaction> its;
  std::string error;
  if (!gemini::emulator::load_cassette (a.cassette, its, error) ||
      a.interaction >= static_cast<int> (its.size ())) {
    std::fprintf (stderr, "bench-cost: %s: %s\n", a.cassette.c_str (), error.empty () ? "no such interaction" : error.c_str ());
    return false;
  }
  JsonNode *body = its[static_cast<size_t> (a.interaction)].response_body.get ();
  JsonArray *parts = parts_of (body);
  if (!parts)
    return false;
  GCharPtr json (json_to_string (body, FALSE));
  a.json_bytes = std::strlen (json.get ());
  for (guint i = 0; i < json_array_get_length (parts); i++) {
    JsonObject *p = json_array_get_object_element (parts, i);
    if (json_object_has_member (p, "thoughtSignature"))
      a.signature_bytes.push_back (std::strlen (json_object_get_string_member (p, "thoughtSignature")));
    if (json_object_has_member (p, "inlineData") && !json_object_has_member (p, "thought")) {
      JsonObject *d = json_object_get_object_member (p, "inlineData");
      a.mime = json_object_get_string_member_with_default (d, "mimeType", "");
      a.image_base64 = json_object_get_string_member_with_default (d, "data", "");
    }
  }
  return !a.image_base64.empty ();
}

/* A cassette holding the emulator's own 4K answer (4096×4096 JPEG, text +
 * image, model nano-banana-pro) whose two thought signatures are replaced
 * by the MB-sized ones of the Pro recording: what a real 4K Pro answer
 * carries. Written to `path`; nothing big goes into the source tree. */
bool
make_4k_cassette (Emulator & emu, const std::string & model, const Answer & pro, const std::string & path)
{
  const std::string body = R"({"contents":[{"role":"user","parts":[{"text":"Generate an image"}]}],)"
      R"("generationConfig":{"responseModalities":["TEXT","IMAGE"],"imageConfig":{"aspectRatio":"1:1","imageSize":"4K"}}})";
  gemini::test::HttpOptions opts;
  opts.headers.emplace_back ("x-goog-api-key", "bench");
  opts.timeout_s = 300;
  gemini::test::HttpReply r = gemini::test::http_request ("POST",
      emu.url () + "/v1beta/models/" + model + ":generateContent", &body, opts);
  JsonArray *parts = r.status == 200 ? parts_of (r.json.get ()) : nullptr;
  if (!parts) {
    std::fprintf (stderr, "bench-cost: the emulator's 4K answer: HTTP %u\n", r.status);
    return false;
  }
  /* The Pro recording's signatures: [0] on the text part, [1] on the image. */
  std::vector<gemini::emulator::Interaction> its;
  std::string error;
  if (!gemini::emulator::load_cassette (pro.cassette, its, error))
    return false;
  std::vector<std::string> sigs;
  JsonArray *pro_parts = parts_of (its[static_cast<size_t> (pro.interaction)].response_body.get ());
  for (guint i = 0; pro_parts && i < json_array_get_length (pro_parts); i++) {
    JsonObject *p = json_array_get_object_element (pro_parts, i);
    if (json_object_has_member (p, "thoughtSignature"))
      sigs.emplace_back (json_object_get_string_member (p, "thoughtSignature"));
  }
  if (sigs.size () != 2) {
    std::fprintf (stderr, "bench-cost: the Pro recording has %zu thought signatures, not 2\n", sigs.size ());
    return false;
  }
  size_t next = 0;
  for (guint i = 0; i < json_array_get_length (parts); i++) {
    JsonObject *p = json_array_get_object_element (parts, i);
    if (json_object_has_member (p, "thoughtSignature") && next < sigs.size ())
      json_object_set_string_member (p, "thoughtSignature", sigs[next++].c_str ());
  }
  if (next != 2) {
    std::fprintf (stderr, "bench-cost: the emulator's 4K answer has %zu signed parts, not 2\n", next);
    return false;
  }
  /* YAML is a superset of JSON: the body goes in as one flow mapping. */
  GCharPtr json (json_to_string (r.json.get (), FALSE));
  const std::string yaml = "# Generated by bench-cost: the emulator's 4K answer with the thought signatures of\n"
      "# test_google_image_generation_with_text.yaml. Not a recording.\n"
      "interactions:\n"
      "- request:\n"
      "    method: POST\n"
      "    uri: http://127.0.0.1/v1beta/models/" + model + ":generateContent\n"
      "    parsed_body: " + body + "\n"
      "  response:\n"
      "    headers:\n"
      "      content-type:\n"
      "      - application/json; charset=UTF-8\n"
      "    parsed_body: " + json.get () + "\n"
      "    status:\n"
      "      code: 200\n"
      "      message: OK\n"
      "version: 1\n";
  return write_file (path, yaml);
}

/* ------------------------------------------------------------ the runs */

struct Side {
  std::vector<double> ms_per_image;   /* one per paired run */
  std::vector<double> peak_mib;       /* ru_maxrss of the large run */
};

struct Cell {
  Side element, peer;
};

class Bench {
public:
  Bench (std::string gst_launch, const Peer & peer) : gst_launch_ (std::move (gst_launch)), peer_ (peer)
  {
    /* GEMINI_API_KEY=bench for both sides; no other key, base URL or
     * Vertex AI setting of the caller's environment. */
    static const char *const drop[] = {"GEMINI_API_KEY=", "GOOGLE_API_KEY=", "GOOGLE_GEMINI_BASE_URL=",
      "GOOGLE_GENAI_USE_VERTEXAI=", "GOOGLE_CLOUD_PROJECT=", "GOOGLE_CLOUD_LOCATION=",
      "GOOGLE_OAUTH_ACCESS_TOKEN=", "GOOGLE_VERTEX_BASE_URL="};
    for (std::string & e : child_environment ())
      if (std::none_of (std::begin (drop), std::end (drop), [&] (const char *d) { return e.rfind (d, 0) == 0; }))
        env_.push_back (std::move (e));
    env_.emplace_back ("GEMINI_API_KEY=bench");
  }

  /* One child: the element (peer = false) or the peer making `n` images,
   * `k` at a time. */
  ChildResult run (Answer & a, bool peer, int n, int k)
  {
    a.emu->load (a.script ());
    std::vector<std::string> args;
    if (peer)
      args = {peer_.node, peer_.script, a.emu->url (), a.model, std::to_string (n), std::to_string (k)};
    else
      args = {gst_launch_, "-q", "geminiimagesrc", "api-endpoint=" + a.emu->url (), "model=" + a.model,
        "prompt=Generate an image", "num-images=" + std::to_string (n), "max-in-flight=" + std::to_string (k),
        "!", "videoconvert", "!", "video/x-raw,format=RGBA", "!", "fakesink"};
    ChildResult r = run_child (std::move (args), env_, 120 + 20.0 * n);
    const gint64 requests = a.emu->requests ();
    if (r.ok && requests != n) {
      r.ok = false;
      r.failure = std::to_string (requests) + " requests for " + std::to_string (n) + " images";
    }
    return r;
  }

  /* R paired runs of one answer at one K: element small, peer small,
   * element large, peer large. */
  Cell measure (Answer & a, int k, int runs)
  {
    Cell c;
    for (int i = 0; i < runs; i++) {
      const ChildResult es = run (a, false, a.small, k);
      const ChildResult ps = peer_.ok ? run (a, true, a.small, k) : ChildResult {};
      const ChildResult el = run (a, false, a.large, k);
      const ChildResult pl = peer_.ok ? run (a, true, a.large, k) : ChildResult {};
      auto line = [&] (const char *who, const ChildResult & s, const ChildResult & l) {
        if (!s.ok || !l.ok) {
          failures_++;
          return std::string (who) + " FAILED: " + (s.ok ? l.failure : s.failure);
        }
        return std::string (who) + " " + fmt ("%.2f", s.cpu_s) + "/" + fmt ("%.2f s CPU", l.cpu_s) + ", " +
            fmt ("%.0f MiB", l.maxrss_mib);
      };
      std::fprintf (stderr, "  %s K=%d run %d/%d: %s; %s\n", a.name.c_str (), k, i + 1, runs,
          line ("element", es, el).c_str (), peer_.ok ? line ("peer", ps, pl).c_str () : "no peer");
      const double d = a.large - a.small;
      if (es.ok && el.ok) {
        c.element.ms_per_image.push_back ((el.cpu_s - es.cpu_s) / d * 1000);
        c.element.peak_mib.push_back (el.maxrss_mib);
      }
      if (peer_.ok && ps.ok && pl.ok) {
        c.peer.ms_per_image.push_back ((pl.cpu_s - ps.cpu_s) / d * 1000);
        c.peer.peak_mib.push_back (pl.maxrss_mib);
      }
    }
    return c;
  }

  int failures () const { return failures_; }

private:
  std::string gst_launch_;
  const Peer & peer_;
  std::vector<std::string> env_;
  int failures_ = 0;
};

/* "median (min–max)" or "—". */
std::string
cell (const std::vector<double> & v, const char *format)
{
  if (v.empty ())
    return "—";
  const Stats s = stats_of (v);
  if (v.size () == 1)
    return fmt (format, s.median);
  return fmt (format, s.median) + " (" + fmt (format, s.min) + "–" + fmt (format, s.max) + ")";
}

std::string
ratio (const std::vector<double> & a, const std::vector<double> & b)
{
  if (a.empty () || b.empty ())
    return "—";
  const double m = stats_of (b).median;
  return m > 0 ? fmt ("%.2f×", stats_of (a).median / m) : "—";
}

/* ------------------------------------------------------------ the physical limit */

struct Png {
  guint32 width = 0, height = 0;
  int bit_depth = 0, color_type = 0, interlace = 0;
  std::string zlib;              /* the IDAT chunks, concatenated */
  gsize raw_bytes = 0;           /* what inflating gives: height × (1 + row bytes) */
};

guint32
be32 (const guchar *p)
{
  return (guint32 (p[0]) << 24) | (guint32 (p[1]) << 16) | (guint32 (p[2]) << 8) | guint32 (p[3]);
}

std::optional<Png>
parse_png (const std::string & file)
{
  static const guchar sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (file.size () < 8 || std::memcmp (file.data (), sig, 8) != 0)
    return std::nullopt;
  Png png;
  const auto *d = reinterpret_cast<const guchar *> (file.data ());
  gsize at = 8;
  while (at + 12 <= file.size ()) {
    const guint32 len = be32 (d + at);
    const std::string type (file.data () + at + 4, 4);
    if (at + 12 + len > file.size ())
      return std::nullopt;
    const guchar *data = d + at + 8;
    if (type == "IHDR" && len >= 13) {
      png.width = be32 (data);
      png.height = be32 (data + 4);
      png.bit_depth = data[8];
      png.color_type = data[9];
      png.interlace = data[12];
    } else if (type == "IDAT") {
      png.zlib.append (reinterpret_cast<const char *> (data), len);
    } else if (type == "IEND") {
      break;
    }
    at += 12 + len;
  }
  static const int channels[7] = {1, 0, 3, 1, 2, 0, 4};
  if (png.width == 0 || png.color_type > 6 || png.interlace != 0)
    return std::nullopt;
  const gsize row = (gsize (png.width) * channels[png.color_type] * png.bit_depth + 7) / 8;
  png.raw_bytes = gsize (png.height) * (1 + row);
  return png;
}

/* libjpeg-turbo alone: the JPEG to RGBA into `out` (resized to fit). */
bool
decode_jpeg_rgba (const std::string & jpeg, std::vector<guchar> & out, guint & w, guint & h)
{
  jpeg_decompress_struct cinfo {};
  jpeg_error_mgr jerr {};
  cinfo.err = jpeg_std_error (&jerr);
  jpeg_create_decompress (&cinfo);
  jpeg_mem_src (&cinfo, reinterpret_cast<const unsigned char *> (jpeg.data ()), static_cast<unsigned long> (jpeg.size ()));
  if (jpeg_read_header (&cinfo, TRUE) != JPEG_HEADER_OK) {
    jpeg_destroy_decompress (&cinfo);
    return false;
  }
  cinfo.out_color_space = JCS_EXT_RGBA;
  jpeg_start_decompress (&cinfo);
  w = cinfo.output_width;
  h = cinfo.output_height;
  const gsize stride = gsize (w) * 4;
  if (out.size () < stride * h)
    out.resize (stride * h);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW rows[16];
    const JDIMENSION left = std::min<JDIMENSION> (16, cinfo.output_height - cinfo.output_scanline);
    for (JDIMENSION i = 0; i < left; i++)
      rows[i] = out.data () + (cinfo.output_scanline + i) * stride;
    jpeg_read_scanlines (&cinfo, rows, left);
  }
  jpeg_finish_decompress (&cinfo);
  jpeg_destroy_decompress (&cinfo);
  return true;
}

std::string
decode_base64 (const std::string & b64)
{
  gsize n = 0;
  guchar *bytes = g_base64_decode (b64.c_str (), &n);
  std::string out (reinterpret_cast<const char *> (bytes), n);
  g_free (bytes);
  return out;
}

void
physical_limit (const std::vector<Answer *> & answers, int reps)
{
  std::printf ("## Physical limit (in this process, median CPU time of %d repetitions)\n\n", reps);
  std::printf ("| step | input | output | ms per image |\n|---|---|---|---|\n");
  std::fflush (stdout);
  for (Answer *a : answers) {
    std::fprintf (stderr, "physical limit: %s\n", a->name.c_str ());
    /* (d) base64. */
    volatile gsize sink = 0;
    const double b64_ms = cpu_ms_median (reps, [&] () {
      gsize n = 0;
      guchar *bytes = g_base64_decode (a->image_base64.c_str (), &n);
      sink = sink + n + bytes[n / 2];
      g_free (bytes);
    });
    const std::string image = decode_base64 (a->image_base64);
    std::printf ("| %s: base64 of the image string (g_base64_decode) | %s of base64 | %s %s | %.2f |\n",
        a->name.c_str (), mib (double (a->image_base64.size ())).c_str (), mib (double (image.size ())).c_str (),
        a->mime.c_str (), b64_ms);
    if (a->mime == "image/png") {
      /* (a) inflate. */
      const std::optional<Png> png = parse_png (image);
      if (!png) {
        std::printf ("| %s: inflate | not an 8-bit non-interlaced PNG | | |\n", a->name.c_str ());
        continue;
      }
      std::vector<guchar> raw (png->raw_bytes);
      const std::string what = std::to_string (png->width) + "×" + std::to_string (png->height) + " PNG, colour type " +
          std::to_string (png->color_type) + ", zlib stream " + mib (double (png->zlib.size ()));
      bool ok = true;
      const double zlib_ms = cpu_ms_median (reps, [&] () {
        uLongf n = static_cast<uLongf> (raw.size ());
        ok = ok && uncompress (raw.data (), &n, reinterpret_cast<const Bytef *> (png->zlib.data ()),
            static_cast<uLong> (png->zlib.size ())) == Z_OK && n == raw.size ();
      });
      std::printf ("| %s: inflate with zlib %s (uncompress) | %s | %s filtered rows | %s |\n", a->name.c_str (),
          zlibVersion (), what.c_str (), mib (double (raw.size ())).c_str (), ok ? fmt ("%.2f", zlib_ms).c_str () : "failed");
#ifdef BENCH_HAVE_LIBDEFLATE
      libdeflate_decompressor *dec = libdeflate_alloc_decompressor ();
      ok = true;
      const double deflate_ms = cpu_ms_median (reps, [&] () {
        size_t n = 0;
        ok = ok && libdeflate_zlib_decompress (dec, png->zlib.data (), png->zlib.size (), raw.data (), raw.size (), &n) ==
            LIBDEFLATE_SUCCESS && n == raw.size ();
      });
      libdeflate_free_decompressor (dec);
      std::printf ("| %s: inflate with libdeflate %s (libdeflate_zlib_decompress) | %s | %s filtered rows | %s |\n",
          a->name.c_str (), LIBDEFLATE_VERSION_STRING, what.c_str (), mib (double (raw.size ())).c_str (),
          ok ? fmt ("%.2f", deflate_ms).c_str () : "failed");
#else
      std::printf ("| %s: inflate with libdeflate | libdeflate not found at configure time | | |\n", a->name.c_str ());
#endif
    } else if (a->mime == "image/jpeg") {
      /* (b), (c) JPEG. */
      std::vector<guchar> rgba;
      guint w = 0, h = 0;
      bool ok = decode_jpeg_rgba (image, rgba, w, h);
      const double jpeg_ms = ok ? cpu_ms_median (reps, [&] () { ok = ok && decode_jpeg_rgba (image, rgba, w, h); }) : 0;
      std::printf ("| %s: JPEG to RGBA with libjpeg-turbo (JCS_EXT_RGBA) | %s JPEG, %u×%u | %s RGBA | %s |\n",
          a->name.c_str (), mib (double (image.size ())).c_str (), w, h, mib (double (w) * h * 4).c_str (),
          ok ? fmt ("%.2f", jpeg_ms).c_str () : "failed");
    }
    std::fflush (stdout);
  }
  std::printf ("\nThe output buffers are allocated once and reused, so page faults of a fresh frame are not counted.\n\n");
}

}  // namespace

int
main (int argc, char **argv)
{
  const Options opt = parse_options (argc, argv);
  GCharPtr gst_launch (g_find_program_in_path ("gst-launch-1.0"));
  if (!gst_launch) {
    std::fprintf (stderr, "bench-cost: gst-launch-1.0 is not in PATH\n");
    return 1;
  }
  if (!g_file_test (opt.emulator.c_str (), G_FILE_TEST_IS_EXECUTABLE)) {
    std::fprintf (stderr, "bench-cost: no emulator at %s\n", opt.emulator.c_str ());
    return 1;
  }
  const double started = now_s ();

  /* The peer: installed into the build dir when missing. */
  const Peer peer = set_up_peer ();
  if (!peer.ok)
    std::fprintf (stderr, "bench-cost: no peer (%s): measuring the element only\n", peer.why_not.c_str ());

  /* The answers, one emulator each. */
  const std::string recorded = BENCH_RECORDED_DIR;
  const std::vector<std::string> emu_args {"--recorded-dir", recorded};
  const std::string pro_id = gemini::resolve_model ("nano-banana-pro").id;
  Answer flash, pro, k4;
  flash.set ("Flash", "gemini-2.5-flash-image", recorded + "/test_google_image_or_text_output.yaml", 1,
      opt.small, opt.large);
  pro.set ("Pro", "gemini-3-pro-image-preview", recorded + "/test_google_image_generation_with_text.yaml", 0,
      opt.small, opt.large);
  k4.set ("4K", pro_id, std::string (BENCH_BUILD_DIR) + "/cassette-4k.yaml", 0, opt.small_4k, opt.large_4k);
  if (!read_answer (flash) || !read_answer (pro)) {
    std::fprintf (stderr, "bench-cost: cannot read the recorded answers in %s\n", recorded.c_str ());
    return 1;
  }
  for (Answer *a : {&flash, &pro, &k4})
    a->emu = std::make_unique<Emulator> (opt.emulator, emu_args);
  std::fprintf (stderr, "4K answer: %s\n", k4.cassette.c_str ());
  if (!make_4k_cassette (*k4.emu, pro_id, pro, k4.cassette) || !read_answer (k4)) {
    std::fprintf (stderr, "bench-cost: cannot build the 4K answer\n");
    return 1;
  }
  const std::vector<Answer *> answers {&flash, &pro, &k4};

  std::string versions;
  if (peer.ok)
    versions = "; node " + peer.node_version;
  std::printf ("# bench-cost\n\n%s\n\n", machine_line (gst_launch.get (), versions).c_str ());
  std::printf ("Paired runs per answer and K: %d; emulator %s\n\n", opt.runs, opt.emulator.c_str ());
  if (peer.ok)
    std::printf ("Peer: Node %s, @google/genai %s, sharp %s (libvips %s), sharp.concurrency(1), sharp.cache(false)\n\n",
        peer.node_version.c_str (), peer.genai_version.c_str (), peer.sharp_version.c_str (), peer.vips_version.c_str ());
  else
    std::printf ("Peer: not run (%s)\n\n", peer.why_not.c_str ());
  std::printf ("## Answers\n\n| answer | model | JSON (compact) | image | thought signatures | images per run (small, large) |\n");
  std::printf ("|---|---|---|---|---|---|\n");
  for (const Answer *a : answers) {
    std::string sigs;
    for (gsize s : a->signature_bytes)
      sigs += (sigs.empty () ? "" : " + ") + mib (double (s));
    std::printf ("| %s | %s | %s | %s, %s of base64 | %s | %d, %d |\n", a->name.c_str (), a->model.c_str (),
        mib (double (a->json_bytes)).c_str (), a->mime.c_str (), mib (double (a->image_base64.size ())).c_str (),
        sigs.empty () ? "none" : sigs.c_str (), a->small, a->large);
  }
  std::printf ("\n");
  std::fflush (stdout);

  /* Warm-up: builds the registry and the caches, not counted. */
  Bench bench (gst_launch.get (), peer);
  std::fprintf (stderr, "warm-up\n");
  for (bool use_peer : {false, true}) {
    if (use_peer && !peer.ok)
      continue;
    const ChildResult w = bench.run (flash, use_peer, 1, 1);
    if (!w.ok) {
      std::fprintf (stderr, "bench-cost: the %s warm-up failed: %s\n", use_peer ? "peer" : "element", w.failure.c_str ());
      return 1;
    }
  }

  std::printf ("## CPU per image and peak memory\n\n");
  std::printf ("Element: `gst-launch-1.0 -q geminiimagesrc … num-images=N max-in-flight=K ! videoconvert ! "
      "video/x-raw,format=RGBA ! fakesink`. Peer: `node peer.mjs URL MODEL N K`. CPU per image = (CPU(large) − "
      "CPU(small)) / (large − small), user + system of the whole child; peak = ru_maxrss of the large run. "
      "Median (min–max) over the runs.\n\n");
  std::printf ("| answer | K | element ms/image | peer ms/image | element / peer | element peak MiB | peer peak MiB | element / peer |\n");
  std::printf ("|---|---|---|---|---|---|---|---|\n");
  std::fflush (stdout);
  for (Answer *a : answers) {
    for (int k : {1, 4}) {
      const Cell c = bench.measure (*a, k, opt.runs);
      std::printf ("| %s | %d | %s | %s | %s | %s | %s | %s |\n", a->name.c_str (), k,
          cell (c.element.ms_per_image, "%.1f").c_str (), cell (c.peer.ms_per_image, "%.1f").c_str (),
          ratio (c.element.ms_per_image, c.peer.ms_per_image).c_str (), cell (c.element.peak_mib, "%.0f").c_str (),
          cell (c.peer.peak_mib, "%.0f").c_str (), ratio (c.element.peak_mib, c.peer.peak_mib).c_str ());
      std::fflush (stdout);
    }
  }
  std::printf ("\n");

  physical_limit (answers, opt.reps);

  std::printf ("Total benchmark time: %.0f s; failed runs: %d\n", now_s () - started, bench.failures ());
  return bench.failures () ? 1 : 0;
}

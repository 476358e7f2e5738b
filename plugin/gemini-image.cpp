/* gst-gemini: image sniffing and decoding (PNG, JPEG, WebP) to packed RGB/RGBA.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-image.h"

#include <pthread.h>
#include <sys/types.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <csetjmp>
#include <cstdarg>
#include <cstdio>  /* jpeglib.h needs FILE; fopencookie */
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>
#include <webp/decode.h>

#include "gemini-png-fast.h"

namespace gemini {

namespace {

/* printf into a std::string (g++ 12 has no std::format). */
G_GNUC_PRINTF (1, 2) std::string
strprintf (const char *fmt, ...)
{
  va_list args;
  va_start (args, fmt);
  GCharPtr s (g_strdup_vprintf (fmt, args));
  va_end (args);
  return std::string (s.get ());
}

bool
has_prefix (const guint8 * data, gsize size, gsize offset, const char *magic,
    gsize len)
{
  return size >= offset + len && std::memcmp (data + offset, magic, len) == 0;
}

/* ISO-BMFF brands that mean HEIF/HEIC. AVIF ("avif"/"avis") shares the
 * container but is a different codec that Gemini does not list. */
bool
is_heif_brand (const guint8 * b)
{
  static const char *const brands[] = {
    "heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs",
    "mif1", "msf1",
  };
  for (const char *brand : brands) {
    if (std::memcmp (b, brand, 4) == 0)
      return true;
  }
  return false;
}

std::string
first_bytes_hex (const guint8 * data, gsize size)
{
  std::string hex;
  for (gsize i = 0; i < size && i < 8; i++)
    hex += strprintf (i ? " %02x" : "%02x", data[i]);
  return hex;
}

/* ------------------------------------------------------- interruption */

double
timespec_seconds (const struct timespec & ts)
{
  return static_cast<double> (ts.tv_sec) + static_cast<double> (ts.tv_nsec) / 1e9;
}

/* CPU time consumed by a thread (CLOCK_THREAD_CPUTIME_ID: the caller), or
 * -1 if the clock cannot be read. A system call: microseconds on a VM. */
double
cpu_seconds (clockid_t clock)
{
  struct timespec ts;
  if (clock_gettime (clock, &ts) != 0)
    return -1;
  return timespec_seconds (ts);
}

/* A clock cheap enough to read on every row (vDSO, a few ns, 4 ms ticks):
 * it only decides when the dearer CPU clock is worth reading. */
gint64
coarse_ms ()
{
  struct timespec ts;
#ifdef CLOCK_MONOTONIC_COARSE
  clock_gettime (CLOCK_MONOTONIC_COARSE, &ts);
#else
  clock_gettime (CLOCK_MONOTONIC, &ts);
#endif
  return static_cast<gint64> (ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

enum class StopReason { None, Cancelled, TooSlow };

/* The decoders' checkpoint: asked between rows, scans, reads or chunks
 * whether to stop, and remembers why. No destructor, so it can be reached
 * from libjpeg's callbacks, which leave by longjmp. */
struct Interrupt {
  /* DecodeLimits::cancel, or a worker's "abandoned" flag. */
  const std::atomic<bool> *flag = nullptr;
  /* CPU seconds of this thread; 0 or less: unbounded. */
  double max_seconds = 0;
  /* Where the decoder notes how far it got, for the time-bound message of
   * whoever stops it (the JPEG decoder: the scan being read). */
  std::atomic<int> *progress = nullptr;
  double start_seconds = 0;
  gint64 last_check_ms = 0;
  StopReason reason = StopReason::None;

  Interrupt (const std::atomic<bool> *cancel, double max_cpu_seconds,
      std::atomic<int> *progress_note)
      : flag (cancel), max_seconds (max_cpu_seconds), progress (progress_note)
  {
    if (max_seconds > 0) {
      start_seconds = cpu_seconds (CLOCK_THREAD_CPUTIME_ID);
      last_check_ms = coarse_ms ();
    }
  }

  /* True once the decode must stop. The flag is read every time; the CPU
   * clock at most once per coarse tick, so a check costs nanoseconds. */
  bool stop ()
  {
    if (reason != StopReason::None)
      return true;
    if (flag && flag->load (std::memory_order_relaxed)) {
      reason = StopReason::Cancelled;
      return true;
    }
    if (max_seconds > 0) {
      gint64 now = coarse_ms ();
      if (now != last_check_ms) {
        last_check_ms = now;
        double used = cpu_seconds (CLOCK_THREAD_CPUTIME_ID);
        if (used >= 0 && start_seconds >= 0 && used - start_seconds > max_seconds) {
          reason = StopReason::TooSlow;
          return true;
        }
      }
    }
    return false;
  }
};

/* Fills `error` and the flags for a decode stopped by `reason`; `progress`
 * is the decoder's note (a JPEG's scan number, or 0). */
void
describe_stop (StopReason reason, ImageFormat format, double max_seconds,
    int progress, DecodedImage & out, std::string & error)
{
  if (reason == StopReason::Cancelled) {
    error = "decoding was cancelled";
    out.cancelled = true;
    return;
  }
  std::string detail;
  if (format == ImageFormat::Jpeg && progress > 0)
    detail = strprintf (" (at scan %d)", progress);
  error = strprintf ("decoding the %s took more than %g s of CPU time%s: "
      "refused as pathological", image_format_name (format), max_seconds,
      detail.c_str ());
  out.over_limit = true;
  out.pathological = true;
}

/* Checks dimensions against the limits and computes a 4-byte aligned stride
 * and the buffer size; on failure fills `error` and returns false, with
 * `over_limit` set when DecodeLimits refused the size. Everything in 64 bits
 * so hostile headers cannot overflow. */
bool
plan_buffer (ImageFormat format, guint64 width, guint64 height, bool alpha,
    const DecodeLimits & limits, gsize & stride, gsize & size,
    bool & over_limit, std::string & error)
{
  const char *name = image_format_name (format);
  if (width == 0 || height == 0) {
    error = strprintf ("%s image has no pixels (%" G_GUINT64_FORMAT "x%"
        G_GUINT64_FORMAT ")", name, width, height);
    return false;
  }
  guint64 row = width * (alpha ? 4 : 3);
  guint64 aligned = (row + 3) & ~guint64 (3);
  /* DecodedImage holds int sizes and decoders take the stride as an int;
   * checked first so the products below cannot overflow 64 bits. */
  if (width > G_MAXINT32 || height > G_MAXINT32 || aligned > G_MAXINT32
      || aligned > G_MAXSIZE / height) {
    error = strprintf ("%s image is %" G_GUINT64_FORMAT "x%" G_GUINT64_FORMAT
        ", too large to decode on this system", name, width, height);
    return false;
  }
  if (width * height > limits.max_pixels) {
    over_limit = true;
    error = strprintf ("%s image is %" G_GUINT64_FORMAT "x%" G_GUINT64_FORMAT
        ", over the limit of %" G_GUINT64_FORMAT " pixels", name, width, height,
        limits.max_pixels);
    return false;
  }
  stride = aligned;
  size = aligned * height;
  return true;
}

/* A pixel block of `size` bytes, from the limits' store if there is one
 * (remembered in `out` for giving it back). */
guint8 *
take_pixels (const DecodeLimits & limits, gsize size, DecodedImage & out)
{
  if (!limits.store)
    return static_cast<guint8 *> (g_try_malloc (size));
  out.store = limits.store;
  out.capacity = size;
  return limits.store->take (size);
}

bool
allocate_pixels (const DecodeLimits & limits, ImageFormat format, int width, int height, gsize size,
    DecodedImage & out, std::string & error)
{
  out.pixels.reset (take_pixels (limits, size, out));
  if (!out.pixels) {
    error = strprintf ("out of memory allocating %" G_GSIZE_FORMAT " bytes for "
        "a %dx%d %s image", size, width, height, image_format_name (format));
    return false;
  }
  return true;
}

/* ---------------------------------------------------------------- PNG */

/* libpng stops reading after the last row, so a download cut inside or
 * before the IEND chunk would decode; walk the chunk list to notice it. */
bool
png_has_iend (const guint8 * data, gsize size)
{
  guint64 offset = 8;
  while (offset + 8 <= size) {
    const guint8 *p = data + offset;
    guint64 length = (guint64 (p[0]) << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
    guint64 next = offset + 12 + length;
    if (std::memcmp (p + 4, "IEND", 4) == 0)
      return next <= size;
    offset = next;
  }
  return false;
}

struct PngImageFree {
  png_image *image;
  ~PngImageFree () { png_image_free (image); }
};

/* libpng's simplified API has no per-row hook, so the data reaches it
 * through a stdio stream whose read function is the checkpoint: libpng
 * reads at most 8 KB of compressed data at a time. */
struct PngSource {
  const guint8 *data;
  gsize size;
  gsize pos;
  Interrupt *interrupt;
  /* libpng asked for bytes past the end. */
  bool hit_end;
};

extern "C" ssize_t
png_source_read (void *cookie, char *buf, size_t len)
{
  auto *src = static_cast<PngSource *> (cookie);
  if (src->interrupt->stop ())
    return -1;  /* fread fails, libpng reports a read error */
  gsize n = std::min<gsize> (len, src->size - src->pos);
  if (n == 0) {
    src->hit_end = true;
    return 0;
  }
  std::memcpy (buf, src->data + src->pos, n);
  src->pos += n;
  return static_cast<ssize_t> (n);
}

struct FileClose {
  void operator() (FILE * f) const { std::fclose (f); }
};

/* The reason for a failed libpng call: ours (stopped, truncated) first. */
bool
png_failed (const PngSource & src, const png_image & image, DecodedImage & out,
    std::string & error)
{
  if (src.interrupt->reason != StopReason::None)
    describe_stop (src.interrupt->reason, ImageFormat::Png,
        src.interrupt->max_seconds, 0, out, error);
  else if (src.hit_end)
    error = strprintf ("PNG data is truncated (%" G_GSIZE_FORMAT " bytes)", src.size);
  else
    error = strprintf ("PNG data is corrupt or truncated: %s", image.message);
  return false;
}

enum class FastResult { Decoded, Failed, NotHandled };

/* The libdeflate path for the common PNGs (gemini-png-fast.h). Anything it
 * does not take falls through to libpng, which then says what is wrong. */
FastResult
decode_png_fast (const guint8 * data, gsize size, const DecodeLimits & limits,
    Interrupt & interrupt, DecodedImage & out, std::string & error)
{
  PngFastPlan plan;
  if (!png_fast_parse (data, size, plan))
    return FastResult::NotHandled;
  bool layout_alpha = plan.alpha || limits.rgba;
  gsize stride = 0, bytes = 0;
  if (!plan_buffer (ImageFormat::Png, plan.width, plan.height, layout_alpha,
          limits, stride, bytes, out.over_limit, error))
    return FastResult::Failed;
  int width = static_cast<int> (plan.width);
  int height = static_cast<int> (plan.height);
  gsize capacity = png_fast_buffer_size (plan, limits.rgba, stride);
  if (capacity == 0)
    return FastResult::NotHandled;
  /* Out of memory here: libpng, which needs a little less, then says so. */
  out.pixels.reset (take_pixels (limits, capacity, out));
  if (!out.pixels)
    return FastResult::NotHandled;
  switch (png_fast_decode (data, plan, limits.rgba, out.pixels.get (), stride,
              [&interrupt] { return interrupt.stop (); })) {
    case PngFastStatus::Ok:
      break;
    case PngFastStatus::Stopped:
      out.pixels.reset ();
      describe_stop (interrupt.reason, ImageFormat::Png, interrupt.max_seconds,
          0, out, error);
      return FastResult::Failed;
    case PngFastStatus::NotHandled:
      out.pixels.reset ();
      return FastResult::NotHandled;
  }
  out.width = width;
  out.height = height;
  out.has_alpha = layout_alpha;
  out.opaque = !plan.alpha;
  out.stride = stride;
  out.size = bytes;
  return FastResult::Decoded;
}

bool
decode_png (const guint8 * data, gsize size, const DecodeLimits & limits,
    Interrupt & interrupt, DecodedImage & out, std::string & error)
{
  if (!limits.no_fast_path) {
    FastResult fast = decode_png_fast (data, size, limits, interrupt, out, error);
    if (fast != FastResult::NotHandled)
      return fast == FastResult::Decoded;
  }

  PngSource src {data, size, 0, &interrupt, false};
  cookie_io_functions_t io {};
  io.read = png_source_read;
  std::unique_ptr<FILE, FileClose> file (fopencookie (&src, "r", io));
  if (!file) {
    error = "out of memory opening the PNG data";
    return false;
  }

  /* The simplified API does its own setjmp/longjmp inside libpng frames and
   * reports failures through image.message, so it is safe to call from C++. */
  png_image image;
  std::memset (&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  PngImageFree guard{&image};

  if (!png_image_begin_read_from_stdio (&image, file.get ()))
    return png_failed (src, image, out, error);

  bool source_alpha = (image.format & PNG_FORMAT_FLAG_ALPHA) != 0;
  bool alpha = source_alpha || limits.rgba;
  gsize stride = 0, bytes = 0;
  if (!plan_buffer (ImageFormat::Png, image.width, image.height, alpha, limits,
          stride, bytes, out.over_limit, error))
    return false;
  int width = static_cast<int> (image.width);
  int height = static_cast<int> (image.height);
  if (!allocate_pixels (limits, ImageFormat::Png, width, height, bytes, out, error))
    return false;

  /* RGBA on an opaque image: libpng fills A with 255. */
  image.format = alpha ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB;
  /* Without this libpng treats 16-bit samples as linear light, while almost
   * every 16-bit PNG in the wild is sRGB-encoded like 8-bit ones. */
  image.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
  if (!png_image_finish_read (&image, nullptr, out.pixels.get (),
          static_cast<png_int_32> (stride), nullptr)) {
    out.pixels.reset ();
    return png_failed (src, image, out, error);
  }
  if (!png_has_iend (data, size)) {
    error = "PNG data is truncated: the IEND chunk is missing";
    out.pixels.reset ();
    return false;
  }

  out.width = width;
  out.height = height;
  out.has_alpha = alpha;
  out.opaque = !source_alpha;
  out.stride = stride;
  out.size = bytes;
  return true;
}

/* --------------------------------------------------------------- JPEG */

enum class JpegStatus { Ok, LibError, Planned, NoMemory, TooManyScans, Stopped };

/* Everything the setjmp frame touches lives here, in memory owned by the
 * caller, so nothing is clobbered by longjmp and no destructor is skipped. */
struct JpegJob {
  const guint8 *data;
  gsize size;
  /* DecodeLimits::store, or null: where the pixels' block comes from. */
  BlockStore *store;
  /* Filled by the plain decoder after jpeg_read_header. */
  JDIMENSION width;
  JDIMENSION height;
  /* Set by the caller's planner callback. */
  bool (*plan) (JpegJob * job);
  void *plan_data;
  gsize stride;
  gsize bytes;
  /* 4 bytes per pixel, A = 255 (DecodeLimits::rgba). */
  bool rgba;
  /* Set by the planner when DecodeLimits refused the size. */
  bool over_limit;
  /* Asked from the progress hook; its reason says why it stopped. */
  Interrupt *interrupt;
  /* Set when the file has more than kJpegMaxScans scans. */
  bool too_many_scans;
  /* g_try_malloc'ed by the decoder; ownership passes to the caller. */
  guint8 *pixels;
  int msg_code;
  char message[JMSG_LENGTH_MAX];
};

struct JpegErrorMgr {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  JpegJob *job;
};

extern "C" void
jpeg_error_exit_cb (j_common_ptr cinfo)
{
  auto *err = reinterpret_cast<JpegErrorMgr *> (cinfo->err);
  err->job->msg_code = cinfo->err->msg_code;
  cinfo->err->format_message (cinfo, err->job->message);
  std::longjmp (err->jump, 1);
}

extern "C" void
jpeg_emit_message_cb (j_common_ptr cinfo, int msg_level)
{
  if (msg_level >= 0)
    return;  /* trace messages */
  /* libjpeg pads missing data with grey and only warns; for us a truncated
   * download is a failure, not a half-grey picture. Other corrupt-data
   * warnings are recoverable and common in camera files, so they pass. */
  if (cinfo->err->msg_code == JWRN_JPEG_EOF)
    jpeg_error_exit_cb (cinfo);
  cinfo->err->num_warnings++;
}

extern "C" void
jpeg_output_message_cb (j_common_ptr)
{
  /* Never print to stderr from a library. */
}

/* Same cap as TurboJPEG's TJFLAG_LIMITSCANS: a tiny progressive file with
 * thousands of scans otherwise costs minutes of CPU (a known DoS). */
constexpr int kJpegMaxScans = 500;

/* Called per row of blocks while a multi-scan file is read, and per output
 * row: the checkpoint for the scan cap, cancellation and the time bound. */
extern "C" void
jpeg_progress_cb (j_common_ptr cinfo)
{
  auto *dinfo = reinterpret_cast<j_decompress_ptr> (cinfo);
  auto *err = reinterpret_cast<JpegErrorMgr *> (cinfo->err);
  JpegJob *job = err->job;
  if (job->interrupt->progress)
    job->interrupt->progress->store (dinfo->input_scan_number, std::memory_order_relaxed);
  if (dinfo->input_scan_number > kJpegMaxScans)
    job->too_many_scans = true;
  else if (!job->interrupt->stop ())
    return;
  job->msg_code = -1;
  std::longjmp (err->jump, 1);
}

/* Adobe (Photoshop) CMYK JPEGs store inverted samples; libjpeg writes the
 * Adobe marker for CMYK too, so that marker decides the convention.
 * `rgba`: 4 bytes per output pixel, A = 255. */
void
cmyk_row_to_rgb (const JSAMPLE * in, guint8 * out, JDIMENSION width,
    bool inverted, bool rgba)
{
  const int step = rgba ? 4 : 3;
  for (JDIMENSION x = 0; x < width; x++, in += 4, out += step) {
    unsigned c = in[0], m = in[1], y = in[2], k = in[3];
    if (!inverted) {
      c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k;
    }
    out[0] = static_cast<guint8> ((c * k + 127) / 255);
    out[1] = static_cast<guint8> ((m * k + 127) / 255);
    out[2] = static_cast<guint8> ((y * k + 127) / 255);
    if (rgba)
      out[3] = 255;
  }
}

/* Plain C-style function: the only frame with setjmp, no C++ objects. */
JpegStatus
jpeg_decode_plain (JpegJob * job)
{
  jpeg_decompress_struct cinfo;
  JpegErrorMgr err;
  jpeg_progress_mgr progress;
  std::memset (&cinfo, 0, sizeof cinfo);
  std::memset (&err, 0, sizeof err);
  std::memset (&progress, 0, sizeof progress);

  cinfo.err = jpeg_std_error (&err.pub);
  err.pub.error_exit = jpeg_error_exit_cb;
  err.pub.emit_message = jpeg_emit_message_cb;
  err.pub.output_message = jpeg_output_message_cb;
  err.job = job;

  if (setjmp (err.jump)) {
    jpeg_destroy_decompress (&cinfo);
    g_free (job->pixels);
    job->pixels = nullptr;
    if (job->too_many_scans)
      return JpegStatus::TooManyScans;
    if (job->interrupt->reason != StopReason::None)
      return JpegStatus::Stopped;
    return JpegStatus::LibError;
  }

  jpeg_create_decompress (&cinfo);
  progress.progress_monitor = jpeg_progress_cb;
  cinfo.progress = &progress;
  jpeg_mem_src (&cinfo, job->data, static_cast<unsigned long> (job->size));
  jpeg_read_header (&cinfo, TRUE);

  job->width = cinfo.image_width;
  job->height = cinfo.image_height;
  if (!job->plan (job)) {
    jpeg_destroy_decompress (&cinfo);
    return JpegStatus::Planned;
  }

  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK)
    cinfo.out_color_space = JCS_CMYK;  /* libjpeg cannot go CMYK -> RGB */
  else  /* also expands grayscale */
    cinfo.out_color_space = job->rgba ? JCS_EXT_RGBA : JCS_RGB;

  job->pixels = job->store ? job->store->take (job->bytes) : static_cast<guint8 *> (g_try_malloc (job->bytes));
  if (!job->pixels) {
    jpeg_destroy_decompress (&cinfo);
    return JpegStatus::NoMemory;
  }

  jpeg_start_decompress (&cinfo);
  if (cinfo.out_color_space == JCS_CMYK) {
    /* Pool memory is released by jpeg_destroy_decompress, even on error. */
    JSAMPARRAY cmyk = cinfo.mem->alloc_sarray (reinterpret_cast<j_common_ptr> (&cinfo),
        JPOOL_IMAGE, cinfo.output_width * 4, 1);
    while (cinfo.output_scanline < cinfo.output_height) {
      guint8 *row = job->pixels + cinfo.output_scanline * job->stride;
      if (jpeg_read_scanlines (&cinfo, cmyk, 1) != 1)
        ERREXIT (&cinfo, JERR_INPUT_EOF);
      cmyk_row_to_rgb (cmyk[0], row, cinfo.output_width, cinfo.saw_Adobe_marker,
          job->rgba);
    }
  } else {
    while (cinfo.output_scanline < cinfo.output_height) {
      JSAMPROW row = job->pixels + cinfo.output_scanline * job->stride;
      /* The memory source never suspends, so 0 rows means broken data. */
      if (jpeg_read_scanlines (&cinfo, &row, 1) != 1)
        ERREXIT (&cinfo, JERR_INPUT_EOF);
    }
  }
  jpeg_finish_decompress (&cinfo);
  jpeg_destroy_decompress (&cinfo);
  return JpegStatus::Ok;
}

struct JpegPlan {
  const DecodeLimits *limits;
  std::string *error;
  /* read_image_header: stop after planning; whether the plan passed. */
  bool header_only = false;
  bool planned = false;
};

bool
jpeg_plan (JpegJob * job)
{
  auto *plan = static_cast<JpegPlan *> (job->plan_data);
  bool ok = plan_buffer (ImageFormat::Jpeg, job->width, job->height,
      plan->limits->rgba, *plan->limits, job->stride, job->bytes,
      job->over_limit, *plan->error);
  if (plan->header_only) {
    plan->planned = ok;
    return false;
  }
  return ok;
}

/* The job decode_jpeg and read_image_header both run. */
void
init_jpeg_job (JpegJob & job, const guint8 * data, gsize size, JpegPlan & plan,
    Interrupt & interrupt)
{
  std::memset (&job, 0, sizeof job);
  job.data = data;
  job.size = size;
  job.plan = jpeg_plan;
  job.plan_data = &plan;
  job.rgba = plan.limits->rgba;
  job.store = plan.limits->store.get ();
  job.interrupt = &interrupt;
}

bool
decode_jpeg (const guint8 * data, gsize size, const DecodeLimits & limits,
    Interrupt & interrupt, DecodedImage & out, std::string & error)
{
  JpegPlan plan{&limits, &error};
  JpegJob job;
  init_jpeg_job (job, data, size, plan, interrupt);

  JpegStatus status = jpeg_decode_plain (&job);
  out.over_limit = job.over_limit;
  switch (status) {
    case JpegStatus::Ok:
      break;
    case JpegStatus::LibError:
      /* Valid files that libjpeg cannot turn into RGB are not "corrupt". */
      if (job.msg_code == JERR_CONVERSION_NOTIMPL || job.msg_code == JERR_BAD_PRECISION
          || job.msg_code == JERR_NOT_COMPILED)
        error = strprintf ("JPEG variant is not supported: %s", job.message);
      else
        error = strprintf ("JPEG data is corrupt or truncated: %s", job.message);
      return false;
    case JpegStatus::Planned:
      return false;  /* error set by plan_buffer */
    case JpegStatus::TooManyScans:
      error = strprintf ("progressive JPEG has more than %d scans: refused as "
          "pathological", kJpegMaxScans);
      out.over_limit = true;
      out.pathological = true;
      return false;
    case JpegStatus::Stopped:
      describe_stop (interrupt.reason, ImageFormat::Jpeg, interrupt.max_seconds,
          interrupt.progress ? interrupt.progress->load () : 0, out, error);
      return false;
    case JpegStatus::NoMemory:
      error = strprintf ("out of memory allocating %" G_GSIZE_FORMAT " bytes "
          "for a %ux%u JPEG image", job.bytes, job.width, job.height);
      return false;
  }

  out.pixels.reset (job.pixels);
  if (limits.store) {
    out.store = limits.store;
    out.capacity = job.bytes;
  }
  out.width = static_cast<int> (job.width);
  out.height = static_cast<int> (job.height);
  out.has_alpha = job.rgba;
  out.opaque = true;
  out.stride = job.stride;
  out.size = job.bytes;
  return true;
}

/* --------------------------------------------------------------- WebP */

const char *
webp_status_text (VP8StatusCode status)
{
  switch (status) {
    case VP8_STATUS_OK: return "no error";
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "bitstream error";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_SUSPENDED: return "suspended";
    case VP8_STATUS_USER_ABORT: return "aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "not enough data (truncated)";
  }
  return "unknown error";
}

struct WebPConfigFree {
  WebPDecoderConfig *config;
  ~WebPConfigFree () { WebPFreeDecBuffer (&config->output); }
};

struct WebPIDecoderDelete {
  void operator() (WebPIDecoder * idec) const { WebPIDelete (idec); }
};

/* Bytes handed to the incremental decoder between two checkpoints: about
 * 20 ms of a worst-case (noise) image here. A highly compressible image can
 * decode in one call whatever the chunk (libwebp has no row hook), one
 * reason why a cancellable decode runs on an abandonable worker. */
constexpr gsize kWebpChunk = 64 * 1024;

bool
decode_webp (const guint8 * data, gsize size, const DecodeLimits & limits,
    Interrupt & interrupt, DecodedImage & out, std::string & error)
{
  WebPDecoderConfig config;
  if (!WebPInitDecoderConfig (&config)) {
    error = "WebP decoder library version mismatch";
    return false;
  }
  WebPConfigFree guard{&config};

  VP8StatusCode status = WebPGetFeatures (data, size, &config.input);
  if (status != VP8_STATUS_OK) {
    error = strprintf ("WebP data is corrupt or truncated: %s",
        webp_status_text (status));
    return false;
  }
  if (config.input.has_animation) {
    error = "animated WebP images are not supported";
    return false;
  }

  bool source_alpha = config.input.has_alpha != 0;
  bool alpha = source_alpha || limits.rgba;
  gsize stride = 0, bytes = 0;
  if (!plan_buffer (ImageFormat::Webp, static_cast<guint64> (config.input.width),
          static_cast<guint64> (config.input.height), alpha, limits, stride,
          bytes, out.over_limit, error))
    return false;
  /* WebPDecode refuses a RIFF container that declares more bytes than there
   * are; the incremental decoder below does not look (it would wait for
   * them, or finish without the padding byte). Same rule here. */
  guint32 riff_size = 0;
  std::memcpy (&riff_size, data + 4, 4);  /* sniffed: "RIFF" size "WEBP" */
  riff_size = GUINT32_FROM_LE (riff_size);
  if (riff_size > size - 8) {
    error = strprintf ("WebP data is corrupt or truncated: %s",
        webp_status_text (VP8_STATUS_NOT_ENOUGH_DATA));
    return false;
  }
  int width = config.input.width;
  int height = config.input.height;
  if (!allocate_pixels (limits, ImageFormat::Webp, width, height, bytes, out, error))
    return false;

  /* Decode straight into our stride-aligned buffer. */
  config.output.colorspace = alpha ? MODE_RGBA : MODE_RGB;
  config.output.is_external_memory = 1;
  config.output.u.RGBA.rgba = out.pixels.get ();
  config.output.u.RGBA.stride = static_cast<int> (stride);
  config.output.u.RGBA.size = bytes;
  /* The incremental decoder, fed growing prefixes of the same buffer, so
   * the checkpoint runs between chunks. */
  std::unique_ptr<WebPIDecoder, WebPIDecoderDelete> idec (
      WebPIDecode (nullptr, 0, &config));
  if (!idec) {
    error = "out of memory starting the WebP decoder";
    out.pixels.reset ();
    return false;
  }
  gsize fed = 0;
  status = VP8_STATUS_SUSPENDED;
  while (status == VP8_STATUS_SUSPENDED && fed < size) {
    if (interrupt.stop ()) {
      describe_stop (interrupt.reason, ImageFormat::Webp, interrupt.max_seconds,
          0, out, error);
      idec.reset ();  /* before the buffer it writes to */
      out.pixels.reset ();
      return false;
    }
    fed = std::min (size, fed + kWebpChunk);
    status = WebPIUpdate (idec.get (), data, fed);
  }
  /* All the data and still waiting for more: truncated. */
  if (status == VP8_STATUS_SUSPENDED)
    status = VP8_STATUS_NOT_ENOUGH_DATA;
  idec.reset ();
  if (status != VP8_STATUS_OK) {
    error = strprintf ("WebP data is corrupt or truncated: %s",
        webp_status_text (status));
    out.pixels.reset ();
    return false;
  }

  out.width = width;
  out.height = height;
  out.has_alpha = alpha;
  out.opaque = !source_alpha;
  out.stride = stride;
  out.size = bytes;
  return true;
}

/* ------------------------------------------------------------- worker */

using DecodeFn = bool (*) (const guint8 * data, gsize size,
    const DecodeLimits & limits, Interrupt & interrupt, DecodedImage & out,
    std::string & error);

/* How often the caller looks at the cancel flag and the worker's CPU time
 * while it waits: the cancel latency of a worker decode. */
constexpr auto kWorkerPoll = std::chrono::milliseconds (2);

/* Shared by the caller and the worker thread; whichever lets go last frees
 * it, so an abandoned worker never touches the caller's memory. */
struct WorkerTask {
  /* The encoded bytes: a reference to the caller's GBytes, or a copy. */
  GBytesPtr bytes;
  /* Without the time bound and the cancel flag: the worker stops on
   * `abandoned`, never on the caller's flag, which may be gone by then. */
  DecodeLimits limits;
  DecodeFn decode = nullptr;
  std::atomic<bool> abandoned {false};
  std::atomic<int> progress {0};

  std::mutex lock;
  std::condition_variable cond;
  /* Protected by lock. */
  bool done = false;
  bool ok = false;
  DecodedImage image;
  std::string error;
};

void
worker_main (std::shared_ptr<WorkerTask> task)
{
  gsize size = 0;
  auto data = static_cast<const guint8 *> (g_bytes_get_data (task->bytes.get (), &size));
  /* No time bound here: the caller measures this thread's CPU clock. */
  Interrupt interrupt (&task->abandoned, 0, &task->progress);
  DecodedImage image;
  std::string error;
  bool ok = task->decode (data, size, task->limits, interrupt, image, error);

  std::lock_guard<std::mutex> lk (task->lock);
  task->ok = ok;
  task->image = std::move (image);
  task->error = std::move (error);
  task->done = true;
  task->cond.notify_all ();
}

/* The worker's own copy of the caller's bytes, made 1 MB at a time so
 * that a cancel does not wait for a large one (first-touch page faults make
 * it about 2 ms per MB here). Null if cancelled or out of memory. */
GBytes *
copy_for_worker (const guint8 * data, gsize size, const std::atomic<bool> * cancel,
    bool & cancelled)
{
  auto copy = static_cast<guint8 *> (g_try_malloc (size));
  if (!copy)
    return nullptr;
  constexpr gsize kStep = 1024 * 1024;
  for (gsize done = 0; done < size; done += kStep) {
    if (cancel && cancel->load (std::memory_order_relaxed)) {
      g_free (copy);
      cancelled = true;
      return nullptr;
    }
    std::memcpy (copy + done, data + done, std::min (kStep, size - done));
  }
  return g_bytes_new_take (copy, size);
}

/* Runs `decode` on a worker thread and waits for it, looking at
 * limits.cancel and the worker's CPU time every kWorkerPoll. On cancel or
 * timeout the worker is abandoned: it stops at its next checkpoint and
 * frees everything itself. Sets `answered` false, and nothing else, if no
 * thread could be started (the caller then decodes on its own thread). */
bool
decode_on_worker (DecodeFn decode, ImageFormat format, const guint8 * data,
    gsize size, GBytes * owner, const DecodeLimits & limits, DecodedImage & out,
    std::string & error, bool & answered)
{
  auto task = std::make_shared<WorkerTask> ();
  if (owner) {
    task->bytes.reset (g_bytes_ref (owner));
  } else {
    bool cancelled = false;
    task->bytes.reset (copy_for_worker (data, size, limits.cancel, cancelled));
    if (cancelled) {
      answered = true;
      describe_stop (StopReason::Cancelled, format, 0, 0, out, error);
      return false;
    }
    if (!task->bytes) {
      answered = true;
      error = strprintf ("out of memory copying %" G_GSIZE_FORMAT " bytes of "
          "%s data", size, image_format_name (format));
      return false;
    }
  }
  task->limits = limits;
  task->limits.max_decode_seconds = 0;
  task->limits.cancel = nullptr;
  task->decode = decode;

  std::thread worker;
  try {
    worker = std::thread (worker_main, task);
  } catch (const std::system_error &) {
    answered = false;
    return false;
  }
  answered = true;

  clockid_t clock;
  bool have_clock = pthread_getcpuclockid (worker.native_handle (), &clock) == 0;
  auto wall_start = std::chrono::steady_clock::now ();
  StopReason reason = StopReason::None;
  {
    std::unique_lock<std::mutex> lk (task->lock);
    while (!task->done) {
      task->cond.wait_for (lk, kWorkerPoll);
      if (task->done)
        break;
      if (limits.cancel && limits.cancel->load (std::memory_order_relaxed)) {
        reason = StopReason::Cancelled;
        break;
      }
      if (limits.max_decode_seconds > 0) {
        /* The worker is still running (done is false under the lock), so
         * its clock is valid; wall time only if the clock is missing. */
        double used = have_clock ? cpu_seconds (clock)
            : std::chrono::duration<double> (std::chrono::steady_clock::now () - wall_start).count ();
        if (used > limits.max_decode_seconds) {
          reason = StopReason::TooSlow;
          break;
        }
      }
    }
    if (reason != StopReason::None)
      task->abandoned.store (true, std::memory_order_relaxed);
  }

  if (reason != StopReason::None) {
    worker.detach ();
    describe_stop (reason, format, limits.max_decode_seconds,
        task->progress.load (), out, error);
    return false;
  }
  worker.join ();
  out = std::move (task->image);
  error = std::move (task->error);
  return task->ok;
}

/* On an abandonable worker when the caller may cancel, so that neither the
 * decoder's next checkpoint nor freeing hundreds of megabytes (tens of ms
 * here for an 8192x8192 progressive JPEG) delays it. Otherwise on this
 * thread, the time bound checked at the decoder's checkpoints. */
bool
decode_format (ImageFormat format, const guint8 * data, gsize size,
    GBytes * owner, const DecodeLimits & limits, DecodedImage & out,
    std::string & error)
{
  DecodeFn decode = nullptr;
  switch (format) {
    case ImageFormat::Png:
      decode = decode_png;
      break;
    case ImageFormat::Jpeg:
      decode = decode_jpeg;
      break;
    case ImageFormat::Webp:
      decode = decode_webp;
      break;
    default:
      g_return_val_if_reached (false);
  }
  if (limits.cancel) {
    bool answered = false;
    bool ok = decode_on_worker (decode, format, data, size, owner, limits, out,
        error, answered);
    if (answered)
      return ok;
  }
  /* Nobody to cancel, or no thread: the checkpoints alone. */
  std::atomic<int> progress {0};
  Interrupt interrupt (limits.cancel, limits.max_decode_seconds, &progress);
  return decode (data, size, limits, interrupt, out, error);
}

/* The format of `data` when it is one we decode; otherwise Unknown and
 * `error` says why. */
ImageFormat
supported_format (const guint8 * data, gsize size, std::string & error)
{
  ImageFormat format = sniff_image_format (data, size);
  switch (format) {
    case ImageFormat::Png:
    case ImageFormat::Jpeg:
    case ImageFormat::Webp:
      break;
    case ImageFormat::Gif:
    case ImageFormat::Heif:
      error = strprintf ("%s images are not supported; Gemini answers PNG or JPEG",
          image_format_name (format));
      return ImageFormat::Unknown;
    case ImageFormat::Unknown:
      /* A cut-off signature is more likely a truncated download than junk. */
      if (size >= 2 && size < 8
          && std::memcmp (data, "\x89PNG\r\n\x1a\n", size) == 0) {
        error = strprintf ("PNG data is truncated (only %" G_GSIZE_FORMAT
            " bytes)", size);
        return ImageFormat::Unknown;
      }
      if (size == 2 && data[0] == 0xff && data[1] == 0xd8) {
        error = "JPEG data is truncated (only 2 bytes)";
        return ImageFormat::Unknown;
      }
      error = strprintf ("data is not a PNG, JPEG or WebP image (first bytes: %s)",
          first_bytes_hex (data, size).c_str ());
      return ImageFormat::Unknown;
  }
  return format;
}

bool
decode_any (const guint8 * data, gsize size, GBytes * owner,
    const DecodeLimits & limits, DecodedImage & out, std::string & error)
{
  out = DecodedImage ();
  error.clear ();

  if (!data || size == 0) {
    error = "image data is empty";
    return false;
  }
  if (limits.cancel && limits.cancel->load (std::memory_order_relaxed)) {
    error = "decoding was cancelled";
    out.cancelled = true;
    return false;
  }

  ImageFormat format = supported_format (data, size, error);
  if (format == ImageFormat::Unknown)
    return false;

  if (!decode_format (format, data, size, owner, limits, out, error)) {
    /* No pixels or sizes from a failed decode; only the reason flags. */
    DecodedImage failed;
    failed.over_limit = out.over_limit;
    failed.pathological = out.pathological;
    failed.cancelled = out.cancelled;
    out = std::move (failed);
    return false;
  }
  out.source_format = format;
  return true;
}

}  // namespace

bool
read_image_header (const guint8 * data, gsize size, const DecodeLimits & limits,
    DecodedImage & out, std::string & error)
{
  out = DecodedImage ();
  error.clear ();
  if (!data || size == 0) {
    error = "image data is empty";
    return false;
  }
  ImageFormat format = supported_format (data, size, error);
  if (format == ImageFormat::Unknown)
    return false;
  guint64 width = 0, height = 0;
  bool source_alpha = false;
  if (format == ImageFormat::Png) {
    png_image image;
    std::memset (&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    PngImageFree guard{&image};
    if (!png_image_begin_read_from_memory (&image, data, size)) {
      error = strprintf ("PNG data is corrupt or truncated: %s", image.message);
      return false;
    }
    width = image.width;
    height = image.height;
    source_alpha = (image.format & PNG_FORMAT_FLAG_ALPHA) != 0;
  } else if (format == ImageFormat::Jpeg) {
    JpegPlan plan{&limits, &error, true, false};
    Interrupt interrupt (nullptr, 0, nullptr);
    JpegJob job;
    init_jpeg_job (job, data, size, plan, interrupt);
    JpegStatus status = jpeg_decode_plain (&job);
    out.over_limit = job.over_limit;
    if (status != JpegStatus::Planned || !plan.planned) {
      if (status == JpegStatus::LibError)
        error = strprintf ("JPEG data is corrupt or truncated: %s", job.message);
      return false;   /* else error set by plan_buffer */
    }
    width = job.width;
    height = job.height;
  } else {
    WebPBitstreamFeatures features;
    VP8StatusCode status = WebPGetFeatures (data, size, &features);
    if (status != VP8_STATUS_OK) {
      error = strprintf ("WebP data is corrupt or truncated: %s", webp_status_text (status));
      return false;
    }
    if (features.has_animation) {
      error = "animated WebP images are not supported";
      return false;
    }
    width = guint64 (features.width);
    height = guint64 (features.height);
    source_alpha = features.has_alpha != 0;
  }
  bool alpha = source_alpha || limits.rgba;
  gsize stride = 0, bytes = 0;
  if (!plan_buffer (format, width, height, alpha, limits, stride, bytes, out.over_limit, error))
    return false;
  out.width = int (width);
  out.height = int (height);
  out.has_alpha = alpha;
  out.opaque = !source_alpha;
  out.stride = stride;
  out.size = bytes;
  out.source_format = format;
  return true;
}

ImageFormat
sniff_image_format (const guint8 * data, gsize size)
{
  if (!data)
    return ImageFormat::Unknown;
  if (has_prefix (data, size, 0, "\x89PNG\r\n\x1a\n", 8))
    return ImageFormat::Png;
  if (has_prefix (data, size, 0, "\xff\xd8\xff", 3))
    return ImageFormat::Jpeg;
  if (has_prefix (data, size, 0, "RIFF", 4) && has_prefix (data, size, 8, "WEBP", 4))
    return ImageFormat::Webp;
  if (has_prefix (data, size, 0, "GIF87a", 6) || has_prefix (data, size, 0, "GIF89a", 6))
    return ImageFormat::Gif;
  if (has_prefix (data, size, 4, "ftyp", 4) && size >= 12 && is_heif_brand (data + 8))
    return ImageFormat::Heif;
  return ImageFormat::Unknown;
}

const char *
image_format_mime_type (ImageFormat format)
{
  switch (format) {
    case ImageFormat::Png: return "image/png";
    case ImageFormat::Jpeg: return "image/jpeg";
    case ImageFormat::Webp: return "image/webp";
    case ImageFormat::Gif: return "image/gif";
    case ImageFormat::Heif: return "image/heif";
    case ImageFormat::Unknown: break;
  }
  return nullptr;
}

const char *
image_format_name (ImageFormat format)
{
  switch (format) {
    case ImageFormat::Png: return "PNG";
    case ImageFormat::Jpeg: return "JPEG";
    case ImageFormat::Webp: return "WebP";
    case ImageFormat::Gif: return "GIF";
    case ImageFormat::Heif: return "HEIF";
    case ImageFormat::Unknown: break;
  }
  return "unknown";
}

bool
decode_image (const guint8 * data, gsize size, const DecodeLimits & limits,
    DecodedImage & out, std::string & error)
{
  return decode_any (data, size, nullptr, limits, out, error);
}

bool
decode_image (GBytes * data, const DecodeLimits & limits, DecodedImage & out,
    std::string & error)
{
  gsize size = 0;
  auto bytes = data ? static_cast<const guint8 *> (g_bytes_get_data (data, &size)) : nullptr;
  return decode_any (bytes, size, data, limits, out, error);
}

}  // namespace gemini

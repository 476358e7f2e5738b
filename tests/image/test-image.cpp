/* gst-gemini: unit tests for image sniffing and decoding (gemini-image.h).
 * Fixtures are encoded in-process with libpng/libjpeg/libwebp so the tests
 * need no files and cover exact pixel values.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <malloc.h>
#include <time.h>

#include <atomic>
#include <cstdio>  /* jpeglib.h needs FILE */
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <jpeglib.h>
#include <png.h>
#include <webp/encode.h>

#include <zlib.h>

#include "gemini-image.h"
#include "gemini-png-fast.h"
#include "test-files.h"

/* Last: gstcheck's fail() macro breaks <ios> if included before it. */
#include <gst/check/gstcheck.h>

using namespace gemini;

namespace {

using Bytes = std::vector<guint8>;

/* ------------------------------------------------------------ encoders */

extern "C" void
png_write_cb (png_structp png, png_bytep data, png_size_t len)
{
  auto *out = static_cast<Bytes *> (png_get_io_ptr (png));
  out->insert (out->end (), data, data + len);
}

extern "C" void
png_flush_cb (png_structp)
{
}

struct PngSpec {
  int width;
  int height;
  int color_type;
  int bit_depth;
  /* Tightly packed rows; 16-bit samples big-endian as in the file. */
  Bytes rows;
  std::vector<png_color> palette;
  Bytes trns;
  bool interlaced = false;
  /* png_set_filter's PNG_FILTER_* mask; 0: libpng's choice. */
  int filters = 0;
};

int
png_channels (int color_type)
{
  switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    case PNG_COLOR_TYPE_PALETTE: return 1;
  }
  return 0;
}

/* libpng's default error handler aborts when no jmp_buf is set, which is
 * what a test fixture should do on a bug anyway. */
Bytes
encode_png (const PngSpec & spec)
{
  Bytes out;
  png_structp png = png_create_write_struct (PNG_LIBPNG_VER_STRING, nullptr,
      nullptr, nullptr);
  png_infop info = png_create_info_struct (png);
  png_set_write_fn (png, &out, png_write_cb, png_flush_cb);
  if (spec.filters)
    png_set_filter (png, PNG_FILTER_TYPE_BASE, spec.filters);
  png_set_IHDR (png, info, spec.width, spec.height, spec.bit_depth,
      spec.color_type, spec.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
      PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (!spec.palette.empty ())
    png_set_PLTE (png, info, spec.palette.data (),
        static_cast<int> (spec.palette.size ()));
  if (!spec.trns.empty ())
    png_set_tRNS (png, info, spec.trns.data (),
        static_cast<int> (spec.trns.size ()), nullptr);
  png_write_info (png, info);
  int passes = png_set_interlace_handling (png);
  gsize row_bytes = (static_cast<gsize> (spec.width) *
      png_channels (spec.color_type) * spec.bit_depth + 7) / 8;
  for (int pass = 0; pass < passes; pass++)
    for (int y = 0; y < spec.height; y++)
      png_write_row (png, spec.rows.data () + y * row_bytes);
  png_write_end (png, info);
  png_destroy_write_struct (&png, &info);
  return out;
}

/* libjpeg's default error_exit() exits the process: fine for fixtures. */
Bytes
encode_jpeg (int width, int height, int components, J_COLOR_SPACE in_space,
    const Bytes & pixels, int quality = 95,
    J_COLOR_SPACE file_space = JCS_UNKNOWN, bool progressive = false)
{
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error (&err);
  jpeg_create_compress (&cinfo);
  unsigned char *buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest (&cinfo, &buf, &size);
  cinfo.image_width = width;
  cinfo.image_height = height;
  cinfo.input_components = components;
  cinfo.in_color_space = in_space;
  jpeg_set_defaults (&cinfo);
  if (file_space != JCS_UNKNOWN)
    jpeg_set_colorspace (&cinfo, file_space);
  jpeg_set_quality (&cinfo, quality, TRUE);
  /* 4:4:4 so colour blocks come back close to their input. */
  for (int c = 0; c < cinfo.num_components; c++) {
    cinfo.comp_info[c].h_samp_factor = 1;
    cinfo.comp_info[c].v_samp_factor = 1;
  }
  if (progressive)
    jpeg_simple_progression (&cinfo);
  jpeg_start_compress (&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW> (pixels.data () +
        static_cast<gsize> (cinfo.next_scanline) * width * components);
    jpeg_write_scanlines (&cinfo, &row, 1);
  }
  jpeg_finish_compress (&cinfo);
  Bytes out (buf, buf + size);
  jpeg_destroy_compress (&cinfo);
  free (buf);
  return out;
}

/* A greyscale progressive JPEG whose scan script refines each of the first
 * `bands` AC coefficients bit by bit: 11 + 11 * bands scans. */
Bytes
encode_jpeg_many_scans (int bands)
{
  std::vector<jpeg_scan_info> scans;
  auto add = [&scans] (int ss, int se, int ah, int al) {
    jpeg_scan_info scan{};
    scan.comps_in_scan = 1;
    scan.component_index[0] = 0;
    scan.Ss = ss;
    scan.Se = se;
    scan.Ah = ah;
    scan.Al = al;
    scans.push_back (scan);
  };
  for (int band = 0; band <= bands; band++) {
    add (band, band, 0, 10);
    for (int al = 9; al >= 0; al--)
      add (band, band, al + 1, al);
  }
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error (&err);
  jpeg_create_compress (&cinfo);
  unsigned char *buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest (&cinfo, &buf, &size);
  cinfo.image_width = 8;
  cinfo.image_height = 8;
  cinfo.input_components = 1;
  cinfo.in_color_space = JCS_GRAYSCALE;
  jpeg_set_defaults (&cinfo);
  cinfo.scan_info = scans.data ();
  cinfo.num_scans = static_cast<int> (scans.size ());
  jpeg_start_compress (&cinfo, TRUE);
  guint8 row_data[8] = { 0, 32, 64, 96, 128, 160, 192, 224 };
  for (int y = 0; y < 8; y++) {
    JSAMPROW row = row_data;
    jpeg_write_scanlines (&cinfo, &row, 1);
  }
  jpeg_finish_compress (&cinfo);
  Bytes out (buf, buf + size);
  jpeg_destroy_compress (&cinfo);
  free (buf);
  return out;
}

Bytes
webp_bytes (uint8_t * data, size_t size)
{
  fail_unless (size > 0 && data != nullptr, "WebP encoding failed");
  Bytes out (data, data + size);
  WebPFree (data);
  return out;
}

Bytes
encode_webp_lossless_rgba (int width, int height, const Bytes & rgba)
{
  uint8_t *data = nullptr;
  size_t size = WebPEncodeLosslessRGBA (rgba.data (), width, height, width * 4,
      &data);
  return webp_bytes (data, size);
}

Bytes
encode_webp_lossless_rgb (int width, int height, const Bytes & rgb)
{
  uint8_t *data = nullptr;
  size_t size = WebPEncodeLosslessRGB (rgb.data (), width, height, width * 3,
      &data);
  return webp_bytes (data, size);
}

Bytes
encode_webp_lossy_rgb (int width, int height, const Bytes & rgb)
{
  uint8_t *data = nullptr;
  size_t size = WebPEncodeRGB (rgb.data (), width, height, width * 3, 95.0f,
      &data);
  return webp_bytes (data, size);
}

/* --------------------------------------------------- hand-built PNGs */

guint32
crc32_png (const guint8 * data, gsize len, guint32 crc = 0)
{
  crc = ~crc;
  for (gsize i = 0; i < len; i++) {
    crc ^= data[i];
    for (int k = 0; k < 8; k++)
      crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

void
put_be32 (Bytes & out, guint32 v)
{
  out.push_back (v >> 24);
  out.push_back ((v >> 16) & 0xff);
  out.push_back ((v >> 8) & 0xff);
  out.push_back (v & 0xff);
}

void
put_chunk (Bytes & out, const char *type, const Bytes & payload)
{
  put_be32 (out, static_cast<guint32> (payload.size ()));
  gsize start = out.size ();
  out.insert (out.end (), type, type + 4);
  out.insert (out.end (), payload.begin (), payload.end ());
  put_be32 (out, crc32_png (out.data () + start, out.size () - start));
}

/* A structurally valid PNG header announcing any size, with valid CRCs; the
 * IDAT is a tiny zlib stream that does not hold the announced rows. */
Bytes
handmade_png (guint32 width, guint32 height)
{
  Bytes out = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  Bytes ihdr;
  put_be32 (ihdr, width);
  put_be32 (ihdr, height);
  ihdr.insert (ihdr.end (), { 8, PNG_COLOR_TYPE_RGB, 0, 0, 0 });
  put_chunk (out, "IHDR", ihdr);
  put_chunk (out, "IDAT", { 0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00,
          0x01 });
  put_chunk (out, "IEND", {});
  return out;
}

/* ------------------------------------------------------------ helpers */

const guint8 *
pixel (const DecodedImage & img, int x, int y)
{
  return img.pixels.get () + static_cast<gsize> (y) * img.stride +
      static_cast<gsize> (x) * (img.has_alpha ? 4 : 3);
}

void
check_layout (const DecodedImage & img, int width, int height, bool alpha,
    ImageFormat format)
{
  fail_unless_equals_int (img.width, width);
  fail_unless_equals_int (img.height, height);
  fail_unless (img.has_alpha == alpha, "has_alpha is %d, expected %d",
      img.has_alpha, alpha);
  fail_unless (img.stride % 4 == 0, "stride %" G_GSIZE_FORMAT " not aligned",
      img.stride);
  fail_unless (img.stride >= static_cast<gsize> (width) * (alpha ? 4 : 3));
  fail_unless (img.stride < static_cast<gsize> (width) * (alpha ? 4 : 3) + 4);
  fail_unless_equals_uint64 (img.size, img.stride * height);
  fail_unless (img.pixels != nullptr);
  fail_unless (img.source_format == format);
}

void
check_pixel (const DecodedImage & img, int x, int y, int r, int g, int b,
    int a = 255, int tolerance = 0)
{
  const guint8 *p = pixel (img, x, y);
  int got_a = img.has_alpha ? p[3] : 255;
  fail_unless (std::abs (p[0] - r) <= tolerance && std::abs (p[1] - g) <= tolerance
      && std::abs (p[2] - b) <= tolerance && std::abs (got_a - a) <= tolerance,
      "pixel (%d,%d) is %d,%d,%d,%d; expected %d,%d,%d,%d (+-%d)", x, y, p[0],
      p[1], p[2], got_a, r, g, b, a, tolerance);
}

/* Never set: a decode given it must behave exactly as one without. */
const std::atomic<bool> never_cancelled {false};

bool
decode_once (const Bytes & data, DecodedImage & img, std::string & error,
    const DecodeLimits & limits, bool from_gbytes)
{
  /* An exactly-sized heap copy, so sanitizers see any over-read. */
  if (from_gbytes) {
    GBytesPtr bytes (g_bytes_new (data.data (), data.size ()));
    return decode_image (bytes.get (), limits, img, error);
  }
  GCharPtr copy (static_cast<gchar *> (g_memdup2 (data.data (), data.size ())));
  return decode_image (reinterpret_cast<const guint8 *> (copy.get ()),
      data.size (), limits, img, error);
}

void
expect_same_result (const char *path, bool ok, const DecodedImage & img,
    const std::string & error, bool ok2, const DecodedImage & img2,
    const std::string & error2)
{
  fail_unless (ok == ok2, "%s: ok %d vs %d (%s / %s)", path, ok, ok2,
      error.c_str (), error2.c_str ());
  fail_unless (error == error2, "%s: error '%s' vs '%s'", path, error.c_str (),
      error2.c_str ());
  fail_unless (img.width == img2.width && img.height == img2.height
      && img.has_alpha == img2.has_alpha && img.stride == img2.stride
      && img.size == img2.size && img.source_format == img2.source_format
      && img.over_limit == img2.over_limit && img.pathological == img2.pathological
      && img.cancelled == img2.cancelled && img.opaque == img2.opaque,
      "%s: different layout or flags", path);
  fail_unless ((img.pixels == nullptr) == (img2.pixels == nullptr), "%s: pixels", path);
  /* Row by row: the padding at the end of a row is not written. */
  gsize row = static_cast<gsize> (img.width) * (img.has_alpha ? 4 : 3);
  for (int y = 0; img.pixels && y < img.height; y++)
    fail_unless (std::memcmp (img.pixels.get () + y * img.stride,
            img2.pixels.get () + y * img.stride, row) == 0,
        "%s: different pixels in row %d", path, y);
}

/* Decodes with `limits` (on the calling thread unless they have a cancel
 * flag), and checks that every other path gives the same answer byte for
 * byte: a cancel flag that is never set (a worker thread), no time bound,
 * and the GBytes overload. */
bool
decode (const Bytes & data, DecodedImage & img, std::string & error,
    const DecodeLimits & limits = DecodeLimits ())
{
  bool ok = decode_once (data, img, error, limits, false);
  if (limits.cancel)
    return ok;

  DecodeLimits flag = limits;
  flag.cancel = &never_cancelled;
  DecodeLimits unbounded = limits;
  unbounded.max_decode_seconds = 0;
  struct Path { const char *name; const DecodeLimits *limits; bool gbytes; };
  const Path paths[] = {
    {"on a worker", &flag, false},
    {"with no time bound", &unbounded, false},
    {"from a GBytes", &limits, true},
  };
  for (const Path & path : paths) {
    DecodedImage img2;
    std::string error2;
    bool ok2 = decode_once (data, img2, error2, *path.limits, path.gbytes);
    expect_same_result (path.name, ok, img, error, ok2, img2, error2);
  }
  return ok;
}

void
expect_failure (const Bytes & data, const char *needle,
    const DecodeLimits & limits = DecodeLimits ())
{
  DecodedImage img;
  std::string error;
  fail_if (decode (data, img, error, limits), "decoding should fail");
  fail_unless (img.pixels == nullptr && img.size == 0 && img.width == 0,
      "failed decode left data in the result");
  fail_if (error.empty (), "no error message");
  if (needle)
    fail_unless (error.find (needle) != std::string::npos,
        "error '%s' does not contain '%s'", error.c_str (), needle);
}

/* Flags of a failed decode: refused by DecodeLimits, for its cost, or
 * cancelled. */
void
expect_flags (const Bytes & data, bool over_limit, bool pathological,
    bool cancelled, const DecodeLimits & limits = DecodeLimits ())
{
  DecodedImage img;
  std::string error;
  fail_if (decode (data, img, error, limits), "decoding should fail");
  fail_unless (img.over_limit == over_limit && img.pathological == pathological
      && img.cancelled == cancelled, "flags over_limit=%d pathological=%d "
      "cancelled=%d, expected %d %d %d (%s)", img.over_limit, img.pathological,
      img.cancelled, over_limit, pathological, cancelled, error.c_str ());
}

/* Four 8x8 blocks: red, green / blue, grey; aligned to JPEG blocks. */
Bytes
quadrants_rgb (int width, int height)
{
  Bytes rgb (static_cast<gsize> (width) * height * 3);
  for (int y = 0; y < height; y++) {
    for (int x = 0; x < width; x++) {
      guint8 *p = &rgb[(static_cast<gsize> (y) * width + x) * 3];
      bool right = x >= 8, bottom = y >= 8;
      if (!right && !bottom) { p[0] = 220; p[1] = 20; p[2] = 30; }
      else if (right && !bottom) { p[0] = 20; p[1] = 200; p[2] = 40; }
      else if (!right) { p[0] = 30; p[1] = 40; p[2] = 210; }
      else { p[0] = 128; p[1] = 128; p[2] = 128; }
    }
  }
  return rgb;
}

/* Distinct value per pixel and channel. */
Bytes
pattern (int width, int height, int channels)
{
  Bytes out (static_cast<gsize> (width) * height * channels);
  for (gsize i = 0; i < out.size (); i++)
    out[i] = static_cast<guint8> ((i * 37 + 11) & 0xff);
  return out;
}

Bytes
small_png ()
{
  return encode_png ({5, 3, PNG_COLOR_TYPE_RGB_ALPHA, 8, pattern (5, 3, 4), {}, {}});
}

Bytes
small_jpeg ()
{
  return encode_jpeg (16, 16, 3, JCS_RGB, quadrants_rgb (16, 16));
}

/* ------------------------------------------- slow images, cancellation */

double
now_s ()
{
  return static_cast<double> (g_get_monotonic_time ()) / G_USEC_PER_SEC;
}

/* Threads of this process, to see abandoned decoder threads end. */
int
thread_count ()
{
  GDir *dir = g_dir_open ("/proc/self/task", 0, nullptr);
  fail_unless (dir != nullptr);
  int n = 0;
  while (g_dir_read_name (dir))
    n++;
  g_dir_close (dir);
  return n;
}

/* Seconds until the process is back to `threads` threads, or -1 after
 * `limit` seconds. */
double
wait_for_threads (int threads, double limit)
{
  double start = now_s ();
  while (thread_count () > threads) {
    if (now_s () - start > limit)
      return -1;
    g_usleep (1000);
  }
  return now_s () - start;
}

void
put_be16 (Bytes & out, guint v)
{
  out.push_back (static_cast<guint8> (v >> 8));
  out.push_back (static_cast<guint8> (v & 0xff));
}

void
put_marker (Bytes & out, guint8 marker, const Bytes & payload)
{
  out.insert (out.end (), { 0xff, marker });
  put_be16 (out, static_cast<guint> (payload.size () + 2));
  out.insert (out.end (), payload.begin (), payload.end ());
}

/* The pathological JPEG of issue 6, built by hand in microseconds: a valid
 * progressive greyscale picture of flat mid-grey whose one DC scan is
 * repeated `scans` times. A DC first scan sets the coefficients rather than
 * refining them, so libjpeg takes every repeat without a warning and walks
 * every block again each time. */
Bytes
many_scan_jpeg (int width, int height, int scans)
{
  Bytes out = { 0xff, 0xd8 };
  Bytes dqt = { 0x00 };  /* 8-bit table 0, all ones */
  dqt.insert (dqt.end (), 64, 1);
  put_marker (out, 0xdb, dqt);
  Bytes sof = { 8 };
  put_be16 (sof, height);
  put_be16 (sof, width);
  sof.insert (sof.end (), { 1, 1, 0x11, 0 });  /* component 1, 1x1, table 0 */
  put_marker (out, 0xc2, sof);  /* SOF2: progressive, Huffman */
  /* DC table 0: one code, "0", for category 0 (a zero difference). */
  Bytes dht = { 0x00, 1 };
  dht.insert (dht.end (), 15, 0);
  dht.push_back (0);
  put_marker (out, 0xc4, dht);
  gsize blocks = static_cast<gsize> ((width + 7) / 8) * ((height + 7) / 8);
  for (int i = 0; i < scans; i++) {
    /* Component 1 with DC table 0; Ss = Se = 0, Ah = Al = 0. */
    put_marker (out, 0xda, { 1, 1, 0x00, 0, 0, 0x00 });
    out.insert (out.end (), (blocks + 7) / 8, 0x00);  /* a 0 bit per block */
  }
  out.insert (out.end (), { 0xff, 0xd9 });
  return out;
}

/* A large flat RGB PNG (40,80,120): zlib level 1 and no row filter, so it
 * is quick to make and small, and libpng still inflates every row. */
Bytes
flat_png (int width, int height, bool interlaced)
{
  Bytes out;
  png_structp png = png_create_write_struct (PNG_LIBPNG_VER_STRING, nullptr,
      nullptr, nullptr);
  png_infop info = png_create_info_struct (png);
  png_set_write_fn (png, &out, png_write_cb, png_flush_cb);
  png_set_compression_level (png, 1);
  png_set_filter (png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
  png_set_IHDR (png, info, width, height, 8, PNG_COLOR_TYPE_RGB,
      interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
      PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info (png, info);
  int passes = png_set_interlace_handling (png);
  Bytes row (static_cast<gsize> (width) * 3);
  for (gsize i = 0; i < row.size (); i += 3) {
    row[i] = 40;
    row[i + 1] = 80;
    row[i + 2] = 120;
  }
  for (int pass = 0; pass < passes; pass++)
    for (int y = 0; y < height; y++)
      png_write_row (png, row.data ());
  png_write_end (png, info);
  png_destroy_write_struct (&png, &info);
  return out;
}

/* A large lossy WebP of a horizontal grey ramp, written straight as YUV
 * with libwebp's fastest method. */
Bytes
ramp_webp (int width, int height)
{
  WebPConfig config;
  fail_unless (WebPConfigInit (&config));
  config.method = 0;
  config.quality = 50;
  WebPPicture pic;
  fail_unless (WebPPictureInit (&pic));
  pic.width = width;
  pic.height = height;
  pic.use_argb = 0;
  fail_unless (WebPPictureAlloc (&pic));
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      pic.y[y * pic.y_stride + x] = static_cast<uint8_t> (16 + x * 219 / width);
  for (int y = 0; y < (height + 1) / 2; y++) {
    std::memset (pic.u + y * pic.uv_stride, 128, (width + 1) / 2);
    std::memset (pic.v + y * pic.uv_stride, 128, (width + 1) / 2);
  }
  WebPMemoryWriter writer;
  WebPMemoryWriterInit (&writer);
  pic.writer = WebPMemoryWrite;
  pic.custom_ptr = &writer;
  fail_unless (WebPEncode (&config, &pic), "WebP encoding failed: %d", pic.error_code);
  Bytes out (writer.mem, writer.mem + writer.size);
  WebPPictureFree (&pic);
  WebPMemoryWriterClear (&writer);
  return out;
}

/* A whole decode with no time bound, timed: the fixture's cost here. */
double
time_full_decode (const Bytes & data, DecodedImage & img)
{
  DecodeLimits limits;
  limits.max_decode_seconds = 0;
  limits.cancel = &never_cancelled;
  std::string error;
  double start = now_s ();
  bool ok = decode_image (data.data (), data.size (), limits, img, error);
  double elapsed = now_s () - start;
  fail_unless (ok, "%s", error.c_str ());
  return elapsed;
}

struct CancelRun {
  bool ok = false;
  DecodedImage img;
  std::string error;
  /* From setting the flag to decode_image's return. */
  double latency = 0;
};

/* Decodes on a thread of its own and sets the cancel flag `after` seconds
 * later, as a state change would. */
void
decode_and_cancel (const Bytes & data, bool from_gbytes, double after,
    CancelRun & run)
{
  std::atomic<bool> cancel {false};
  DecodeLimits limits;
  limits.cancel = &cancel;
  GBytesPtr bytes (g_bytes_new (data.data (), data.size ()));
  std::atomic<gint64> returned {0};
  std::thread decoder ([&] {
    if (from_gbytes)
      run.ok = decode_image (bytes.get (), limits, run.img, run.error);
    else
      run.ok = decode_image (data.data (), data.size (), limits, run.img, run.error);
    returned.store (g_get_monotonic_time ());
  });
  g_usleep (static_cast<gulong> (after * G_USEC_PER_SEC));
  gint64 set = g_get_monotonic_time ();
  cancel.store (true);
  decoder.join ();
  run.latency = static_cast<double> (returned.load () - set) / G_USEC_PER_SEC;
}

/* A slow image for the cancel tests, and what a whole decode gives. */
struct SlowImage {
  const char *what;
  Bytes data;
  ImageFormat format;
  int width;
  int height;
  /* The bottom-right pixel, grey or colour, within `tolerance`. */
  guint8 r, g, b;
  int tolerance;
  /* The abandoned worker can stop inside a decode (not libwebp's). */
  bool worker_stops;
};

/* Decodes `image` whole, timed, and checks it. Then cancelled 20 ms in,
 * decode_image must return within 100 ms (a state change's budget) with
 * nothing but the cancelled flag. With `worker_stops`, the abandoned worker
 * must then end by itself, freeing what it holds, well before it would have
 * finished (otherwise it is only reported). */
void
check_cancel_latency (const SlowImage & image)
{
  const char *what = image.what;
  const Bytes & data = image.data;
  double full = 0;
  {
    DecodedImage img;
    full = time_full_decode (data, img);
    check_layout (img, image.width, image.height, false, image.format);
    check_pixel (img, image.width - 1, image.height - 1, image.r, image.g,
        image.b, 255, image.tolerance);
  }
  /* Otherwise the decode could end before the cancel and prove nothing. */
  fail_unless (full > 0.1, "the %s fixture decodes in %.3f s: too fast to "
      "test cancellation", what, full);
  /* meson's MALLOC_PERTURB_ makes every free fill the block, so the
   * abandoned worker's end would measure freeing 200 MB, not decoding. */
  mallopt (M_PERTURB, 0);

  /* Both overloads: the pointer one copies the bytes for its worker. */
  for (bool from_gbytes : { false, true }) {
    int threads = thread_count ();
    CancelRun run;
    decode_and_cancel (data, from_gbytes, 0.02, run);
    double worker_end = wait_for_threads (threads, full + 1);
    g_print ("%s (%" G_GSIZE_FORMAT " bytes%s): whole decode %.3f s, returned "
        "%.2f ms after the cancel; its worker ended %.0f ms later\n", what,
        data.size (), from_gbytes ? ", GBytes" : "", full, run.latency * 1000,
        worker_end * 1000);
    fail_if (run.ok, "the %s decode was not cancelled", what);
    fail_unless_equals_string (run.error.c_str (), "decoding was cancelled");
    fail_unless (run.img.cancelled && !run.img.over_limit && !run.img.pathological,
        "flags of a cancelled %s decode", what);
    fail_unless (run.img.pixels == nullptr && run.img.width == 0 && run.img.size == 0);
    fail_unless (run.latency >= 0 && run.latency < 0.1, "the %s decode returned "
        "%.1f ms after the cancel", what, run.latency * 1000);
    fail_unless (worker_end >= 0, "the abandoned %s worker never ended", what);
    if (image.worker_stops)
      fail_unless (worker_end < full * 0.75, "the abandoned %s worker ran on "
          "for %.0f ms", what, worker_end * 1000);
  }
}

}  // namespace

/* ------------------------------------------------------------ sniffing */

GST_START_TEST (test_sniff_formats)
{
  const guint8 png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0 };
  const guint8 jpeg[] = { 0xff, 0xd8, 0xff, 0xe0 };
  const guint8 webp[] = { 'R', 'I', 'F', 'F', 1, 2, 3, 4, 'W', 'E', 'B', 'P', 'V' };
  const guint8 wav[] = { 'R', 'I', 'F', 'F', 1, 2, 3, 4, 'W', 'A', 'V', 'E' };
  const guint8 gif87[] = { 'G', 'I', 'F', '8', '7', 'a', 1, 0 };
  const guint8 gif89[] = { 'G', 'I', 'F', '8', '9', 'a' };
  const guint8 heic[] = { 0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c' };
  const guint8 mif1[] = { 0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'm', 'i', 'f', '1' };
  const guint8 avif[] = { 0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'a', 'v', 'i', 'f' };
  const guint8 mp4[] = { 0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm' };
  const guint8 html[] = { '<', 'h', 't', 'm', 'l', '>' };

  fail_unless (sniff_image_format (png, sizeof png) == ImageFormat::Png);
  fail_unless (sniff_image_format (png, 8) == ImageFormat::Png);
  fail_unless (sniff_image_format (jpeg, sizeof jpeg) == ImageFormat::Jpeg);
  fail_unless (sniff_image_format (jpeg, 3) == ImageFormat::Jpeg);
  fail_unless (sniff_image_format (webp, sizeof webp) == ImageFormat::Webp);
  fail_unless (sniff_image_format (wav, sizeof wav) == ImageFormat::Unknown);
  fail_unless (sniff_image_format (gif87, sizeof gif87) == ImageFormat::Gif);
  fail_unless (sniff_image_format (gif89, sizeof gif89) == ImageFormat::Gif);
  fail_unless (sniff_image_format (heic, sizeof heic) == ImageFormat::Heif);
  fail_unless (sniff_image_format (mif1, sizeof mif1) == ImageFormat::Heif);
  fail_unless (sniff_image_format (avif, sizeof avif) == ImageFormat::Unknown);
  fail_unless (sniff_image_format (mp4, sizeof mp4) == ImageFormat::Unknown);
  fail_unless (sniff_image_format (html, sizeof html) == ImageFormat::Unknown);

  Bytes p = small_png ();
  fail_unless (sniff_image_format (p.data (), p.size ()) == ImageFormat::Png);
  Bytes j = small_jpeg ();
  fail_unless (sniff_image_format (j.data (), j.size ()) == ImageFormat::Jpeg);
}
GST_END_TEST;

GST_START_TEST (test_sniff_short)
{
  const guint8 png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  const guint8 webp[] = { 'R', 'I', 'F', 'F', 1, 2, 3, 4, 'W', 'E', 'B', 'P' };
  const guint8 heic[] = { 0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c' };
  const guint8 gif[] = { 'G', 'I', 'F', '8', '9', 'a' };

  fail_unless (sniff_image_format (nullptr, 0) == ImageFormat::Unknown);
  fail_unless (sniff_image_format (nullptr, 100) == ImageFormat::Unknown);
  /* Every strict prefix of a signature is "unknown", never an over-read. */
  for (gsize len = 0; len < sizeof png; len++) {
    GCharPtr copy (static_cast<gchar *> (g_memdup2 (png, len)));
    fail_unless (sniff_image_format (reinterpret_cast<guint8 *> (copy.get ()), len)
        == ImageFormat::Unknown, "PNG prefix of %" G_GSIZE_FORMAT, len);
  }
  for (gsize len = 0; len < sizeof webp; len++)
    fail_unless (sniff_image_format (webp, len) == ImageFormat::Unknown);
  for (gsize len = 0; len < sizeof heic; len++)
    fail_unless (sniff_image_format (heic, len) == ImageFormat::Unknown);
  for (gsize len = 0; len < sizeof gif; len++)
    fail_unless (sniff_image_format (gif, len) == ImageFormat::Unknown);
  const guint8 jpeg[] = { 0xff, 0xd8 };
  fail_unless (sniff_image_format (jpeg, 2) == ImageFormat::Unknown);
  fail_unless (sniff_image_format (jpeg, 1) == ImageFormat::Unknown);
}
GST_END_TEST;

GST_START_TEST (test_format_names)
{
  fail_unless_equals_string (image_format_mime_type (ImageFormat::Png), "image/png");
  fail_unless_equals_string (image_format_mime_type (ImageFormat::Jpeg), "image/jpeg");
  fail_unless_equals_string (image_format_mime_type (ImageFormat::Webp), "image/webp");
  fail_unless_equals_string (image_format_mime_type (ImageFormat::Gif), "image/gif");
  fail_unless_equals_string (image_format_mime_type (ImageFormat::Heif), "image/heif");
  fail_unless (image_format_mime_type (ImageFormat::Unknown) == nullptr);
  fail_unless_equals_string (image_format_name (ImageFormat::Png), "PNG");
  fail_unless_equals_string (image_format_name (ImageFormat::Jpeg), "JPEG");
  fail_unless_equals_string (image_format_name (ImageFormat::Webp), "WebP");
  fail_unless_equals_string (image_format_name (ImageFormat::Gif), "GIF");
  fail_unless_equals_string (image_format_name (ImageFormat::Heif), "HEIF");
  fail_unless_equals_string (image_format_name (ImageFormat::Unknown), "unknown");
}
GST_END_TEST;

/* ----------------------------------------------------------------- PNG */

GST_START_TEST (test_png_rgb)
{
  Bytes rgb = pattern (5, 3, 3);
  Bytes png = encode_png ({5, 3, PNG_COLOR_TYPE_RGB, 8, rgb, {}, {}});
  DecodedImage img;
  std::string error;
  fail_unless (decode (png, img, error), "%s", error.c_str ());
  check_layout (img, 5, 3, false, ImageFormat::Png);
  fail_unless_equals_uint64 (img.stride, 16);
  for (int y = 0; y < 3; y++)
    for (int x = 0; x < 5; x++)
      fail_unless (std::memcmp (pixel (img, x, y), &rgb[(y * 5 + x) * 3], 3) == 0,
          "pixel %d,%d differs", x, y);

  /* Adam7 interlacing gives the same pixels. */
  Bytes big = pattern (19, 11, 3);
  png = encode_png ({19, 11, PNG_COLOR_TYPE_RGB, 8, big, {}, {}, true});
  fail_unless (decode (png, img, error), "%s", error.c_str ());
  check_layout (img, 19, 11, false, ImageFormat::Png);
  for (int y = 0; y < 11; y++)
    for (int x = 0; x < 19; x++)
      fail_unless (std::memcmp (pixel (img, x, y), &big[(y * 19 + x) * 3], 3) == 0,
          "interlaced pixel %d,%d differs", x, y);
}
GST_END_TEST;

GST_START_TEST (test_png_rgba)
{
  Bytes rgba = pattern (5, 3, 4);
  Bytes png = encode_png ({5, 3, PNG_COLOR_TYPE_RGB_ALPHA, 8, rgba, {}, {}});
  DecodedImage img;
  std::string error;
  fail_unless (decode (png, img, error), "%s", error.c_str ());
  check_layout (img, 5, 3, true, ImageFormat::Png);
  fail_unless_equals_uint64 (img.stride, 20);
  /* Straight (not premultiplied) alpha, exactly as stored. */
  for (int y = 0; y < 3; y++)
    for (int x = 0; x < 5; x++)
      fail_unless (std::memcmp (pixel (img, x, y), &rgba[(y * 5 + x) * 4], 4) == 0,
          "pixel %d,%d differs", x, y);
}
GST_END_TEST;

GST_START_TEST (test_png_gray)
{
  Bytes gray = pattern (7, 2, 1);
  Bytes png = encode_png ({7, 2, PNG_COLOR_TYPE_GRAY, 8, gray, {}, {}});
  DecodedImage img;
  std::string error;
  fail_unless (decode (png, img, error), "%s", error.c_str ());
  check_layout (img, 7, 2, false, ImageFormat::Png);
  fail_unless_equals_uint64 (img.stride, 24);
  for (int y = 0; y < 2; y++)
    for (int x = 0; x < 7; x++) {
      int v = gray[y * 7 + x];
      check_pixel (img, x, y, v, v, v);
    }

  /* Grey + alpha becomes RGBA. */
  Bytes ga = pattern (3, 3, 2);
  png = encode_png ({3, 3, PNG_COLOR_TYPE_GRAY_ALPHA, 8, ga, {}, {}});
  fail_unless (decode (png, img, error), "%s", error.c_str ());
  check_layout (img, 3, 3, true, ImageFormat::Png);
  for (int i = 0; i < 9; i++)
    check_pixel (img, i % 3, i / 3, ga[i * 2], ga[i * 2], ga[i * 2], ga[i * 2 + 1]);
}
GST_END_TEST;

GST_START_TEST (test_png_palette)
{
  std::vector<png_color> palette = { {255, 0, 0}, {0, 255, 0}, {0, 0, 255},
    {10, 20, 30} };
  Bytes indices = { 0, 1, 2, 3, 3, 2, 1, 0, 0 };
  Bytes png = encode_png ({3, 3, PNG_COLOR_TYPE_PALETTE, 8, indices, palette, {}});
  DecodedImage img;
  std::string error;
  fail_unless (decode (png, img, error), "%s", error.c_str ());
  check_layout (img, 3, 3, false, ImageFormat::Png);
  for (int i = 0; i < 9; i++) {
    const png_color & c = palette[indices[i]];
    check_pixel (img, i % 3, i / 3, c.red, c.green, c.blue);
  }

  /* A tRNS chunk makes a palette image RGBA. */
  png = encode_png ({3, 3, PNG_COLOR_TYPE_PALETTE, 8, indices, palette,
          {0, 128}});
  fail_unless (decode (png, img, error), "%s", error.c_str ());
  check_layout (img, 3, 3, true, ImageFormat::Png);
  check_pixel (img, 0, 0, 255, 0, 0, 0);
  check_pixel (img, 1, 0, 0, 255, 0, 128);
  check_pixel (img, 2, 0, 0, 0, 255, 255);
}
GST_END_TEST;

GST_START_TEST (test_png_16bit)
{
  /* 16-bit sRGB samples are reduced to their high byte (+-1 rounding). */
  const int w = 3, h = 2;
  Bytes rows;
  for (int i = 0; i < w * h; i++) {
    guint8 v = static_cast<guint8> (i * 40 + 10);
    rows.insert (rows.end (), { v, 0x80, static_cast<guint8> (255 - v), 0x10,
            0x00, 0x00 });
  }
  Bytes png = encode_png ({w, h, PNG_COLOR_TYPE_RGB, 16, rows, {}, {}});
  DecodedImage img;
  std::string error;
  fail_unless (decode (png, img, error), "%s", error.c_str ());
  check_layout (img, w, h, false, ImageFormat::Png);
  for (int i = 0; i < w * h; i++) {
    int v = i * 40 + 10;
    check_pixel (img, i % w, i / w, v, 255 - v, 0, 255, 1);
  }

  Bytes rgba16;
  for (int i = 0; i < 4; i++)
    rgba16.insert (rgba16.end (), { 0xff, 0xff, 0x00, 0x00, 0x7f, 0xff,
            static_cast<guint8> (i * 80), 0x00 });
  png = encode_png ({2, 2, PNG_COLOR_TYPE_RGB_ALPHA, 16, rgba16, {}, {}});
  fail_unless (decode (png, img, error), "%s", error.c_str ());
  check_layout (img, 2, 2, true, ImageFormat::Png);
  /* Fully transparent pixels have undefined colour; check alpha only. */
  for (int i = 1; i < 4; i++)
    check_pixel (img, i % 2, i / 2, 255, 0, 127, i * 80, 2);
  fail_unless_equals_int (pixel (img, 0, 0)[3], 0);
}
GST_END_TEST;

/* ---------------------------------------------------------------- JPEG */

GST_START_TEST (test_jpeg_rgb)
{
  Bytes jpeg = encode_jpeg (16, 16, 3, JCS_RGB, quadrants_rgb (16, 16));
  DecodedImage img;
  std::string error;
  fail_unless (decode (jpeg, img, error), "%s", error.c_str ());
  check_layout (img, 16, 16, false, ImageFormat::Jpeg);
  fail_unless_equals_uint64 (img.stride, 48);
  check_pixel (img, 3, 3, 220, 20, 30, 255, 8);
  check_pixel (img, 12, 3, 20, 200, 40, 255, 8);
  check_pixel (img, 3, 12, 30, 40, 210, 255, 8);
  check_pixel (img, 12, 12, 128, 128, 128, 255, 8);

  /* Progressive JPEGs decode the same. */
  jpeg = encode_jpeg (16, 16, 3, JCS_RGB, quadrants_rgb (16, 16), 95,
      JCS_UNKNOWN, true);
  fail_unless (decode (jpeg, img, error), "%s", error.c_str ());
  check_layout (img, 16, 16, false, ImageFormat::Jpeg);
  check_pixel (img, 3, 3, 220, 20, 30, 255, 8);
  check_pixel (img, 12, 12, 128, 128, 128, 255, 8);
}
GST_END_TEST;

GST_START_TEST (test_jpeg_scan_limit)
{
  /* 11 + 11 * 40 = 451 scans: decodes. */
  DecodedImage img;
  std::string error;
  fail_unless (decode (encode_jpeg_many_scans (40), img, error), "%s", error.c_str ());
  check_layout (img, 8, 8, false, ImageFormat::Jpeg);
  check_pixel (img, 4, 4, 128, 128, 128, 255, 4);
  /* 11 + 11 * 63 = 704 scans: refused like TurboJPEG's TJFLAG_LIMITSCANS,
   * for good (over_limit), as pathological. */
  expect_failure (encode_jpeg_many_scans (63),
      "progressive JPEG has more than 500 scans: refused as pathological");
  expect_flags (encode_jpeg_many_scans (63), true, true, false);
  expect_flags (many_scan_jpeg (8, 8, 501), true, true, false);
  fail_unless (decode (many_scan_jpeg (16, 8, 500), img, error), "%s", error.c_str ());
  check_pixel (img, 12, 4, 128, 128, 128);
}
GST_END_TEST;

GST_START_TEST (test_jpeg_gray)
{
  Bytes gray (16 * 8);
  for (int y = 0; y < 8; y++)
    for (int x = 0; x < 16; x++)
      gray[y * 16 + x] = x < 8 ? 60 : 200;
  Bytes jpeg = encode_jpeg (16, 8, 1, JCS_GRAYSCALE, gray);
  DecodedImage img;
  std::string error;
  fail_unless (decode (jpeg, img, error), "%s", error.c_str ());
  check_layout (img, 16, 8, false, ImageFormat::Jpeg);
  check_pixel (img, 3, 3, 60, 60, 60, 255, 4);
  check_pixel (img, 12, 4, 200, 200, 200, 255, 4);
}
GST_END_TEST;

GST_START_TEST (test_jpeg_odd_sizes)
{
  const int sizes[][2] = { {1, 1}, {3, 2}, {17, 5}, {33, 7}, {2, 31} };
  for (const auto & s : sizes) {
    int w = s[0], h = s[1];
    Bytes rgb (static_cast<gsize> (w) * h * 3, 0);
    for (gsize i = 0; i < rgb.size (); i += 3)
      rgb[i] = 200;  /* solid red-ish */
    Bytes jpeg = encode_jpeg (w, h, 3, JCS_RGB, rgb);
    DecodedImage img;
    std::string error;
    fail_unless (decode (jpeg, img, error), "%dx%d: %s", w, h, error.c_str ());
    check_layout (img, w, h, false, ImageFormat::Jpeg);
    check_pixel (img, w - 1, h - 1, 200, 0, 0, 255, 8);
  }
}
GST_END_TEST;

GST_START_TEST (test_jpeg_cmyk)
{
  /* Adobe convention (libjpeg writes the Adobe marker): stored samples are
   * inverted ink, so C=255,M=0,Y=0,K=255 is pure red. */
  Bytes cmyk;
  for (int i = 0; i < 16 * 8; i++)
    cmyk.insert (cmyk.end (), { 255, 0, 0, 255 });
  for (J_COLOR_SPACE space : { JCS_CMYK, JCS_YCCK }) {
    Bytes jpeg = encode_jpeg (16, 8, 4, JCS_CMYK, cmyk, 95, space);
    DecodedImage img;
    std::string error;
    fail_unless (decode (jpeg, img, error), "%s", error.c_str ());
    check_layout (img, 16, 8, false, ImageFormat::Jpeg);
    check_pixel (img, 4, 4, 255, 0, 0, 255, 8);
  }
}
GST_END_TEST;

/* ---------------------------------------------------------------- WebP */

GST_START_TEST (test_webp_lossless)
{
  const int w = 7, h = 3;
  Bytes rgba = pattern (w, h, 4);
  for (gsize i = 3; i < rgba.size (); i += 4)
    rgba[i] |= 1;  /* keep alpha non-zero: libwebp may alter RGB under alpha 0 */
  Bytes webp = encode_webp_lossless_rgba (w, h, rgba);
  DecodedImage img;
  std::string error;
  fail_unless (decode (webp, img, error), "%s", error.c_str ());
  check_layout (img, w, h, true, ImageFormat::Webp);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      fail_unless (std::memcmp (pixel (img, x, y), &rgba[(y * w + x) * 4], 4) == 0,
          "pixel %d,%d differs", x, y);

  /* Without alpha: RGB with a padded stride. */
  Bytes rgb = pattern (w, h, 3);
  webp = encode_webp_lossless_rgb (w, h, rgb);
  fail_unless (decode (webp, img, error), "%s", error.c_str ());
  check_layout (img, w, h, false, ImageFormat::Webp);
  fail_unless_equals_uint64 (img.stride, 24);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      fail_unless (std::memcmp (pixel (img, x, y), &rgb[(y * w + x) * 3], 3) == 0,
          "pixel %d,%d differs", x, y);
}
GST_END_TEST;

GST_START_TEST (test_webp_lossy)
{
  Bytes webp = encode_webp_lossy_rgb (16, 16, quadrants_rgb (16, 16));
  DecodedImage img;
  std::string error;
  fail_unless (decode (webp, img, error), "%s", error.c_str ());
  check_layout (img, 16, 16, false, ImageFormat::Webp);
  check_pixel (img, 3, 3, 220, 20, 30, 255, 16);
  check_pixel (img, 12, 12, 128, 128, 128, 255, 16);
}
GST_END_TEST;

/* -------------------------------------------------------------- limits */

GST_START_TEST (test_limit_png_bomb)
{
  /* 100000x100000 RGB would be 30 GB: refused from the header alone. */
  Bytes png = handmade_png (100000, 100000);
  expect_failure (png, "100000x100000");
  expect_failure (png, "67108864");

  /* Same header under a generous limit still fails (no rows), but cleanly. */
  expect_failure (handmade_png (4, 4), "PNG");
  /* 0x0 is invalid per spec. */
  expect_failure (handmade_png (0, 0), "PNG");
  expect_failure (handmade_png (0, 5), "PNG");
}
GST_END_TEST;

GST_START_TEST (test_limit_custom)
{
  DecodeLimits limits;
  limits.max_pixels = 100;
  expect_failure (small_jpeg (), "16x16", limits);
  expect_failure (small_jpeg (), "over the limit of 100 pixels", limits);
  expect_failure (encode_webp_lossy_rgb (16, 16, quadrants_rgb (16, 16)),
      "16x16", limits);
  expect_failure (encode_webp_lossless_rgba (20, 6, pattern (20, 6, 4)),
      "20x6, over the limit of 100 pixels", limits);
  Bytes png = encode_png ({11, 10, PNG_COLOR_TYPE_RGB, 8, pattern (11, 10, 3), {}, {}});
  expect_failure (png, "11x10", limits);

  /* Exactly at the limit is fine. */
  png = encode_png ({10, 10, PNG_COLOR_TYPE_RGB, 8, pattern (10, 10, 3), {}, {}});
  DecodedImage img;
  std::string error;
  fail_unless (decode (png, img, error, limits), "%s", error.c_str ());
}
GST_END_TEST;

GST_START_TEST (test_limit_jpeg_header)
{
  /* Patch the SOF0 dimensions of a real JPEG to 60000x60000. */
  Bytes jpeg = small_jpeg ();
  gsize i = 2;
  bool patched = false;
  while (i + 9 < jpeg.size ()) {
    if (jpeg[i] == 0xff && jpeg[i + 1] == 0xc0) {
      jpeg[i + 5] = 60000 >> 8;
      jpeg[i + 6] = 60000 & 0xff;
      jpeg[i + 7] = 60000 >> 8;
      jpeg[i + 8] = 60000 & 0xff;
      patched = true;
      break;
    }
    i++;
  }
  fail_unless (patched, "no SOF0 marker");
  expect_failure (jpeg, "60000x60000, over the limit of 67108864 pixels");
}
GST_END_TEST;

/* ---------------------------------------------------------- bad input */

GST_START_TEST (test_truncated)
{
  struct Case { const char *name; Bytes data; };
  std::vector<Case> cases;
  cases.push_back ({"PNG", small_png ()});
  cases.push_back ({"PNG", encode_png ({40, 30, PNG_COLOR_TYPE_RGB, 8,
              pattern (40, 30, 3), {}, {}})});
  cases.push_back ({"JPEG", small_jpeg ()});
  cases.push_back ({"JPEG", encode_jpeg (16, 8, 1, JCS_GRAYSCALE, pattern (16, 8, 1))});
  cases.push_back ({"JPEG", encode_jpeg (16, 16, 3, JCS_RGB, quadrants_rgb (16, 16),
              90, JCS_UNKNOWN, true)});
  cases.push_back ({"PNG", encode_png ({9, 9, PNG_COLOR_TYPE_GRAY, 8,
              pattern (9, 9, 1), {}, {}, true})});
  cases.push_back ({"WebP", encode_webp_lossless_rgba (7, 3, pattern (7, 3, 4))});
  cases.push_back ({"WebP", encode_webp_lossy_rgb (16, 16, quadrants_rgb (16, 16))});

  for (const Case & c : cases) {
    DecodedImage img;
    std::string error;
    fail_unless (decode (c.data, img, error), "full %s: %s", c.name, error.c_str ());
    /* Every length: short ones are "not an image", longer ones name the format. */
    for (gsize len = 0; len < c.data.size (); len++) {
      Bytes cut (c.data.begin (), c.data.begin () + len);
      fail_if (decode (cut, img, error), "%s truncated to %" G_GSIZE_FORMAT
          " of %" G_GSIZE_FORMAT " bytes decoded", c.name, len, c.data.size ());
      fail_if (error.empty ());
      fail_unless (img.pixels == nullptr);
      if (len >= 16)
        fail_unless (error.find (c.name) != std::string::npos,
            "'%s' does not name %s", error.c_str (), c.name);
    }
  }
}
GST_END_TEST;

GST_START_TEST (test_unsupported)
{
  Bytes gif = { 'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0, 0, ';' };
  expect_failure (gif, "GIF images are not supported; Gemini answers PNG or JPEG");
  Bytes heic = { 0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c', 0, 0 };
  expect_failure (heic, "HEIF images are not supported");
  Bytes html = { '<', 'h', 't', 'm', 'l', '>', '<', 'b', 'o', 'd', 'y' };
  expect_failure (html, "data is not a PNG, JPEG or WebP image (first bytes: 3c 68 74 6d");
  expect_failure ({}, "empty");
  expect_failure ({0x89}, "first bytes: 89)");
  /* A cut-off signature is reported as truncation, not as junk. */
  expect_failure ({0x89, 'P', 'N', 'G'}, "PNG data is truncated");
  expect_failure ({0xff, 0xd8}, "JPEG data is truncated");

  DecodedImage img;
  std::string error;
  fail_if (decode_image (nullptr, 0, DecodeLimits (), img, error));
  fail_if (error.empty ());
}
GST_END_TEST;

GST_START_TEST (test_corrupt)
{
  /* A bad CRC in a critical chunk is reported with libpng's reason. */
  Bytes png = small_png ();
  png[20] ^= 0x40;  /* inside IHDR data */
  expect_failure (png, "PNG data is corrupt");

  /* Deterministic mutation fuzzing: results may go either way, but the
   * decoder must never crash, leak or return an inconsistent image. */
  DecodeLimits limits;
  limits.max_pixels = 1 << 20;
  std::vector<Bytes> seeds = {
    small_png (),
    encode_png ({3, 3, PNG_COLOR_TYPE_PALETTE, 8, {0, 1, 0, 1, 0, 1, 0, 1, 0},
          {{1, 2, 3}, {4, 5, 6}}, {7}}),
    small_jpeg (),
    encode_jpeg (16, 8, 4, JCS_CMYK, pattern (16, 8, 4)),
    encode_webp_lossless_rgba (7, 3, pattern (7, 3, 4)),
    encode_webp_lossy_rgb (16, 16, quadrants_rgb (16, 16)),
  };
  GRand *rand = g_rand_new_with_seed (20240601);
  for (const Bytes & seed : seeds) {
    for (int iter = 0; iter < 400; iter++) {
      Bytes data = seed;
      int flips = g_rand_int_range (rand, 1, 5);
      for (int f = 0; f < flips; f++) {
        /* Leave the signature alone so the format decoder gets the data. */
        gsize at = g_rand_int_range (rand, 4, static_cast<gint32> (data.size ()));
        data[at] = static_cast<guint8> (g_rand_int (rand));
      }
      if (g_rand_boolean (rand))
        data.resize (g_rand_int_range (rand, 1, static_cast<gint32> (data.size ())));
      DecodedImage img;
      std::string error;
      if (decode (data, img, error, limits)) {
        fail_unless (img.pixels != nullptr && img.width > 0 && img.height > 0);
        fail_unless (img.stride % 4 == 0);
        fail_unless_equals_uint64 (img.size, img.stride * img.height);
        fail_unless (static_cast<guint64> (img.width) * img.height <= limits.max_pixels);
      } else {
        fail_if (error.empty ());
        fail_unless (img.pixels == nullptr);
      }
    }
  }
  g_rand_free (rand);
}
GST_END_TEST;

GST_START_TEST (test_limit_flags)
{
  DecodeLimits limits;
  limits.max_pixels = 100;
  expect_flags (small_jpeg (), true, false, false, limits);
  expect_flags (encode_png ({11, 10, PNG_COLOR_TYPE_RGB, 8, pattern (11, 10, 3),
          {}, {}}), true, false, false, limits);
  expect_flags (encode_webp_lossy_rgb (16, 16, quadrants_rgb (16, 16)), true,
      false, false, limits);
  /* Broken data is not a refusal. */
  Bytes cut = small_png ();
  cut.resize (cut.size () / 2);
  expect_flags (cut, false, false, false);
  cut = small_jpeg ();
  cut.resize (cut.size () / 2);
  expect_flags (cut, false, false, false);

  /* Flags travel with the result, not the thread: a refusal then a good
   * decode on the same thread, and the other way round. */
  Bytes big = encode_png ({11, 10, PNG_COLOR_TYPE_RGB, 8, pattern (11, 10, 3), {}, {}});
  DecodedImage img;
  std::string error;
  fail_if (decode (big, img, error, limits));
  fail_unless (img.over_limit);
  fail_unless (decode (small_jpeg (), img, error), "%s", error.c_str ());
  fail_if (img.over_limit || img.pathological || img.cancelled);
  fail_if (decode (big, img, error, limits));
  fail_unless (img.over_limit);
}
GST_END_TEST;

/* -------------------------------------------------------- cancellation */

GST_START_TEST (test_cancel_jpeg)
{
  /* 4096x2048 with 498 scans: 8 MB, inside every limit. */
  check_cancel_latency ({"JPEG with 498 scans", many_scan_jpeg (4096, 2048, 498),
        ImageFormat::Jpeg, 4096, 2048, 128, 128, 128, 0, true});
}
GST_END_TEST;

GST_START_TEST (test_cancel_png)
{
  check_cancel_latency ({"PNG 8192x8192", flat_png (8192, 8192, false),
        ImageFormat::Png, 8192, 8192, 40, 80, 120, 0, true});
  /* Adam7: seven passes over the rows. */
  check_cancel_latency ({"interlaced PNG 6144x6144", flat_png (6144, 6144, true),
        ImageFormat::Png, 6144, 6144, 40, 80, 120, 0, true});
}
GST_END_TEST;

GST_START_TEST (test_cancel_webp)
{
  /* The ramp ends near white (Y 235). */
  check_cancel_latency ({"WebP 6144x6144", ramp_webp (6144, 6144),
        ImageFormat::Webp, 6144, 6144, 255, 255, 255, 8, false});
}
GST_END_TEST;

GST_START_TEST (test_cancel_before_start)
{
  std::atomic<bool> cancel {true};
  DecodeLimits limits;
  limits.cancel = &cancel;
  const Bytes images[] = { small_png (), small_jpeg (),
    encode_webp_lossless_rgb (7, 3, pattern (7, 3, 3)) };
  for (const Bytes & data : images) {
    DecodedImage img;
    std::string error;
    fail_if (decode (data, img, error, limits));
    fail_unless_equals_string (error.c_str (), "decoding was cancelled");
    fail_unless (img.cancelled && !img.over_limit && img.pixels == nullptr);
  }
}
GST_END_TEST;

GST_START_TEST (test_decode_time_bound)
{
  /* Each takes well over 50 ms of CPU here; refused once that is spent,
   * for good (over_limit), not as a broken image. A decode that was not
   * stopped would succeed. */
  struct Case { const char *name; Bytes data; const char *message; bool inline_too; };
  const Case cases[] = {
    {"JPEG", many_scan_jpeg (4096, 2048, 498), "decoding the JPEG took more "
          "than 0.05 s of CPU time", true},
    {"PNG", flat_png (4096, 4096, false), "decoding the PNG took more than "
          "0.05 s of CPU time: refused as pathological", true},
    /* Under 64 KB: one chunk for libwebp's incremental decoder, so only a
     * worker can stop it. */
    {"WebP", ramp_webp (4096, 4096), "decoding the WebP took more than 0.05 s "
          "of CPU time: refused as pathological", false},
  };
  for (bool on_worker : { true, false }) {
    DecodeLimits limits;
    limits.max_decode_seconds = 0.05;
    if (on_worker)
      limits.cancel = &never_cancelled;
    for (const Case & c : cases) {
      if (!on_worker && !c.inline_too)
        continue;
      DecodedImage img;
      std::string error;
      double start = now_s ();
      bool ok = decode_image (c.data.data (), c.data.size (), limits, img, error);
      double elapsed = now_s () - start;
      g_print ("%s with a 0.05 s bound%s: refused after %.3f s: %s\n", c.name,
          on_worker ? "" : " on the calling thread", elapsed, error.c_str ());
      fail_if (ok, "the %s decoded within 0.05 s", c.name);
      fail_unless (error.find (c.message) != std::string::npos,
          "error '%s' does not contain '%s'", error.c_str (), c.message);
      fail_unless (img.over_limit && img.pathological && !img.cancelled,
          "flags of a %s refused for its cost", c.name);
      fail_unless (img.pixels == nullptr && img.width == 0);
      /* Not bounded in wall time: CPU time is the measure, and a loaded
       * machine stretches it. */
    }
  }

  /* Stopped among its scans, the JPEG says which one it had reached. */
  DecodeLimits limits;
  limits.max_decode_seconds = 0.3;
  DecodedImage img;
  std::string error;
  fail_if (decode_image (cases[0].data.data (), cases[0].data.size (), limits,
          img, error));
  int scan = 0;
  fail_unless (sscanf (error.c_str (), "decoding the JPEG took more than 0.3 s "
          "of CPU time (at scan %d): refused as pathological", &scan) == 1
      && scan > 1 && scan <= 498, "%s", error.c_str ());
}
GST_END_TEST;

/* read_image_header agrees with a decode on size, alpha, stride and format
 * for every format; refuses over-limit sizes and junk as decode does; and
 * does not read past the header (a JPEG cut after it still passes). */
GST_START_TEST (test_header_only)
{
  const Bytes inputs[] = {
    small_png (),
    encode_png ({19, 11, PNG_COLOR_TYPE_RGB, 8, pattern (19, 11, 3), {}, {}, true}),
    small_jpeg (),
    encode_webp_lossless_rgba (20, 6, pattern (20, 6, 4)),
    encode_webp_lossy_rgb (16, 16, quadrants_rgb (16, 16)),
  };
  for (const Bytes & in : inputs) {
    DecodedImage full, head;
    std::string error;
    fail_unless (decode (in, full, error), "%s", error.c_str ());
    fail_unless (read_image_header (in.data (), in.size (), DecodeLimits (), head, error), "%s", error.c_str ());
    fail_unless (head.pixels == nullptr);
    fail_unless (head.width == full.width && head.height == full.height && head.has_alpha == full.has_alpha
        && head.stride == full.stride && head.size == full.size && head.source_format == full.source_format,
        "%s: header %dx%d alpha %d, decode %dx%d alpha %d", image_format_name (full.source_format),
        head.width, head.height, head.has_alpha, full.width, full.height, full.has_alpha);
  }

  DecodeLimits limits;
  limits.max_pixels = 100;
  DecodedImage head;
  std::string error;
  Bytes jpeg = small_jpeg ();
  fail_if (read_image_header (jpeg.data (), jpeg.size (), limits, head, error));
  fail_unless (error.find ("over the limit of 100 pixels") != std::string::npos, "%s", error.c_str ());
  fail_unless (head.over_limit);
  Bytes png = small_png ();
  limits.max_pixels = 10;
  fail_if (read_image_header (png.data (), png.size (), limits, head, error));
  fail_unless (error.find ("5x3") != std::string::npos, "%s", error.c_str ());

  const guint8 junk[] = "GIF89a not an image we take";
  fail_if (read_image_header (junk, sizeof junk, DecodeLimits (), head, error));
  fail_unless (error.find ("GIF") != std::string::npos, "%s", error.c_str ());
  fail_if (read_image_header (png.data (), 20, DecodeLimits (), head, error));

  /* Only the header is read: up to the start-of-scan segment is enough. */
  gsize sos = 2;
  while (sos + 1 < jpeg.size () && !(jpeg[sos] == 0xff && jpeg[sos + 1] == 0xda))
    sos++;
  fail_unless (sos + 16 < jpeg.size ());
  Bytes cut (jpeg.begin (), jpeg.begin () + sos + 16);
  fail_unless (read_image_header (cut.data (), cut.size (), DecodeLimits (), head, error), "%s", error.c_str ());
  fail_unless (head.width == 16 && head.height == 16);
}
GST_END_TEST;

/* ------------------------------------------------- PNG fast path */

namespace {

/* The libpng path alone: the reference the fast path must equal. */
DecodeLimits
libpng_only (DecodeLimits limits = DecodeLimits ())
{
  limits.no_fast_path = true;
  return limits;
}

/* Decodes `png` with and without the fast path, RGB and RGBA layouts, and
 * checks the answers are the same: success, error text, flags, pixels. */
void
expect_as_libpng (const char *name, const Bytes & png,
    DecodeLimits limits = DecodeLimits ())
{
  for (bool rgba : { false, true }) {
    limits.rgba = rgba;
    DecodedImage fast, ref;
    std::string fast_error, ref_error;
    bool fast_ok = decode_once (png, fast, fast_error, limits, false);
    bool ref_ok = decode_once (png, ref, ref_error, libpng_only (limits), false);
    std::string path = std::string (name) + (rgba ? " (rgba)" : " (rgb)");
    expect_same_result (path.c_str (), ref_ok, ref, ref_error, fast_ok, fast,
        fast_error);
    fail_unless (fast.opaque == ref.opaque, "%s: opaque %d vs %d", path.c_str (),
        fast.opaque, ref.opaque);
  }
}

/* True when the fast path decodes `png` by itself (no fallback), and then
 * with exactly the libpng path's pixels, both layouts. */
bool
fast_path_takes (const Bytes & png)
{
  PngFastPlan plan;
  if (!png_fast_parse (png.data (), png.size (), plan))
    return false;
  for (bool rgba : { false, true }) {
    DecodedImage ref;
    std::string error;
    DecodeLimits limits = libpng_only ();
    limits.rgba = rgba;
    fail_unless (decode_once (png, ref, error, limits, false), "%s", error.c_str ());
    gsize size = png_fast_buffer_size (plan, rgba, ref.stride);
    fail_unless (size >= ref.size);
    Bytes out (size);
    if (png_fast_decode (png.data (), plan, rgba, out.data (), ref.stride,
            [] { return false; }) != PngFastStatus::Ok)
      return false;
    gsize row = static_cast<gsize> (ref.width) * (ref.has_alpha ? 4 : 3);
    for (int y = 0; y < ref.height; y++)
      fail_unless (std::memcmp (out.data () + y * ref.stride,
              ref.pixels.get () + y * ref.stride, row) == 0,
          "fast path: row %d differs from libpng's (%dx%d, rgba %d)", y,
          ref.width, ref.height, rgba);
  }
  return true;
}

/* Deterministic noise: every filter's every branch gets exercised. */
Bytes
noise (gsize n, guint32 seed)
{
  Bytes out (n);
  GRand *rand = g_rand_new_with_seed (seed);
  for (gsize i = 0; i < n; i++)
    out[i] = static_cast<guint8> (g_rand_int (rand));
  g_rand_free (rand);
  return out;
}

/* Smooth gradients with some noise: the filters' predictions matter. */
Bytes
smooth (int width, int height, int channels, guint32 seed)
{
  Bytes out = noise (static_cast<gsize> (width) * height * channels, seed);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      for (int c = 0; c < channels; c++) {
        guint8 &v = out[(static_cast<gsize> (y) * width + x) * channels + c];
        v = static_cast<guint8> (x * 5 + y * 3 + c * 40 + (v & 7));
      }
  return out;
}

struct Chunk {
  std::string type;
  Bytes data;
};

/* Splits a PNG into its chunks (after the signature). */
std::vector<Chunk>
chunks_of (const Bytes & png)
{
  std::vector<Chunk> out;
  gsize at = 8;
  while (at + 12 <= png.size ()) {
    guint32 len = (guint32 (png[at]) << 24) | (png[at + 1] << 16) | (png[at + 2] << 8) | png[at + 3];
    out.push_back ({std::string (reinterpret_cast<const char *> (&png[at + 4]), 4),
            Bytes (png.begin () + at + 8, png.begin () + at + 8 + len)});
    at += 12 + len;
  }
  return out;
}

Bytes
png_of (const std::vector<Chunk> & chunks)
{
  Bytes out = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  for (const Chunk & c : chunks)
    put_chunk (out, c.type.c_str (), c.data);
  return out;
}

/* The same PNG with its image data in IDAT chunks of these sizes (the last
 * one repeated to the end). */
Bytes
split_idat (const Bytes & png, std::vector<gsize> sizes)
{
  std::vector<Chunk> in = chunks_of (png), out;
  Bytes data;
  for (const Chunk & c : in)
    if (c.type == "IDAT")
      data.insert (data.end (), c.data.begin (), c.data.end ());
  bool done = false;
  for (const Chunk & c : in) {
    if (c.type != "IDAT") {
      out.push_back (c);
      continue;
    }
    if (done)
      continue;
    gsize at = 0;
    for (gsize i = 0; at < data.size (); i++) {
      gsize n = std::min (sizes[std::min (i, sizes.size () - 1)], data.size () - at);
      out.push_back ({"IDAT", Bytes (data.begin () + at, data.begin () + at + n)});
      at += n;
    }
    done = true;
  }
  return png_of (out);
}

/* The same PNG with a chunk added before the first IDAT (or, `after_idat`,
 * just before IEND). */
Bytes
with_chunk (const Bytes & png, const char *type, const Bytes & data,
    bool after_idat = false)
{
  std::vector<Chunk> in = chunks_of (png), out;
  bool added = false;
  for (const Chunk & c : in) {
    if (!added && c.type == (after_idat ? "IEND" : "IDAT")) {
      out.push_back ({type, data});
      added = true;
    }
    out.push_back (c);
  }
  return png_of (out);
}

Bytes
be32_bytes (guint32 v)
{
  Bytes out;
  put_be32 (out, v);
  return out;
}

/* An 8-bit RGB or RGBA PNG from filtered rows (filter byte first) as given,
 * compressed with zlib; `tail`: bytes appended to the zlib stream. */
Bytes
png_from_rows (int width, int height, bool alpha, const Bytes & raw,
    const Bytes & tail = {})
{
  Bytes out = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  Bytes ihdr;
  put_be32 (ihdr, width);
  put_be32 (ihdr, height);
  ihdr.insert (ihdr.end (), { 8, static_cast<guint8> (alpha ? 6 : 2), 0, 0, 0 });
  put_chunk (out, "IHDR", ihdr);
  uLongf len = compressBound (raw.size ());
  Bytes z (len);
  fail_unless (compress2 (z.data (), &len, raw.data (), raw.size (), 9) == Z_OK);
  z.resize (len);
  z.insert (z.end (), tail.begin (), tail.end ());
  put_chunk (out, "IDAT", z);
  put_chunk (out, "IEND", {});
  return out;
}

/* Gemini's answer in tests/data/recorded: a 1024x1024 RGB PNG in 186 IDATs. */
Bytes
flash_png ()
{
  std::string yaml = gemini::test::read_file (
      gemini::test::recorded_path ("test_google_image_or_text_output.yaml"));
  gsize start = yaml.find ("iVBORw0KGgo");
  fail_unless (start != std::string::npos, "no PNG in the recording");
  gsize end = start;
  while (end < yaml.size () && (g_ascii_isalnum (yaml[end]) || yaml[end] == '+'
          || yaml[end] == '/' || yaml[end] == '='))
    end++;
  std::string b64 = yaml.substr (start, end - start);
  gsize len = 0;
  GCharPtr png (reinterpret_cast<gchar *> (g_base64_decode (b64.c_str (), &len)));
  return Bytes (png.get (), png.get () + len);
}

}  // namespace

/* Every PNG variant libpng writes: the fast path must give exactly the
 * libpng path's pixels where it takes the image, and step aside elsewhere. */
GST_START_TEST (test_png_fast_corpus)
{
  struct Kind { int color_type; int depths[5]; };
  const Kind kinds[] = {
    {PNG_COLOR_TYPE_GRAY, {1, 2, 4, 8, 16}},
    {PNG_COLOR_TYPE_RGB, {8, 16}},
    {PNG_COLOR_TYPE_PALETTE, {1, 2, 4, 8}},
    {PNG_COLOR_TYPE_GRAY_ALPHA, {8, 16}},
    {PNG_COLOR_TYPE_RGB_ALPHA, {8, 16}},
  };
  const int filters[] = { 0, PNG_FILTER_NONE, PNG_FILTER_SUB, PNG_FILTER_UP,
    PNG_FILTER_AVG, PNG_FILTER_PAETH };
  int taken = 0, total = 0;
  guint32 seed = 1;
  for (const Kind & kind : kinds)
    for (int depth : kind.depths) {
      if (depth == 0)
        break;
      for (int width = 1; width <= 9; width++)
        for (bool interlaced : { false, true })
          for (int filter : filters)
            for (bool trns : { false, true }) {
              if (trns && (kind.color_type & PNG_COLOR_MASK_ALPHA))
                continue;
              const int height = 5;
              PngSpec spec {width, height, kind.color_type, depth, {}, {}, {},
                interlaced, filter};
              gsize row = (static_cast<gsize> (width) * png_channels (kind.color_type)
                  * depth + 7) / 8;
              spec.rows = noise (row * height, seed++);
              if (kind.color_type == PNG_COLOR_TYPE_PALETTE) {
                Bytes colours = noise (3 << depth, seed++);
                for (int i = 0; i < (1 << depth); i++)
                  spec.palette.push_back ({colours[i * 3], colours[i * 3 + 1],
                          colours[i * 3 + 2]});
                if (trns)
                  spec.trns = noise (1 << depth, seed++);
              } else if (trns) {
                /* tRNS holds one 16-bit sample per channel. */
                int n = kind.color_type == PNG_COLOR_TYPE_GRAY ? 2 : 6;
                spec.trns = Bytes (n, 0);
                spec.trns[n - 1] = spec.rows[0] & ((1 << std::min (depth, 8)) - 1);
              }
              Bytes png = encode_png (spec);
              char name[96];
              g_snprintf (name, sizeof name, "type %d depth %d width %d%s filter %d%s",
                  kind.color_type, depth, width, interlaced ? " interlaced" : "",
                  filter, trns ? " tRNS" : "");
              expect_as_libpng (name, png);
              total++;
              bool simple = depth == 8 && !interlaced && !trns
                  && (kind.color_type == PNG_COLOR_TYPE_RGB
                      || kind.color_type == PNG_COLOR_TYPE_RGB_ALPHA);
              bool took = fast_path_takes (png);
              fail_unless (took == simple, "%s: fast path %s it", name,
                  took ? "took" : "did not take");
              taken += took;
            }
    }
  fail_unless (taken == 2 * 9 * 6, "fast path took %d of %d", taken, total);

  /* Wider images: the SIMD loops over many pixels, each filter forced, and
   * smooth images, where Paeth picks each of its predictors. */
  for (bool alpha : { false, true })
    for (int filter : filters)
      for (int width : { 16, 33, 250 }) {
        int channels = alpha ? 4 : 3;
        for (bool flat : { false, true }) {
          PngSpec spec {width, 20, alpha ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_RGB,
            8, flat ? smooth (width, 20, channels, seed++) : noise (width * 20 * channels, seed++),
            {}, {}, false, filter};
          Bytes png = encode_png (spec);
          expect_as_libpng ("wide", png);
          fail_unless (fast_path_takes (png), "wide %d alpha %d filter %d", width, alpha, filter);
        }
      }
}
GST_END_TEST;

/* Several IDAT chunks, down to one byte each; ancillary chunks: sRGB's
 * gAMA, sRGB and pHYs are taken, everything else is left to libpng (a gAMA
 * of 43000 or 50000 changes libpng's pixels; cHRM, iCCP, sBIT do not, but
 * their malformed forms are libpng's to judge). */
GST_START_TEST (test_png_fast_chunks)
{
  for (bool alpha : { false, true }) {
    int channels = alpha ? 4 : 3;
    PngSpec spec {7, 6, alpha ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_RGB, 8,
      smooth (7, 6, channels, 42), {}, {}, false, PNG_FILTER_PAETH};
    Bytes png = encode_png (spec);
    fail_unless (fast_path_takes (png));

    for (const std::vector<gsize> & sizes : std::vector<std::vector<gsize>> {
            {1}, {1, 1000}, {7}, {2, 3, 5}, {1000, 1}}) {
      Bytes split = split_idat (png, sizes);
      expect_as_libpng ("split IDAT", split);
      fail_unless (fast_path_takes (split), "split at %" G_GSIZE_FORMAT, sizes[0]);
    }

    struct Extra { const char *type; Bytes data; bool after_idat; bool fast; };
    const Bytes srgb_chrm = { 0, 0, 0x7a, 0x26, 0, 0, 0x80, 0x84, 0, 0, 0xfa, 0,
      0, 0, 0x80, 0xe8, 0, 0, 0x75, 0x30, 0, 0, 0xea, 0x60, 0, 0, 0x3a, 0x98,
      0, 0, 0x17, 0x70 };
    const Extra extras[] = {
      {"gAMA", be32_bytes (45455), false, true},
      {"gAMA", be32_bytes (45454), false, false},
      {"gAMA", be32_bytes (43000), false, false},
      {"gAMA", be32_bytes (50000), false, false},
      {"gAMA", be32_bytes (100000), false, false},
      {"gAMA", be32_bytes (0), false, false},
      {"sRGB", {0}, false, true},
      {"sRGB", {3}, false, true},
      {"sRGB", {4}, false, false},
      {"pHYs", {0, 0, 0x0b, 0x13, 0, 0, 0x0b, 0x13, 1}, false, true},
      {"cHRM", srgb_chrm, false, false},
      {"iCCP", {'x', 0, 0, 0x78, 0x9c, 0x03, 0, 0, 0, 0, 1}, false, false},
      {"sBIT", {5, 6, 5, 4}, false, false},
      {"tRNS", {0, 1, 0, 2, 0, 3}, false, false},
      {"tEXt", {'a', 0, 'b'}, true, false},
      {"tIME", {0x07, 0xea, 1, 2, 3, 4, 5}, true, false},
      {"zzZz", {1, 2}, false, false},
      /* An empty IDAT at the end of the image data is still image data. */
      {"IDAT", {}, true, true},
    };
    for (const Extra & e : extras) {
      Bytes variant = with_chunk (png, e.type, e.data, e.after_idat);
      std::string name = std::string ("with ") + e.type;
      expect_as_libpng (name.c_str (), variant);
      fail_unless (fast_path_takes (variant) == e.fast, "%s: fast path %d",
          name.c_str (), !e.fast);
    }
    /* gAMA and sRGB together, as many encoders write them. */
    Bytes both = with_chunk (with_chunk (png, "sRGB", {0}), "gAMA", be32_bytes (45455));
    expect_as_libpng ("sRGB + gAMA", both);
    fail_unless (fast_path_takes (both));
  }
}
GST_END_TEST;

/* Gemini's own answer, with and without the fast path, RGB and RGBA. */
GST_START_TEST (test_png_fast_recorded)
{
  Bytes png = flash_png ();
  fail_unless (png.size () > 1000000);
  fail_unless (fast_path_takes (png));
  expect_as_libpng ("recorded", png);
  DecodedImage img;
  std::string error;
  fail_unless (decode (png, img, error), "%s", error.c_str ());
  check_layout (img, 1024, 1024, false, ImageFormat::Png);
  fail_unless (img.opaque);

  /* The fast path looks at the time bound between its stages and rows: the
   * 10 ms it takes here are well over 1 ms, and it must stop, not finish. */
  for (bool fast : { true, false }) {
    DecodeLimits limits;
    limits.max_decode_seconds = 0.001;
    limits.no_fast_path = !fast;
    fail_if (decode_image (png.data (), png.size (), limits, img, error),
        "decoded within 1 ms of CPU time (fast path %d)", fast);
    fail_unless_equals_string (error.c_str (), "decoding the PNG took more than "
        "0.001 s of CPU time: refused as pathological");
    fail_unless (img.over_limit && img.pathological && !img.pixels);
  }
}
GST_END_TEST;

/* Broken input: every answer, error text included, is the libpng path's. */
GST_START_TEST (test_png_fast_hostile)
{
  const int w = 9, h = 7;
  Bytes png = encode_png ({w, h, PNG_COLOR_TYPE_RGB, 8, smooth (w, h, 3, 7), {}, {},
        false, PNG_FILTER_PAETH});
  Bytes rgba = encode_png ({w, h, PNG_COLOR_TYPE_RGB_ALPHA, 8, smooth (w, h, 4, 8),
        {}, {}, false, PNG_FILTER_AVG});
  Bytes split = split_idat (png, {3});
  Bytes flash = flash_png ();
  const Bytes *inputs[] = { &png, &rgba, &split };
  for (const Bytes *in : inputs) {
    /* Truncated at every length, and one byte changed at every offset
     * (CRCs, lengths, IHDR fields, zlib data, filter bytes). */
    for (gsize len = 8; len < in->size (); len++)
      expect_as_libpng ("truncated", Bytes (in->begin (), in->begin () + len));
    for (gsize at = 8; at < in->size (); at++) {
      Bytes bad = *in;
      bad[at] ^= 0x21;
      expect_as_libpng ("changed byte", bad);
    }
    Bytes extra = *in;
    extra.insert (extra.end (), { 0, 0, 0, 0, 'j', 'u', 'n', 'k' });
    expect_as_libpng ("data after IEND", extra);
  }
  /* A bad CRC in each of the recording's chunks, and cuts through it. */
  gsize at = 8;
  int checked = 0;
  while (at + 12 <= flash.size ()) {
    guint32 len = (guint32 (flash[at]) << 24) | (flash[at + 1] << 16) | (flash[at + 2] << 8) | flash[at + 3];
    if (checked < 3 || at + 12 + len >= flash.size () || at % 61 == 0) {
      Bytes bad = flash;
      bad[at + 8 + len] ^= 1;
      expect_as_libpng ("bad CRC", bad);
      expect_as_libpng ("cut", Bytes (flash.begin (), flash.begin () + at + 8 + len / 2));
      checked++;
    }
    at += 12 + len;
  }

  /* Hand-made image data: a bad filter byte, too little, too much, bytes
   * after the zlib stream, a wrong checksum. */
  Bytes raw;
  for (int y = 0; y < h; y++) {
    raw.push_back (static_cast<guint8> (y % 5));
    Bytes row = noise (w * 3, y);
    raw.insert (raw.end (), row.begin (), row.end ());
  }
  Bytes good = png_from_rows (w, h, false, raw);
  expect_as_libpng ("hand-made", good);
  fail_unless (fast_path_takes (good));
  for (guint8 filter : { 5, 255 }) {
    Bytes bad = raw;
    bad[(w * 3 + 1) * 3] = filter;
    expect_as_libpng ("bad filter byte", png_from_rows (w, h, false, bad));
  }
  expect_as_libpng ("a row short", png_from_rows (w, h, false,
          Bytes (raw.begin (), raw.end () - (w * 3 + 1))));
  expect_as_libpng ("a byte short", png_from_rows (w, h, false,
          Bytes (raw.begin (), raw.end () - 1)));
  Bytes longer = raw;
  longer.insert (longer.end (), { 0, 1, 2, 3 });
  expect_as_libpng ("too much data", png_from_rows (w, h, false, longer));
  expect_as_libpng ("bytes after the stream", png_from_rows (w, h, false, raw, { 1, 2, 3 }));
  Bytes z = good;
  std::vector<Chunk> chunks = chunks_of (good);
  for (Chunk & c : chunks)
    if (c.type == "IDAT")
      c.data.back () ^= 0xff;  /* the Adler-32 */
  expect_as_libpng ("bad Adler-32", png_of (chunks));
  chunks = chunks_of (good);
  for (Chunk & c : chunks)
    if (c.type == "IDAT")
      c.data[0] = 0x88;  /* a 64 KB window: not a PNG's zlib stream */
  expect_as_libpng ("bad zlib header", png_of (chunks));

  /* Over max_pixels: refused before any allocation, same words. */
  DecodeLimits limits;
  limits.max_pixels = w * h - 1;
  for (const Bytes *in : inputs) {
    expect_as_libpng ("over the limit", *in, limits);
    DecodedImage img;
    std::string error;
    fail_if (decode_once (*in, img, error, limits, false));
    fail_unless (img.over_limit, "%s", error.c_str ());
  }
  limits.max_pixels = 1024 * 1024 - 1;
  expect_as_libpng ("recorded over the limit", flash, limits);
}
GST_END_TEST;

/* DecodeLimits::rgba: every decoder gives R,G,B,A with A = 255 where the
 * image has none, the same colours as its RGB decode; read_image_header
 * announces that layout. */
GST_START_TEST (test_decode_rgba)
{
  Bytes cmyk;
  for (int i = 0; i < 16 * 8; i++)
    cmyk.insert (cmyk.end (), { 255, 0, 0, 255 });
  Bytes trns_palette = encode_png ({3, 2, PNG_COLOR_TYPE_PALETTE, 8, {0, 1, 2, 2, 1, 0},
        {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}}, {128}});
  struct Case { const char *name; Bytes data; bool opaque; };
  const Case cases[] = {
    {"PNG RGB", encode_png ({9, 4, PNG_COLOR_TYPE_RGB, 8, pattern (9, 4, 3), {}, {}}), true},
    {"PNG RGBA", small_png (), false},
    {"PNG interlaced grey", encode_png ({9, 9, PNG_COLOR_TYPE_GRAY, 8, pattern (9, 9, 1),
          {}, {}, true}), true},
    {"PNG palette + tRNS", trns_palette, false},
    {"JPEG", small_jpeg (), true},
    {"JPEG grey", encode_jpeg (16, 8, 1, JCS_GRAYSCALE, pattern (16, 8, 1)), true},
    {"JPEG CMYK", encode_jpeg (16, 8, 4, JCS_CMYK, cmyk, 95, JCS_CMYK), true},
    {"WebP lossless RGB", encode_webp_lossless_rgb (7, 3, pattern (7, 3, 3)), true},
    {"WebP lossless RGBA", encode_webp_lossless_rgba (7, 3, pattern (7, 3, 4)), false},
    {"WebP lossy", encode_webp_lossy_rgb (16, 16, quadrants_rgb (16, 16)), true},
  };
  for (const Case & c : cases) {
    DecodedImage plain, four, head;
    std::string error;
    fail_unless (decode (c.data, plain, error), "%s: %s", c.name, error.c_str ());
    DecodeLimits limits;
    limits.rgba = true;
    fail_unless (decode (c.data, four, error, limits), "%s: %s", c.name, error.c_str ());
    check_layout (four, plain.width, plain.height, true, plain.source_format);
    fail_unless (plain.opaque == c.opaque && four.opaque == c.opaque,
        "%s: opaque %d / %d", c.name, plain.opaque, four.opaque);
    fail_unless (plain.has_alpha == !c.opaque, "%s: has_alpha", c.name);
    for (int y = 0; y < plain.height; y++)
      for (int x = 0; x < plain.width; x++) {
        const guint8 *p = pixel (plain, x, y), *q = pixel (four, x, y);
        int a = plain.has_alpha ? p[3] : 255;
        fail_unless (p[0] == q[0] && p[1] == q[1] && p[2] == q[2] && q[3] == a,
            "%s: pixel %d,%d is %d,%d,%d,%d in RGBA, %d,%d,%d,%d in the plain decode",
            c.name, x, y, q[0], q[1], q[2], q[3], p[0], p[1], p[2], a);
      }
    fail_unless (read_image_header (c.data.data (), c.data.size (), limits, head, error),
        "%s: %s", c.name, error.c_str ());
    fail_unless (head.has_alpha && head.stride == four.stride && head.size == four.size
        && head.opaque == c.opaque, "%s: header layout differs from the decode", c.name);
    fail_unless (read_image_header (c.data.data (), c.data.size (), DecodeLimits (), head, error));
    fail_unless (head.has_alpha == plain.has_alpha && head.stride == plain.stride
        && head.opaque == c.opaque, "%s: plain header layout", c.name);
  }
}
GST_END_TEST;

static Suite *
gemini_image_suite (void)
{
  Suite *s = suite_create ("gemini-image");

  TCase *tc = tcase_create ("sniff");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_sniff_formats);
  tcase_add_test (tc, test_sniff_short);
  tcase_add_test (tc, test_format_names);

  tc = tcase_create ("png");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_png_rgb);
  tcase_add_test (tc, test_png_rgba);
  tcase_add_test (tc, test_png_gray);
  tcase_add_test (tc, test_png_palette);
  tcase_add_test (tc, test_png_16bit);

  tc = tcase_create ("jpeg");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_jpeg_rgb);
  tcase_add_test (tc, test_jpeg_gray);
  tcase_add_test (tc, test_jpeg_odd_sizes);
  tcase_add_test (tc, test_jpeg_cmyk);
  tcase_add_test (tc, test_jpeg_scan_limit);

  tc = tcase_create ("webp");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_webp_lossless);
  tcase_add_test (tc, test_webp_lossy);

  tc = tcase_create ("limits");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_limit_png_bomb);
  tcase_add_test (tc, test_limit_custom);
  tcase_add_test (tc, test_limit_jpeg_header);
  tcase_add_test (tc, test_limit_flags);

  /* Large images: seconds each, more under sanitizers. */
  tc = tcase_create ("cancel");
  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_cancel_jpeg);
  tcase_add_test (tc, test_cancel_png);
  tcase_add_test (tc, test_cancel_webp);
  tcase_add_test (tc, test_cancel_before_start);
  tcase_add_test (tc, test_decode_time_bound);

  tc = tcase_create ("bad-input");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_truncated);
  tcase_add_test (tc, test_unsupported);
  tcase_add_test (tc, test_corrupt);

  tc = tcase_create ("png-fast");
  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_png_fast_corpus);
  tcase_add_test (tc, test_png_fast_chunks);
  tcase_add_test (tc, test_png_fast_recorded);
  tcase_add_test (tc, test_png_fast_hostile);
  tcase_add_test (tc, test_decode_rgba);

  tc = tcase_create ("header");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_header_only);

  return s;
}

GST_CHECK_MAIN (gemini_image);

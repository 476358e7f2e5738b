/* gst-gemini: image sniffing and decoding (PNG, JPEG, WebP) to packed RGB/RGBA.
 * Uses libpng, libjpeg(-turbo) and libwebp; no GStreamer types, so the
 * emulator and the tests can use it too.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "gemini-block-store.h"
#include "glib-raii.h"

namespace gemini {

enum class ImageFormat { Unknown, Png, Jpeg, Webp, Gif, Heif };

/* Detects the format from the magic bytes (never from a declared MIME type). */
ImageFormat sniff_image_format (const guint8 * data, gsize size);

/* "image/png", "image/jpeg", "image/webp", "image/gif", "image/heif", or nullptr. */
const char *image_format_mime_type (ImageFormat format);

/* Short name for messages: "PNG", "JPEG", "WebP", "GIF", "HEIF", "unknown". */
const char *image_format_name (ImageFormat format);

struct DecodeLimits {
  /* Images whose header announces more pixels than this are refused before
   * any pixel memory is allocated (decompression bombs). */
  guint64 max_pixels = 8192ull * 8192ull;
  /* A decode that costs more CPU time than this is stopped and refused as
   * pathological (a progressive JPEG with hundreds of scans, say). CPU time
   * of the decoding thread, not wall time, so a busy machine does not refuse
   * a normal image; a flush or state change is `cancel`'s job, not this
   * bound's. A 4K (5504x3072) JPEG takes about 0.07 s, 0.7 s if progressive;
   * raise it with max_pixels, or for sanitizer and valgrind runs, which
   * multiply CPU time. 0 or less: no bound. */
  double max_decode_seconds = 5.0;
  /* When not null: once *cancel is true, decode_image stops within a few
   * milliseconds, whatever it is doing, and fails with
   * DecodedImage::cancelled. The flag must outlive the call. */
  const std::atomic<bool> *cancel = nullptr;
  /* Give 4 bytes per pixel R,G,B,A for every image, A = 255 where the image
   * has no alpha: the layout downstream negotiated (RGBA), so nothing has to
   * convert it afterwards. DecodedImage::has_alpha then tells the layout,
   * and DecodedImage::opaque whether the image itself had alpha. */
  bool rgba = false;
  /* PNG through libpng only, never the faster libdeflate path: for the
   * tests and the differential fuzzer, which compare the two. */
  bool no_fast_path = false;
  /* Where the pixels' memory comes from (null: the heap). The image then
   * holds the store (DecodedImage::store) so that whoever frees the pixels
   * can give the block back. */
  std::shared_ptr<BlockStore> store;
};

struct DecodedImage {
  int width = 0;
  int height = 0;
  /* true: 4 bytes per pixel R,G,B,A; false: 3 bytes per pixel R,G,B. */
  bool has_alpha = false;
  /* The source image has no alpha channel, whatever the layout. */
  bool opaque = false;
  /* Bytes per row; a multiple of 4 so it matches GstVideoInfo's default
   * stride for RGB/RGBA and the pixels can be wrapped without a copy. */
  gsize stride = 0;
  /* stride * height bytes, allocated with g_malloc. */
  std::unique_ptr<guint8, GFreeDeleter> pixels;
  /* With DecodeLimits::store: the store `pixels` came from and the size of
   * their block (`capacity`, at least `size`), to give it back with
   * BlockStore::give () rather than g_free (). */
  std::shared_ptr<BlockStore> store;
  gsize capacity = 0;
  gsize size = 0;
  ImageFormat source_format = ImageFormat::Unknown;
  /* After a failed decode_image: the image was refused by DecodeLimits,
   * either for its size (max_pixels) or, with `pathological` also set, for
   * what decoding it costs. Another attempt at the same bytes cannot
   * succeed. */
  bool over_limit = false;
  /* After a failed decode_image: refused for its cost, not its size: the
   * decode ran past max_decode_seconds, or a progressive JPEG has more
   * scans than any encoder writes (over_limit is set too). */
  bool pathological = false;
  /* After a failed decode_image: stopped because *DecodeLimits::cancel
   * became true; the error says "decoding was cancelled". */
  bool cancelled = false;
};

/* Decodes PNG, JPEG or WebP. On failure returns false and sets `error` to a
 * sentence a user can act on ("JPEG data is truncated", "image is 20000x20000,
 * over the limit of 67108864 pixels", ...).
 *
 * With `cancel` set, the decode runs on a short-lived worker thread while
 * the caller watches the flag and the worker's CPU time every 2 ms; a
 * cancelled or refused worker is abandoned and decode_image returns at once,
 * without waiting for the decoder or for the freeing of its buffers. The
 * worker stops by itself at its next checkpoint: each row of blocks or
 * output row for JPEG (libjpeg's progress hook), each 8 KB read for PNG
 * (on the fast path: before and after its single inflate call, at most
 * 32 MB of pixels, and every 16 rows), each 64 KB fed to libwebp's incremental
 * decoder (one of which can decode a whole flat image: libwebp has no
 * finer hook). It needs the bytes to
 * outlive the call, so this overload copies them (in steps, watching the
 * flag); the GBytes one takes a reference instead.
 *
 * Without `cancel` everything runs on the calling thread and the time bound
 * is checked at those same checkpoints only: exact for JPEG, where the
 * pathological cases are, coarse for a small flat WebP. */
bool decode_image (const guint8 * data, gsize size, const DecodeLimits & limits,
    DecodedImage & out, std::string & error);

/* The same, for bytes held in a GBytes: a worker keeps a reference instead
 * of a copy. */
bool decode_image (GBytes * data, const DecodeLimits & limits,
    DecodedImage & out, std::string & error);

/* Reads the header only: width, height, has_alpha, opaque, source_format
 * and the stride and size a decode with the same limits would give; `pixels` stays null. Refuses what
 * decode_image refuses before it decodes (unknown and unsupported formats,
 * sizes over limits.max_pixels, a header that does not parse); the data
 * after the header is not looked at. For output that passes the model's
 * bytes on as they came (image/png, image/jpeg downstream): a decode there
 * costs 20-60 ms per image for pixels nobody reads. */
bool read_image_header (const guint8 * data, gsize size, const DecodeLimits & limits,
    DecodedImage & out, std::string & error);

}  // namespace gemini

/* gst-gemini: image sniffing and decoding (PNG, JPEG, WebP) to packed RGB/RGBA.
 * Uses libpng, libjpeg(-turbo) and libwebp; no GStreamer types, so the
 * emulator and the tests can use it too.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <cstdint>
#include <memory>
#include <string>

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
};

struct DecodedImage {
  int width = 0;
  int height = 0;
  /* true: 4 bytes per pixel R,G,B,A; false: 3 bytes per pixel R,G,B. */
  bool has_alpha = false;
  /* Bytes per row; a multiple of 4 so it matches GstVideoInfo's default
   * stride for RGB/RGBA and the pixels can be wrapped without a copy. */
  gsize stride = 0;
  /* stride * height bytes, allocated with g_malloc. */
  std::unique_ptr<guint8, GFreeDeleter> pixels;
  gsize size = 0;
  ImageFormat source_format = ImageFormat::Unknown;
  /* After a failed decode_image: the size was refused by DecodeLimits. */
  bool over_limit = false;
};

/* Decodes PNG, JPEG or WebP. On failure returns false and sets `error` to a
 * sentence a user can act on ("JPEG data is truncated", "image is 20000x20000,
 * over the limit of 67108864 pixels", ...). */
bool decode_image (const guint8 * data, gsize size, const DecodeLimits & limits,
    DecodedImage & out, std::string & error);

}  // namespace gemini

/* gst-gemini: encoders from gemini::DecodedImage (packed RGB/RGBA) to PNG
 * (libpng), JPEG (libjpeg) and WebP (libwebp). The reference pads use the
 * JPEG one for frames they send (a standard 4:2:0 JFIF); the emulator uses
 * them for its answers; tests use them to build fixture images.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <string>

#include "gemini-image.h"

namespace gemini {

/* A zero-filled image with a stride rounded up to a multiple of 4, like the
 * decoder produces. */
DecodedImage allocate_image (int width, int height, bool has_alpha);

/* Lossless; RGB or RGBA. zlib level 1: the emulator's flat images compress
 * well at any level and speed matters more. */
bool encode_png (const DecodedImage & image, std::string & out, std::string & error);

/* Baseline JPEG, 4:2:0, `quality` 1..100; an alpha channel is dropped. */
bool encode_jpeg (const DecodedImage & image, int quality, std::string & out,
    std::string & error);

/* Lossless WebP, or lossy with `quality` 0..100. */
bool encode_webp (const DecodedImage & image, bool lossless, int quality,
    std::string & out, std::string & error);

/* Dispatches on `format` (Png, Jpeg or Webp; Webp is lossless when quality
 * is 100). Returns nullptr and sets `error` on failure. */
GBytes *encode_image (const DecodedImage & image, ImageFormat format, int quality,
    std::string & error);

}  // namespace gemini

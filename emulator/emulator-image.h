/* gst-gemini emulator: output formats and sizes (from the model
 * catalogue), and the deterministic synthetic image it answers with.
 *
 * Image layout (tests rely on it; docs/emulator.md describes it too), for an
 * output of W x H pixels:
 *   - Background: prompt_color (prompt), see below.
 *   - Top-left square [0,64) x [0,64): exactly the background colour; nothing
 *     is ever drawn over it.
 *   - Reference swatches: for reference image i (0-based, request order), the
 *     64x64 square at x = 8 + i*72, y = H - 72 is filled with mean_color () of
 *     that reference. A swatch that would not fit entirely inside the image
 *     (x + 64 > W) is not drawn.
 *   - Thumbnails of the references (aspect kept, at most 128x128) in a row
 *     whose bottom edge is at y = H - 80, starting at x = 8, 8 px apart;
 *     thumbnails that do not fit in the width are left out.
 *   - The prompt, word-wrapped and centred (DejaVu Sans, black or white for
 *     contrast), in the band 72 <= y < H - 216 (with references) or
 *     72 <= y < H - 8 - footer height (without), 32 px side margins.
 *   - A footer "<model> · WxH · gemini-emulator", right-aligned at the bottom
 *     right, right of the swatches.
 * The top-left square and the swatches are written last, pixel by pixel, so
 * they hold exact values whatever the text rendering does. In a JPEG answer
 * they are within a few levels of these values (lossy coding).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <optional>
#include <string>
#include <vector>

#include "gemini-image.h"
#include "gemini-models.h"

namespace gemini::emulator {

struct Rgb {
  guint8 r = 0, g = 0, b = 0;
  bool operator== (const Rgb &) const = default;
};

/* FNV-1a, 32 bit. */
guint32 fnv1a_32 (const void * data, gsize size);

/* h = fnv1a_32 (UTF-8 bytes of prompt);
 * r = 40 + ((h >> 16) & 0xff) * 3 / 4; g = 40 + ((h >> 8) & 0xff) * 3 / 4;
 * b = 40 + (h & 0xff) * 3 / 4   (integer arithmetic; each in 40..231). */
Rgb prompt_color (const std::string & prompt);

/* 255 - each channel: the background of thought (draft) images. */
Rgb inverse_color (Rgb c);

/* Rounded mean over all pixels ((sum + n/2) / n per channel); alpha ignored. */
Rgb mean_color (const DecodedImage & image);

/* Pixel (x, y) of a decoded image, alpha ignored. */
Rgb pixel_at (const DecodedImage & image, int x, int y);

/* ---- models ----
 * The models, their output formats and sizes are the project's model
 * catalogue (gemini-models.h); the emulator keeps no table of its own. */

/* Whether the emulator generates for `spec`: Served and Deprecated rows.
 * Retired ids answer 404, except to a "replay" step. */
bool serves (const ModelSpec & spec);

/* The output format of `spec`: Png for "image/png", else Jpeg. */
ImageFormat output_format (const ModelSpec & spec);

/* The ten aspect ratios every model takes: kAspectRatios[0..9]. */
inline constexpr guint kCommonRatioBits = (1u << 10) - 1;

/* Of the ratios in `ratio_bits` (bit i: gemini::kAspectRatios[i]), the one
 * closest to width:height (log distance; first wins ties); "1:1" for an
 * empty image. The two-argument form picks among the ten common ratios. */
std::string closest_aspect_ratio (int width, int height, guint ratio_bits = kCommonRatioBits);

/* Output pixel size for `spec` (gemini::output_pixels ()): empty
 * aspect_ratio means 1:1, empty image_size the model's default. False,
 * with `error`, for a ratio or size the model does not take. */
bool output_size (const ModelSpec & spec, const std::string & aspect_ratio, const std::string & image_size,
    int & width, int & height, std::string & error);

/* Output tokens billed for one image: 1290 for a model that does not think
 * (gemini-2.5-flash-image), else 2000 at 4K and 1120 below. */
int image_token_count (const ModelSpec & spec, const std::string & image_size);

/* ---- layout ---- */

constexpr int kCornerSize = 64;     /* top-left square */
constexpr int kSwatchSize = 64;
constexpr int kSwatchPitch = 72;
constexpr int kSwatchMargin = 8;
constexpr int kThumbnailMax = 128;

/* Top-left corner of swatch `index` in an image `height` pixels high. */
inline int swatch_x (int index) { return kSwatchMargin + index * kSwatchPitch; }
inline int swatch_y (int height) { return height - kSwatchMargin - kSwatchSize; }

/* ---- rendering ---- */

struct Reference {
  /* Decoded pixels for the thumbnail, or nullptr when the emulator cannot
   * decode the format (HEIC/HEIF): then only the swatch is drawn. */
  const DecodedImage *image = nullptr;
  Rgb mean;
};

struct RenderParams {
  std::string prompt;
  std::string model;
  int width = 0;
  int height = 0;
  std::vector<Reference> references;
  /* Defaults to prompt_color (prompt). */
  std::optional<Rgb> background;
  /* Prefix drawn before the prompt, e.g. "draft" for thought images. */
  std::string label;
};

/* Renders the image as packed RGB (no alpha). Deterministic. */
DecodedImage render_image (const RenderParams & params);

}  // namespace gemini::emulator

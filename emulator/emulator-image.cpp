/* gst-gemini emulator: output sizes (from the model catalogue) and the
 * synthetic image.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "emulator-image.h"

#include <cairo.h>
#include <pango/pangocairo.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string_view>

#include "glib-raii.h"
#include "image-encode.h"

namespace gemini::emulator {

namespace {

struct CairoSurfaceDestroy {
  void operator() (cairo_surface_t * s) const { cairo_surface_destroy (s); }
};
struct CairoDestroy {
  void operator() (cairo_t * c) const { cairo_destroy (c); }
};
struct FontDescFree {
  void operator() (PangoFontDescription * d) const { pango_font_description_free (d); }
};
struct FontOptionsDestroy {
  void operator() (cairo_font_options_t * o) const { cairo_font_options_destroy (o); }
};
using CairoSurfacePtr = std::unique_ptr<cairo_surface_t, CairoSurfaceDestroy>;
using CairoPtr = std::unique_ptr<cairo_t, CairoDestroy>;
using FontDescPtr = std::unique_ptr<PangoFontDescription, FontDescFree>;
using FontOptionsPtr = std::unique_ptr<cairo_font_options_t, FontOptionsDestroy>;

/* Longest prompt text laid out; the rest could never fit anyway. */
constexpr glong kMaxPromptChars = 2000;

/* Writes opaque pixels straight into a cairo RGB24 surface. */
void
fill_surface (cairo_surface_t * surface, Rgb c)
{
  cairo_surface_flush (surface);
  guint8 *data = cairo_image_surface_get_data (surface);
  const int stride = cairo_image_surface_get_stride (surface);
  const int w = cairo_image_surface_get_width (surface);
  const int h = cairo_image_surface_get_height (surface);
  const guint32 px = 0xff000000u | (guint32 (c.r) << 16) | (guint32 (c.g) << 8) | c.b;
  for (int y = 0; y < h; y++)
    std::fill_n (reinterpret_cast<guint32 *> (data + static_cast<gsize> (y) * stride), w, px);
  cairo_surface_mark_dirty (surface);
}

void
fill_rect (DecodedImage & img, int x0, int y0, int w, int h, Rgb c)
{
  const int bpp = img.has_alpha ? 4 : 3;
  for (int y = std::max (y0, 0); y < std::min (y0 + h, img.height); y++) {
    guint8 *row = img.pixels.get () + img.stride * static_cast<gsize> (y);
    for (int x = std::max (x0, 0); x < std::min (x0 + w, img.width); x++) {
      guint8 *p = row + x * bpp;
      p[0] = c.r;
      p[1] = c.g;
      p[2] = c.b;
      if (bpp == 4)
        p[3] = 255;
    }
  }
}

DecodedImage
surface_to_rgb (cairo_surface_t * surface)
{
  cairo_surface_flush (surface);
  const int w = cairo_image_surface_get_width (surface);
  const int h = cairo_image_surface_get_height (surface);
  const int stride = cairo_image_surface_get_stride (surface);
  const guint8 *data = cairo_image_surface_get_data (surface);
  DecodedImage out = allocate_image (w, h, false);
  for (int y = 0; y < h; y++) {
    auto *src = reinterpret_cast<const guint32 *> (data + static_cast<gsize> (y) * stride);
    guint8 *dst = out.pixels.get () + out.stride * static_cast<gsize> (y);
    for (int x = 0; x < w; x++, dst += 3) {
      dst[0] = guint8 (src[x] >> 16);
      dst[1] = guint8 (src[x] >> 8);
      dst[2] = guint8 (src[x]);
    }
  }
  return out;
}

/* Box-filtered (or, when enlarging, nearest) copy of `src` at tw x th, as a
 * premultiplied ARGB32 surface. Cheaper and more predictable than asking
 * cairo to downscale a 4K reference. */
CairoSurfacePtr
make_thumbnail (const DecodedImage & src, int tw, int th)
{
  CairoSurfacePtr thumb (cairo_image_surface_create (CAIRO_FORMAT_ARGB32, tw, th));
  guint8 *data = cairo_image_surface_get_data (thumb.get ());
  const int stride = cairo_image_surface_get_stride (thumb.get ());
  const int bpp = src.has_alpha ? 4 : 3;
  for (int ty = 0; ty < th; ty++) {
    const int y0 = static_cast<int> (gint64 (ty) * src.height / th);
    const int y1 = std::max (y0 + 1, static_cast<int> (gint64 (ty + 1) * src.height / th));
    auto *dst = reinterpret_cast<guint32 *> (data + static_cast<gsize> (ty) * stride);
    for (int tx = 0; tx < tw; tx++) {
      const int x0 = static_cast<int> (gint64 (tx) * src.width / tw);
      const int x1 = std::max (x0 + 1, static_cast<int> (gint64 (tx + 1) * src.width / tw));
      guint64 sum[4] = {0, 0, 0, 0};
      for (int y = y0; y < y1; y++) {
        const guint8 *p = src.pixels.get () + src.stride * static_cast<gsize> (y) + x0 * bpp;
        for (int x = x0; x < x1; x++, p += bpp) {
          const guint a = bpp == 4 ? p[3] : 255;
          sum[0] += p[0] * a;
          sum[1] += p[1] * a;
          sum[2] += p[2] * a;
          sum[3] += a;
        }
      }
      const guint64 n = guint64 (y1 - y0) * guint64 (x1 - x0);
      const guint32 a = guint32 ((sum[3] + n / 2) / n);
      const guint64 div = n * 255;
      const guint32 r = guint32 ((sum[0] + div / 2) / div);
      const guint32 g = guint32 ((sum[1] + div / 2) / div);
      const guint32 b = guint32 ((sum[2] + div / 2) / div);
      dst[tx] = (a << 24) | (r << 16) | (g << 8) | b;
    }
  }
  cairo_surface_mark_dirty (thumb.get ());
  return thumb;
}

Rgb
text_color (Rgb bg)
{
  const int luma = (299 * bg.r + 587 * bg.g + 114 * bg.b) / 1000;
  return luma > 140 ? Rgb {0, 0, 0} : Rgb {255, 255, 255};
}

void
set_source (cairo_t * cr, Rgb c)
{
  cairo_set_source_rgb (cr, c.r / 255.0, c.g / 255.0, c.b / 255.0);
}

/* Antialiased, unhinted: glyph shapes must not depend on the desktop's
 * fontconfig settings. */
GObjectPtr<PangoLayout>
make_layout (cairo_t * cr, int font_px)
{
  GObjectPtr<PangoLayout> layout (pango_cairo_create_layout (cr));
  FontOptionsPtr options (cairo_font_options_create ());
  cairo_font_options_set_antialias (options.get (), CAIRO_ANTIALIAS_GRAY);
  cairo_font_options_set_hint_style (options.get (), CAIRO_HINT_STYLE_NONE);
  cairo_font_options_set_hint_metrics (options.get (), CAIRO_HINT_METRICS_OFF);
  pango_cairo_context_set_font_options (pango_layout_get_context (layout.get ()), options.get ());
  pango_layout_context_changed (layout.get ());
  FontDescPtr desc (pango_font_description_from_string ("DejaVu Sans"));
  pango_font_description_set_absolute_size (desc.get (), double (font_px) * PANGO_SCALE);
  pango_layout_set_font_description (layout.get (), desc.get ());
  return layout;
}

struct Box {
  int x, y, w, h;
};

int
draw_thumbnails (cairo_t * cr, const RenderParams & p, Rgb fg)
{
  const int bottom = p.height - kSwatchMargin - kSwatchSize - kSwatchMargin;  /* H - 80 */
  int x = kSwatchMargin;
  int drawn = 0;
  for (const Reference & ref : p.references) {
    if (!ref.image || ref.image->width <= 0 || ref.image->height <= 0)
      continue;
    const DecodedImage & src = *ref.image;
    const double scale = double (kThumbnailMax) / std::max (src.width, src.height);
    const int tw = std::max (1, int (std::lround (src.width * scale)));
    const int th = std::max (1, int (std::lround (src.height * scale)));
    if (x + tw > p.width - kSwatchMargin)
      break;
    CairoSurfacePtr thumb = make_thumbnail (src, tw, th);
    cairo_set_source_surface (cr, thumb.get (), x, bottom - th);
    cairo_paint (cr);
    set_source (cr, fg);
    cairo_set_line_width (cr, 1.0);
    cairo_rectangle (cr, x - 0.5, bottom - th - 0.5, tw + 1, th + 1);
    cairo_stroke (cr);
    x += tw + kSwatchMargin;
    drawn++;
  }
  return drawn;
}

std::string
prompt_text (const RenderParams & p)
{
  GCharPtr valid (g_utf8_make_valid (p.prompt.c_str (), static_cast<gssize> (p.prompt.size ())));
  std::string text = valid.get ();
  if (g_utf8_strlen (text.c_str (), -1) > kMaxPromptChars) {
    const char *end = g_utf8_offset_to_pointer (text.c_str (), kMaxPromptChars);
    text.resize (end - text.c_str ());
    text += "…";
  }
  if (text.empty ())
    text = "(empty prompt)";
  return p.label.empty () ? text : p.label + ": " + text;
}

void
draw_prompt (cairo_t * cr, const RenderParams & p, Box box, Rgb fg)
{
  if (box.w <= 0 || box.h <= 0)
    return;
  const std::string text = prompt_text (p);
  const int short_side = std::min (p.width, p.height);
  const int font_px = std::max (12, short_side / (text.size () > 80 ? 32 : 20));
  GObjectPtr<PangoLayout> layout = make_layout (cr, font_px);
  pango_layout_set_width (layout.get (), box.w * PANGO_SCALE);
  pango_layout_set_height (layout.get (), box.h * PANGO_SCALE);
  pango_layout_set_wrap (layout.get (), PANGO_WRAP_WORD_CHAR);
  pango_layout_set_ellipsize (layout.get (), PANGO_ELLIPSIZE_END);
  pango_layout_set_alignment (layout.get (), PANGO_ALIGN_CENTER);
  pango_layout_set_text (layout.get (), text.c_str (), -1);
  int tw = 0, th = 0;
  pango_layout_get_pixel_size (layout.get (), &tw, &th);
  set_source (cr, fg);
  cairo_move_to (cr, box.x, box.y + std::max (0, (box.h - th) / 2));
  pango_cairo_show_layout (cr, layout.get ());
}

int
footer_font_px (const RenderParams & p)
{
  /* With references, capped so the footer stays within the 64 px swatch band. */
  return std::clamp (std::min (p.width, p.height) / 48, 10, p.references.empty () ? 96 : 28);
}

void
draw_footer (cairo_t * cr, const RenderParams & p, int left, Rgb fg)
{
  const int right = p.width - kSwatchMargin;
  if (right - left < 64)
    return;
  std::string text = p.model + " · " + std::to_string (p.width) + "×" +
      std::to_string (p.height) + " · gemini-emulator";
  GObjectPtr<PangoLayout> layout = make_layout (cr, footer_font_px (p));
  pango_layout_set_width (layout.get (), (right - left) * PANGO_SCALE);
  pango_layout_set_ellipsize (layout.get (), PANGO_ELLIPSIZE_END);
  pango_layout_set_alignment (layout.get (), PANGO_ALIGN_RIGHT);
  pango_layout_set_text (layout.get (), text.c_str (), -1);
  int tw = 0, th = 0;
  pango_layout_get_pixel_size (layout.get (), &tw, &th);
  set_source (cr, fg);
  cairo_move_to (cr, left, p.height - kSwatchMargin - th);
  pango_cairo_show_layout (cr, layout.get ());
}

int
swatches_that_fit (const RenderParams & p)
{
  int n = 0;
  while (n < int (p.references.size ()) && swatch_x (n) + kSwatchSize <= p.width)
    n++;
  return n;
}

}  // namespace

guint32
fnv1a_32 (const void * data, gsize size)
{
  guint32 h = 0x811c9dc5u;
  const auto *p = static_cast<const guint8 *> (data);
  for (gsize i = 0; i < size; i++) {
    h ^= p[i];
    h *= 0x01000193u;
  }
  return h;
}

Rgb
prompt_color (const std::string & prompt)
{
  const guint32 h = fnv1a_32 (prompt.data (), prompt.size ());
  return Rgb {guint8 (40 + ((h >> 16) & 0xff) * 3 / 4), guint8 (40 + ((h >> 8) & 0xff) * 3 / 4),
      guint8 (40 + (h & 0xff) * 3 / 4)};
}

Rgb
inverse_color (Rgb c)
{
  return Rgb {guint8 (255 - c.r), guint8 (255 - c.g), guint8 (255 - c.b)};
}

Rgb
mean_color (const DecodedImage & image)
{
  const guint64 n = guint64 (image.width) * guint64 (image.height);
  if (n == 0 || !image.pixels)
    return {};
  const int bpp = image.has_alpha ? 4 : 3;
  guint64 sum[3] = {0, 0, 0};
  for (int y = 0; y < image.height; y++) {
    const guint8 *p = image.pixels.get () + image.stride * static_cast<gsize> (y);
    for (int x = 0; x < image.width; x++, p += bpp) {
      sum[0] += p[0];
      sum[1] += p[1];
      sum[2] += p[2];
    }
  }
  return Rgb {guint8 ((sum[0] + n / 2) / n), guint8 ((sum[1] + n / 2) / n),
      guint8 ((sum[2] + n / 2) / n)};
}

Rgb
pixel_at (const DecodedImage & image, int x, int y)
{
  const guint8 *p = image.pixels.get () + image.stride * static_cast<gsize> (y) +
      static_cast<gsize> (x) * (image.has_alpha ? 4 : 3);
  return Rgb {p[0], p[1], p[2]};
}

bool
serves (const ModelSpec & spec)
{
  return spec.status != ModelStatus::Retired;
}

ImageFormat
output_format (const ModelSpec & spec)
{
  return std::string_view (spec.output_mime) == "image/png" ? ImageFormat::Png : ImageFormat::Jpeg;
}

std::string
closest_aspect_ratio (int width, int height, guint ratio_bits)
{
  if (width <= 0 || height <= 0)
    return "1:1";
  const double target = std::log (double (width) / height);
  const char *best = "1:1";
  double best_distance = INFINITY;
  for (std::size_t i = 0; i < kAspectRatios.size (); i++) {
    if (!((ratio_bits >> i) & 1u))
      continue;
    int a = 0, b = 0;
    sscanf (kAspectRatios[i], "%d:%d", &a, &b);
    const double d = std::fabs (std::log (double (a) / b) - target);
    if (d < best_distance - 1e-12) {
      best_distance = d;
      best = kAspectRatios[i];
    }
  }
  return best;
}

bool
output_size (const ModelSpec & spec, const std::string & aspect_ratio, const std::string & image_size,
    int & width, int & height, std::string & error)
{
  if (!aspect_ratio.empty () && !spec.takes_ratio (aspect_ratio_index (aspect_ratio))) {
    error = std::string (spec.id) + " does not take aspect ratio \"" + aspect_ratio + "\"";
    return false;
  }
  if (!image_size.empty () && !spec.takes_size (image_size_index (image_size))) {
    error = std::string (spec.id) + " does not take image size \"" + image_size + "\"";
    return false;
  }
  const std::optional<PixelSize> p = output_pixels (spec, aspect_ratio, image_size);
  if (!p) {
    error = std::string (spec.id) + " has no output size for \"" + aspect_ratio + "\" \"" + image_size + "\"";
    return false;
  }
  width = p->width;
  height = p->height;
  return true;
}

int
image_token_count (const ModelSpec & spec, const std::string & image_size)
{
  if (!spec.thinks)
    return 1290;
  const std::string size = image_size.empty () ? spec.default_size : image_size;
  return size == "4K" ? 2000 : 1120;
}

DecodedImage
render_image (const RenderParams & p)
{
  const Rgb bg = p.background.value_or (prompt_color (p.prompt));
  const Rgb fg = text_color (bg);
  CairoSurfacePtr surface (cairo_image_surface_create (CAIRO_FORMAT_RGB24, p.width, p.height));
  fill_surface (surface.get (), bg);

  const int swatches = swatches_that_fit (p);
  {
    CairoPtr cr (cairo_create (surface.get ()));
    draw_thumbnails (cr.get (), p, fg);
    const int footer_h = footer_font_px (p) * 2;
    const int text_top = kCornerSize + kSwatchMargin;
    const int text_bottom = p.references.empty ()
        ? p.height - kSwatchMargin - footer_h - kSwatchMargin
        : p.height - kSwatchMargin - kSwatchSize - kSwatchMargin - kThumbnailMax - kSwatchMargin;
    draw_prompt (cr.get (), p, Box {32, text_top, p.width - 64, text_bottom - text_top}, fg);
    draw_footer (cr.get (), p, std::max (kCornerSize + kSwatchMargin, swatch_x (swatches)), fg);
  }

  DecodedImage out = surface_to_rgb (surface.get ());
  /* Exact values, written last: the contract tests check. */
  fill_rect (out, 0, 0, kCornerSize, kCornerSize, bg);
  for (int i = 0; i < swatches; i++)
    fill_rect (out, swatch_x (i), swatch_y (p.height), kSwatchSize, kSwatchSize,
        p.references[i].mean);
  return out;
}

}  // namespace gemini::emulator

/* gst-gemini tests: the emulator's output sizes (the model catalogue's),
 * prompt colour, synthetic image layout and image encoders (round-tripped
 * through gemini::decode_image).
 * SPDX-License-Identifier: LGPL-2.1-or-later */

#include <string>
#include <vector>

#include "emulator-image.h"
#include "gemini-image.h"
#include "image-check.h"
#include "image-encode.h"

/* Last: gstcheck.h defines a `fail` macro that breaks C++ headers. */
#include <gst/check/gstcheck.h>

using namespace gemini;
using namespace gemini::emulator;
using namespace gemini::test;

static const ModelSpec &
spec_of (const char *id)
{
  const ModelSpec *spec = find_model_spec (id);
  fail_unless (spec != nullptr, "%s is not in the catalogue", id);
  return *spec;
}

static void
expect_size (const char *model, const char *ratio, const char *size, int w, int h)
{
  int width = 0, height = 0;
  std::string error;
  fail_unless (output_size (spec_of (model), ratio, size, width, height, error), "%s %s %s: %s", model, ratio, size,
      error.c_str ());
  fail_unless (width == w && height == h, "%s %s %s: got %dx%d, expected %dx%d", model, ratio, size, width,
      height, w, h);
}

static void
expect_no_size (const char *model, const char *ratio, const char *size)
{
  int width = 0, height = 0;
  std::string error;
  fail_if (output_size (spec_of (model), ratio, size, width, height, error), "%s %s %s gave %dx%d", model, ratio,
      size, width, height);
  fail_unless (error.find (model) != std::string::npos, "%s", error.c_str ());
}

/* The emulator's sizes are the catalogue's (gemini::output_pixels ()), and
 * those hold the documented tables, written out here independently. */
GST_START_TEST (test_size_tables)
{
  struct {
    const char *ratio;
    int fw, fh, pw, ph;
  } rows[] = {
    {"1:1", 1024, 1024, 1024, 1024}, {"2:3", 832, 1248, 848, 1264}, {"3:2", 1248, 832, 1264, 848},
    {"3:4", 864, 1184, 896, 1200}, {"4:3", 1184, 864, 1200, 896}, {"4:5", 896, 1152, 928, 1152},
    {"5:4", 1152, 896, 1152, 928}, {"9:16", 768, 1344, 768, 1376}, {"16:9", 1344, 768, 1376, 768},
    {"21:9", 1536, 672, 1584, 672},
  };
  for (const auto & r : rows) {
    /* 2.5 Flash (retired, kept for its table): 1K only. */
    for (const char *size : {"", "1K"})
      expect_size ("gemini-2.5-flash-image", r.ratio, size, r.fw, r.fh);
    for (const char *model : {"gemini-3-pro-image", "gemini-3.1-flash-image", "gemini-nano-banana-2.1"}) {
      expect_size (model, r.ratio, "1K", r.pw, r.ph);
      expect_size (model, r.ratio, "", r.pw, r.ph);
      expect_size (model, r.ratio, "2K", r.pw * 2, r.ph * 2);
      expect_size (model, r.ratio, "4K", r.pw * 4, r.ph * 4);
    }
    expect_size ("gemini-3.1-flash-lite-image", r.ratio, "1K", r.pw, r.ph);
  }
  /* Spot checks against the image-generation page, written out. */
  expect_size ("gemini-3-pro-image", "9:16", "4K", 3072, 5504);
  expect_size ("gemini-3-pro-image", "21:9", "2K", 3168, 1344);
  expect_size ("gemini-3-pro-image", "", "", 1024, 1024);
  expect_size ("gemini-3.1-flash-image", "1:1", "512", 512, 512);
  expect_size ("gemini-3.1-flash-image", "16:9", "512", 688, 384);
  expect_size ("gemini-3.1-flash-image", "1:8", "1K", 384, 3072);
  expect_size ("gemini-3.1-flash-image", "8:1", "4K", 12288, 1536);
  expect_size ("gemini-3.1-flash-image", "1:4", "2K", 1024, 4096);

  /* What a model does not take has no size. */
  expect_no_size ("gemini-3-pro-image", "7:3", "");
  expect_no_size ("gemini-3-pro-image", "1:1", "1k");
  expect_no_size ("gemini-3-pro-image", "1:1", "512");
  expect_no_size ("gemini-3-pro-image", "1:8", "1K");
  expect_no_size ("gemini-nano-banana-2.1", "1:1", "512");
  /* A 1K-only model: other sizes are refused, not quietly made 1K. */
  expect_no_size ("gemini-3.1-flash-lite-image", "1:1", "2K");
  expect_no_size ("gemini-3.1-flash-lite-image", "4:1", "1K");

  /* Every row the emulator serves, every ratio and size it takes. */
  int served = 0;
  for (const ModelSpec & spec : model_catalogue ()) {
    fail_unless (serves (spec) == (spec.status != ModelStatus::Retired));
    if (!serves (spec))
      continue;
    served++;
    for (std::size_t r = 0; r < kAspectRatios.size (); r++)
      for (std::size_t z = 0; z < kImageSizes.size (); z++) {
        int w = 0, h = 0;
        std::string error;
        const bool ok = output_size (spec, kAspectRatios[r], kImageSizes[z], w, h, error);
        fail_unless (ok == (spec.takes_ratio (int (r)) && spec.takes_size (int (z))), "%s %s %s", spec.id,
            kAspectRatios[r], kImageSizes[z]);
        if (!ok)
          continue;
        const auto want = output_pixels (spec, kAspectRatios[r], kImageSizes[z]);
        fail_unless (want && w == want->width && h == want->height, "%s %s %s: %dx%d", spec.id, kAspectRatios[r],
            kImageSizes[z], w, h);
      }
  }
  fail_unless (served >= 3, "the catalogue serves %d models", served);

  fail_unless_equals_int (image_token_count (spec_of ("gemini-2.5-flash-image"), "1K"), 1290);
  fail_unless_equals_int (image_token_count (spec_of ("gemini-3-pro-image"), "2K"), 1120);
  fail_unless_equals_int (image_token_count (spec_of ("gemini-3-pro-image"), "4K"), 2000);
  fail_unless_equals_int (image_token_count (spec_of ("gemini-3-pro-image"), ""), 1120);
  fail_unless (output_format (spec_of ("gemini-2.5-flash-image")) == ImageFormat::Png);
  fail_unless (output_format (spec_of ("gemini-3-pro-image")) == ImageFormat::Jpeg);
  fail_unless (output_format (spec_of ("gemini-3.1-flash-image")) == ImageFormat::Jpeg);
}
GST_END_TEST;

GST_START_TEST (test_closest_aspect_ratio)
{
  fail_unless (closest_aspect_ratio (64, 48) == "4:3");
  fail_unless (closest_aspect_ratio (1920, 1080) == "16:9");
  fail_unless (closest_aspect_ratio (100, 50) == "16:9");
  fail_unless (closest_aspect_ratio (3000, 1000) == "21:9");
  fail_unless (closest_aspect_ratio (500, 500) == "1:1");
  fail_unless (closest_aspect_ratio (1080, 1920) == "9:16");
  fail_unless (closest_aspect_ratio (800, 1000) == "4:5");
  /* Among the ratios a model takes: the extreme ones only where offered. */
  fail_unless (closest_aspect_ratio (8000, 1000) == "21:9");
  const guint all = (1u << kAspectRatios.size ()) - 1;
  fail_unless (closest_aspect_ratio (8000, 1000, all) == "8:1");
  fail_unless (closest_aspect_ratio (1000, 4100, all) == "1:4");
  fail_unless (closest_aspect_ratio (1920, 1080, all) == "16:9");
  fail_unless (closest_aspect_ratio (0, 10, all) == "1:1");
}
GST_END_TEST;

/* Written independently of the implementation, from the documented formula. */
static Rgb
reference_color (const std::string & prompt)
{
  guint32 h = 2166136261u;
  for (unsigned char c : prompt) {
    h ^= c;
    h *= 16777619u;
  }
  return Rgb {guint8 (40 + ((h >> 16) & 0xff) * 3 / 4), guint8 (40 + ((h >> 8) & 0xff) * 3 / 4),
      guint8 (40 + (h & 0xff) * 3 / 4)};
}

GST_START_TEST (test_prompt_color)
{
  /* FNV-1a("") = 0x811c9dc5 -> 40 + 0x1c*3/4, 40 + 0x9d*3/4, 40 + 0xc5*3/4. */
  fail_unless (prompt_color ("") == (Rgb {61, 157, 187}));
  /* FNV-1a("a") = 0xe40c292c. */
  fail_unless_equals_int (fnv1a_32 ("a", 1), 0xe40c292c);
  fail_unless (prompt_color ("a") == (Rgb {49, 70, 73}));
  for (const char *p : {"a cat", "A watercolour fox in the snow", "日本語のプロンプト", "x\ny"}) {
    Rgb got = prompt_color (p), want = reference_color (p);
    fail_unless (got == want, "%s: %d,%d,%d vs %d,%d,%d", p, got.r, got.g, got.b, want.r, want.g, want.b);
    fail_unless (got.r >= 40 && got.r <= 231 && got.g >= 40 && got.g <= 231 && got.b >= 40 && got.b <= 231);
  }
  fail_unless (inverse_color (Rgb {0, 100, 255}) == (Rgb {255, 155, 0}));
}
GST_END_TEST;

static void
fill (DecodedImage & img, int x0, int y0, int w, int h, Rgb c, guint8 alpha = 255)
{
  const int bpp = img.has_alpha ? 4 : 3;
  for (int y = y0; y < y0 + h; y++)
    for (int x = x0; x < x0 + w; x++) {
      guint8 *p = img.pixels.get () + y * img.stride + x * bpp;
      p[0] = c.r;
      p[1] = c.g;
      p[2] = c.b;
      if (bpp == 4)
        p[3] = alpha;
    }
}

GST_START_TEST (test_mean_color)
{
  DecodedImage img = allocate_image (3, 1, true);
  fill (img, 0, 0, 1, 1, Rgb {0, 0, 0}, 0);
  fill (img, 1, 0, 1, 1, Rgb {1, 100, 255}, 10);
  fill (img, 2, 0, 1, 1, Rgb {1, 200, 255});
  /* (0+1+1)/3 = 0.67 -> 1; 300/3 = 100; 510/3 = 170. Alpha is ignored. */
  fail_unless (mean_color (img) == (Rgb {1, 100, 170}));
  fail_unless (pixel_at (img, 1, 0) == (Rgb {1, 100, 255}));
  /* Stride padding is not counted. */
  DecodedImage odd = allocate_image (5, 2, false);
  fail_unless_equals_int (odd.stride % 4, 0);
  fill (odd, 0, 0, 5, 2, Rgb {9, 9, 9});
  memset (odd.pixels.get () + 15, 0xff, odd.stride - 15);
  fail_unless (mean_color (odd) == (Rgb {9, 9, 9}));
}
GST_END_TEST;

static DecodedImage
two_colour_reference (int w, int h, bool alpha)
{
  DecodedImage img = allocate_image (w, h, alpha);
  fill (img, 0, 0, w / 2, h, Rgb {250, 10, 10});
  fill (img, w / 2, 0, w - w / 2, h, Rgb {10, 10, 250});
  return img;
}

GST_START_TEST (test_layout)
{
  DecodedImage ref0 = two_colour_reference (300, 200, false);
  DecodedImage ref1 = two_colour_reference (40, 90, true);
  RenderParams p;
  p.prompt = "A very long prompt that wraps over several lines of text, drawn in the middle of the image "
             "and never over the top-left square or the swatches at the bottom";
  p.model = "gemini-3-pro-image";
  p.width = 1344;
  p.height = 768;
  p.references = {{&ref0, mean_color (ref0)}, {&ref1, mean_color (ref1)}, {nullptr, Rgb {1, 2, 3}}};
  DecodedImage img = render_image (p);
  fail_unless_equals_int (img.width, 1344);
  fail_unless_equals_int (img.height, 768);
  fail_if (img.has_alpha);
  const Rgb bg = prompt_color (p.prompt);
  for (int y = 0; y < kCornerSize; y++)
    for (int x = 0; x < kCornerSize; x++)
      fail_unless (pixel_at (img, x, y) == bg, "corner pixel %d,%d", x, y);
  for (int i = 0; i < 3; i++)
    for (int y = 0; y < kSwatchSize; y++)
      for (int x = 0; x < kSwatchSize; x++)
        fail_unless (pixel_at (img, swatch_x (i) + x, swatch_y (768) + y) == p.references[i].mean,
            "swatch %d pixel %d,%d", i, x, y);
  fail_unless_equals_int (swatch_x (1), 80);
  fail_unless_equals_int (swatch_y (768), 696);
  /* Something was drawn: text pixels differ from the background. */
  int differing = 0;
  for (int y = 80; y < 500; y += 3)
    for (int x = 40; x < 1300; x += 3)
      differing += !(pixel_at (img, x, y) == bg);
  fail_unless (differing > 100, "no text drawn (%d pixels)", differing);

  /* Deterministic: same parameters, same pixels. */
  DecodedImage again = render_image (p);
  fail_unless (memcmp (img.pixels.get (), again.pixels.get (), img.size) == 0);

  /* Swatches that do not fit are left out, without harm. */
  RenderParams narrow = p;
  narrow.width = 300;
  narrow.references.assign (8, Reference {&ref0, Rgb {7, 7, 7}});
  DecodedImage n = render_image (narrow);
  fail_unless (pixel_at (n, swatch_x (3) + 63, swatch_y (768) + 10) == (Rgb {7, 7, 7}));
  fail_unless (pixel_at (n, 299, swatch_y (768) + 10) == prompt_color (p.prompt));
}
GST_END_TEST;

static void
expect_close (const DecodedImage & a, const DecodedImage & b, int tolerance)
{
  fail_unless_equals_int (a.width, b.width);
  fail_unless_equals_int (a.height, b.height);
  for (int y = 0; y < a.height; y++)
    for (int x = 0; x < a.width; x++) {
      Rgb p = pixel_at (a, x, y), q = pixel_at (b, x, y);
      fail_unless (ABS (p.r - q.r) <= tolerance && ABS (p.g - q.g) <= tolerance && ABS (p.b - q.b) <= tolerance,
          "pixel %d,%d: %d,%d,%d vs %d,%d,%d", x, y, p.r, p.g, p.b, q.r, q.g, q.b);
    }
}

static void
expect_alpha_equal (const DecodedImage & a, const DecodedImage & b)
{
  fail_unless (a.has_alpha && b.has_alpha);
  for (int y = 0; y < a.height; y++)
    for (int x = 0; x < a.width; x++)
      fail_unless_equals_int (a.pixels.get ()[y * a.stride + x * 4 + 3], b.pixels.get ()[y * b.stride + x * 4 + 3]);
}

GST_START_TEST (test_encoders_round_trip)
{
  DecodedImage rgb = two_colour_reference (61, 33, false);  /* odd sizes: padded stride */
  DecodedImage rgba = two_colour_reference (61, 33, true);
  fill (rgba, 0, 0, 10, 10, Rgb {20, 200, 20}, 128);
  std::string out, error;

  fail_unless (encode_png (rgb, out, error), "%s", error.c_str ());
  expect_close (decode_as (out, ImageFormat::Png), rgb, 0);
  fail_unless (encode_png (rgba, out, error), "%s", error.c_str ());
  DecodedImage png_rgba = decode_as (out, ImageFormat::Png);
  expect_close (png_rgba, rgba, 0);
  expect_alpha_equal (png_rgba, rgba);

  fail_unless (encode_webp (rgb, true, 100, out, error), "%s", error.c_str ());
  expect_close (decode_as (out, ImageFormat::Webp), rgb, 0);
  fail_unless (encode_webp (rgba, true, 100, out, error), "%s", error.c_str ());
  DecodedImage webp_rgba = decode_as (out, ImageFormat::Webp);
  expect_close (webp_rgba, rgba, 0);
  fail_unless (encode_webp (rgb, false, 90, out, error), "%s", error.c_str ());
  fail_unless_equals_int (decode_as (out, ImageFormat::Webp).width, 61);

  /* Flat areas survive JPEG almost exactly; the edge between them does not. */
  DecodedImage flat = allocate_image (64, 64, false);
  fill (flat, 0, 0, 64, 64, Rgb {123, 45, 67});
  fail_unless (encode_jpeg (flat, 90, out, error), "%s", error.c_str ());
  expect_close (decode_as (out, ImageFormat::Jpeg), flat, 4);
  fail_unless (encode_jpeg (rgba, 90, out, error), "%s", error.c_str ());
  fail_unless_equals_int (decode_as (out, ImageFormat::Jpeg).height, 33);

  GBytes *bytes = encode_image (rgb, ImageFormat::Png, 0, error);
  fail_unless (bytes != nullptr, "%s", error.c_str ());
  gsize len = 0;
  const guint8 *data = static_cast<const guint8 *> (g_bytes_get_data (bytes, &len));
  fail_unless (sniff_image_format (data, len) == ImageFormat::Png);
  g_bytes_unref (bytes);
  fail_unless (encode_image (rgb, ImageFormat::Gif, 0, error) == nullptr);

  DecodedImage empty;
  fail_if (encode_png (empty, out, error));
  fail_if (encode_jpeg (empty, 90, out, error));
  fail_if (encode_webp (empty, true, 100, out, error));
}
GST_END_TEST;

/* Pro 4K must render and encode in a few seconds at most. */
GST_START_TEST (test_4k_speed)
{
  for (auto [w, h] : {std::pair {4096, 4096}, std::pair {5504, 3072}}) {
    const gint64 start = g_get_monotonic_time ();
    RenderParams p {"a 4K test prompt", "gemini-3-pro-image", w, h, {}, std::nullopt, ""};
    DecodedImage img = render_image (p);
    std::string jpeg, error;
    fail_unless (encode_jpeg (img, 90, jpeg, error), "%s", error.c_str ());
    const gint64 ms = (g_get_monotonic_time () - start) / 1000;
    GST_INFO ("%dx%d rendered and encoded in %" G_GINT64_FORMAT " ms (%zu bytes)", w, h, ms, jpeg.size ());
    fail_unless (ms < 4000, "%dx%d took %" G_GINT64_FORMAT " ms", w, h, ms);
    DecodedImage back = decode_as (jpeg, ImageFormat::Jpeg);
    fail_unless_equals_int (back.width, w);
    expect_color (pixel_at (back, 10, 10), prompt_color (p.prompt), 6, "4K background");
  }
}
GST_END_TEST;

static Suite *
emulator_image_suite (void)
{
  Suite *s = suite_create ("emulator-image");
  TCase *tc = tcase_create ("image");
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_size_tables);
  tcase_add_test (tc, test_closest_aspect_ratio);
  tcase_add_test (tc, test_prompt_color);
  tcase_add_test (tc, test_mean_color);
  tcase_add_test (tc, test_layout);
  tcase_add_test (tc, test_encoders_round_trip);
  tcase_add_test (tc, test_4k_speed);
  suite_add_tcase (s, tc);
  return s;
}

GST_CHECK_MAIN (emulator_image);

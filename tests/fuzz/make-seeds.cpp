/* gst-gemini: writes the seed corpus for fuzz-response.
 *
 *   make-seeds RECORDED_DIR OUT_DIR
 *
 * OUT_DIR/full/   one seed per recorded interaction (every .yaml file in
 *                 RECORDED_DIR, read with the emulator's cassette reader):
 *                 the response body as recorded, MB-sized base64 and
 *                 thoughtSignature included.
 * OUT_DIR/small/  the same bodies with every string longer than 4 KiB
 *                 replaced by a tiny valid value (inlineData.data: base64 of
 *                 an 8x8 PNG or JPEG made with the emulator's encoders,
 *                 matching the declared mimeType; anything else, e.g.
 *                 thoughtSignature: a short base64 string), plus hand-written
 *                 bodies: Google error objects with RetryInfo, QuotaFailure
 *                 and ErrorInfo, Vertex's [{"error": ...}], promptFeedback,
 *                 finishReason variants, thought images, WebP and
 *                 GIF images, Retry-After values, out-of-range numbers,
 *                 nesting deeper than the parser's limit, redirects,
 *                 absurd retry delays, odd error codes.
 * OUT_DIR/png/   fuzz-png's seeds: small PNGs of several variants (8-bit
 *                 RGB and RGBA with each filter and many IDATs, with gAMA
 *                 and sRGB, grey, palette with tRNS, 16-bit, interlaced),
 *                 each after a flags byte; OUT_DIR/png-corpus/ empty, for
 *                 what fuzz-png finds.
 *
 * Every seed in full/ and small/ is in fuzz-response's input layout: one
 * status/flags byte, optionally a Retry-After header, then the body.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <png.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cassette.h"
#include "image-encode.h"

namespace {

constexpr gsize kLongString = 4096;

/* fuzz-response's status index for an HTTP status
 * (200, 400, 429, 500, 503, 302, 301, 404). */
guint8
status_byte (guint status)
{
  switch (status) {
    case 400: return 1;
    case 429: return 2;
    case 500: return 3;
    case 503: return 4;
    case 302: return 5;
    case 301: return 6;
    case 404: return 7;
    default: return 0;
  }
}

std::string
frame (guint status, const char *retry_after, const std::string & body)
{
  std::string out;
  guint8 b0 = status_byte (status);
  if (retry_after) {
    gsize n = std::min<gsize> (strlen (retry_after), 31);
    out += (char) (b0 | 0x80);
    out += (char) n;
    out.append (retry_after, n);
  } else {
    out += (char) b0;
  }
  return out + body;
}

void
write_file (const std::string & dir, const std::string & name, const std::string & data)
{
  std::string path = dir + "/" + name;
  GError *err = nullptr;
  if (!g_file_set_contents (path.c_str (), data.data (), (gssize) data.size (), &err))
    g_error ("make-seeds: cannot write %s: %s", path.c_str (), err->message);
}

/* An 8x8 RGB gradient, so the seeds' images decode to something real. */
gemini::DecodedImage
tiny_rgb ()
{
  gemini::DecodedImage img = gemini::emulator::allocate_image (8, 8, false);
  for (int y = 0; y < 8; y++)
    for (int x = 0; x < 8; x++) {
      guint8 *p = img.pixels.get () + y * img.stride + x * 3;
      p[0] = (guint8) (x * 32);
      p[1] = (guint8) (y * 32);
      p[2] = 128;
    }
  return img;
}

/* The gradient as PNG, JPEG (quality 80) or lossless WebP, with the
 * emulator's encoders. */
std::string
encode_tiny (gemini::ImageFormat format)
{
  using namespace gemini::emulator;
  const gemini::DecodedImage img = tiny_rgb ();
  std::string out, error;
  const bool ok = format == gemini::ImageFormat::Png ? encode_png (img, out, error)
      : format == gemini::ImageFormat::Jpeg ? encode_jpeg (img, 80, out, error)
      : encode_webp (img, true, 100, out, error);
  if (!ok)
    g_error ("make-seeds: encoding the 8x8 image: %s", error.c_str ());
  return out;
}

std::string
base64 (const std::string & bytes)
{
  gchar *b64 = g_base64_encode (reinterpret_cast<const guchar *> (bytes.data ()), bytes.size ());
  std::string out (b64);
  g_free (b64);
  return out;
}

struct Tiny {
  std::string png_b64 = base64 (encode_tiny (gemini::ImageFormat::Png));
  std::string jpeg_b64 = base64 (encode_tiny (gemini::ImageFormat::Jpeg));
  std::string webp_b64 = base64 (encode_tiny (gemini::ImageFormat::Webp));
  /* A GIF header: sniffed, then refused as a format Gemini does not send. */
  std::string gif_b64 = base64 (std::string ("GIF89a\x08\x00\x08\x00\x80\x00\x00", 13));
  std::string signature_b64 = base64 ("tiny thought signature");
};

/* Replaces every string longer than kLongString, in place. */
void
shrink (JsonNode * node, const Tiny & tiny, guint & replaced)
{
  if (JSON_NODE_HOLDS_ARRAY (node)) {
    JsonArray *a = json_node_get_array (node);
    for (guint i = 0; i < json_array_get_length (a); i++)
      shrink (json_array_get_element (a, i), tiny, replaced);
    return;
  }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return;
  JsonObject *o = json_node_get_object (node);
  const char *mime = nullptr;
  for (const char *key : { "mimeType", "mime_type" }) {
    JsonNode *m = json_object_get_member (o, key);
    if (m && JSON_NODE_HOLDS_VALUE (m) && json_node_get_value_type (m) == G_TYPE_STRING)
      mime = json_node_get_string (m);
  }
  GList *members = json_object_get_members (o);
  for (GList *l = members; l; l = l->next) {
    const char *name = static_cast<const char *> (l->data);
    JsonNode *child = json_object_get_member (o, name);
    if (JSON_NODE_HOLDS_VALUE (child) && json_node_get_value_type (child) == G_TYPE_STRING) {
      const char *s = json_node_get_string (child);
      if (strlen (s) <= kLongString)
        continue;
      const std::string *value = &tiny.signature_b64;
      if (g_str_equal (name, "data"))
        value = (mime && g_str_equal (mime, "image/jpeg")) ? &tiny.jpeg_b64 : &tiny.png_b64;
      json_node_set_string (child, value->c_str ());
      replaced++;
    } else {
      shrink (child, tiny, replaced);
    }
  }
  g_list_free (members);
}

std::string
to_json (JsonNode * node)
{
  JsonGenerator *gen = json_generator_new ();
  json_generator_set_root (gen, node);
  gsize length = 0;
  gchar *text = json_generator_to_data (gen, &length);
  std::string out (text, length);
  g_free (text);
  g_object_unref (gen);
  return out;
}

std::string
repeat (const std::string & unit, gsize times)
{
  std::string out;
  out.reserve (unit.size () * times);
  for (gsize i = 0; i < times; i++)
    out += unit;
  return out;
}

/* Hand-written bodies for what the recordings do not cover. */
struct HandSeed {
  const char *name;
  guint status;
  const char *retry_after;  /* for a 3xx: the redirect target */
  std::string body;
};

std::vector<HandSeed>
hand_seeds (const Tiny & tiny)
{
  const std::string png = tiny.png_b64, jpeg = tiny.jpeg_b64;
  return {
    { "error-429-retryinfo-quota", 429, nullptr,
      R"({"error":{"code":429,"message":"You exceeded your current quota. Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 0","status":"RESOURCE_EXHAUSTED","details":[)"
      R"({"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerDayPerProjectPerModel-FreeTier","quotaDimensions":{"location":"global","model":"gemini-2.5-flash-image"}}]},)"
      R"({"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},)"
      R"({"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"53s"}]}})" },
    { "error-429-per-minute", 429, "34",
      R"({"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaId":"GenerateRequestsPerMinutePerProjectPerModel"}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"34.482s"}]}})" },
    { "error-400-api-key", 400, nullptr,
      R"({"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}},{"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US","message":"API key not valid. Please pass a valid API key."}]}})" },
    { "error-404-model", 404, nullptr,
      R"({"error":{"code":404,"message":"models/gemini-9-imaginary is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.","status":"NOT_FOUND"}})" },
    { "list-models-page", 200, nullptr,
      R"({"models":[{"name":"models/gemini-2.5-flash","version":"001","displayName":"Gemini 2.5 Flash","inputTokenLimit":1048576,"supportedGenerationMethods":["generateContent","countTokens"],"thinking":true},)"
      R"({"name":"models/imagen-4.0-generate-001","displayName":"Imagen 4","supportedGenerationMethods":["predict"]},)"
      R"({"name":"models/gemini-3-pro-image","displayName":"Nano Banana Pro","supportedGenerationMethods":["generateContent","countTokens"]}],"nextPageToken":"Cg9nZW1pbmktMy1wcm8=="})" },
    { "error-500-internal", 500, nullptr,
      R"({"error":{"code":500,"message":"An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting","status":"INTERNAL"}})" },
    { "error-503-overloaded", 503, "Wed, 21 Oct 2015 07:28:00 GMT",
      R"({"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}})" },
    { "error-503-html", 503, "120",
      "<html><head><title>503 Service Unavailable</title></head><body>upstream connect error</body></html>" },
    { "vertex-error-array", 429, nullptr,
      R"([{"error":{"code":429,"message":"Resource exhausted. Please try again later.","status":"RESOURCE_EXHAUSTED"}}])" },
    { "error-in-200", 200, nullptr,
      R"({"error":{"code":500,"message":"Internal error encountered.","status":"INTERNAL","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}]}})" },
    { "prompt-blocked", 200, nullptr,
      R"({"promptFeedback":{"blockReason":"PROHIBITED_CONTENT","blockReasonMessage":"The prompt was blocked.","safetyRatings":[{"category":"HARM_CATEGORY_SEXUALLY_EXPLICIT","probability":"HIGH","blocked":true}]},"usageMetadata":{"promptTokenCount":8,"totalTokenCount":8},"modelVersion":"gemini-2.5-flash-image","responseId":"abc"})" },
    { "finish-image-safety", 200, nullptr,
      R"({"candidates":[{"content":{"role":"model"},"finishReason":"IMAGE_SAFETY","finishMessage":"Unable to show the generated image.","index":0}],"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9}})" },
    { "finish-no-image", 200, nullptr,
      R"({"candidates":[{"content":{"parts":[{"text":"I can only describe it."}],"role":"model"},"finishReason":"NO_IMAGE","index":0}]})" },
    { "finish-image-other", 200, nullptr,
      R"({"candidates":[{"finishReason":"IMAGE_OTHER","finishMessage":"Image generation failed."}]})" },
    { "finish-max-tokens", 200, nullptr,
      R"({"candidates":[{"content":{"parts":[{"text":"Here is"}],"role":"model"},"finishReason":"MAX_TOKENS"}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":8192,"thoughtsTokenCount":12,"totalTokenCount":8213}})" },
    { "finish-recitation", 200, nullptr,
      R"({"candidates":[{"content":{"parts":[{"text":"x","thought":true}]},"finishReason":"RECITATION"}]})" },
    { "text-only", 200, nullptr,
      R"({"candidates":[{"content":{"parts":[{"text":"A banana astronaut floats above the Earth."},{"text":"thinking...","thought":true}],"role":"model"},"finishReason":"STOP"}]})" },
    { "thought-images-then-final", 200, nullptr,
      R"({"candidates":[{"content":{"parts":[{"inlineData":{"mimeType":"image/png","data":")" + png
      + R"("},"thought":true},{"text":"Here it is."},{"inlineData":{"mimeType":"image/jpeg","data":")" + jpeg
      + R"("},"thoughtSignature":"c2ln"}],"role":"model"},"finishReason":"STOP"}]})" },
    { "webp-image", 200, nullptr,
      R"({"candidates":[{"content":{"parts":[{"inlineData":{"mimeType":"image/webp","data":")" + tiny.webp_b64
      + R"("}}]},"finishReason":"STOP"}]})" },
    { "gif-image", 200, nullptr,
      R"({"candidates":[{"content":{"parts":[{"inlineData":{"mimeType":"image/gif","data":")" + tiny.gif_b64
      + R"("}}]},"finishReason":"STOP"}]})" },
    { "snake-case-inline-data", 200, nullptr,
      R"({"candidates":[{"content":{"parts":[{"inline_data":{"mime_type":"image/png","data":")" + png + R"("}}]}}]})" },
    { "corrupt-base64", 200, nullptr,
      R"({"candidates":[{"content":{"parts":[{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo*AAAA"}}]},"finishReason":"STOP"}]})" },
    { "wrong-types", 200, nullptr,
      R"({"candidates":[{"content":{"parts":[{"inlineData":{"mimeType":7,"data":true}},{"text":null},3]},"finishReason":1}],"usageMetadata":{"promptTokenCount":"9","totalTokenCount":1.5e3}})" },
    { "huge-numbers", 200, nullptr,
      R"({"promptFeedback":{"blockReason":"OTHER"},"usageMetadata":{"promptTokenCount":1e300,"totalTokenCount":-1e300}})" },
    { "error-code-out-of-range", 200, nullptr, R"({"error":{"code":1e19,"message":"x"}})" },
    { "no-candidates", 200, nullptr, R"({"candidates":[],"modelVersion":"x"})" },
    { "not-an-object", 200, nullptr, R"([1,2,3])" },
    { "empty", 200, nullptr, "" },
    { "duration-line", 200, nullptr, "34.482s\n" },
    { "retry-after-line", 200, nullptr, "Wed, 21 Oct 2015 07:28:00 GMT\n" },
    { "base64-body", 200, nullptr, png },
    { "base64-unpadded", 200, nullptr, "QUJDRA" },
    /* Nesting that overflowed json-glib's recursive parser (issue 6): 100
     * and 150 KB, under the fuzzing run's -max_len. */
    { "deep-nesting-arrays", 500, nullptr, std::string (100000, '[') },
    { "deep-nesting-objects", 200, nullptr, repeat ("{\"a\":", 25000) + "1" + std::string (25000, '}') },
    { "brackets-in-strings", 200, nullptr,
      R"({"candidates":[{"content":{"parts":[{"text":"\"[[{{\\"},{"text":"\u005b\ud83d\ude00"}]},"finishReason":"STOP"}]})" },
    { "comment-and-single-quotes", 200, nullptr, R"({/* " */ 'candidates': [[["x"]]]})" },
    { "absurd-retry-delays", 429, "99999999999",
      R"({"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1e10s"}]}})" },
    { "error-code-negative", 200, nullptr, R"({"error":{"code":-5,"message":"Something odd.","status":"UNKNOWN"}})" },
    { "finish-message-full-stop", 200, nullptr,
      R"({"candidates":[{"finishReason":"IMAGE_SAFETY","finishMessage":"Unable to show the generated image.."}]})" },
    { "redirect-with-userinfo", 302, "http://u:pw@other.example:81/x", "<html>Found</html>" },
    { "redirect-without-location", 301, nullptr, "" },
    { "not-found-html", 404, nullptr, "<html><body>Not Found</body></html>" },
  };
}

/* Empties a seed directory, so that renamed or dropped seeds do not linger. */
void
clear_dir (const std::string & path)
{
  GDir *dir = g_dir_open (path.c_str (), 0, nullptr);
  if (!dir)
    return;
  while (const char *name = g_dir_read_name (dir))
    g_remove ((path + "/" + name).c_str ());
  g_dir_close (dir);
}

extern "C" void
png_append (png_structp png, png_bytep data, png_size_t len)
{
  static_cast<std::string *> (png_get_io_ptr (png))->append (reinterpret_cast<const char *> (data), len);
}

extern "C" void
png_no_flush (png_structp)
{
}

struct PngSeed {
  const char *name;
  int color_type;
  int bit_depth;
  bool interlaced;
  int filters;       /* png_set_filter's mask, 0: libpng's choice */
  gsize idat_size;   /* 0: libpng's */
  bool gamma_srgb;   /* gAMA and sRGB chunks */
};

/* A 12x9 PNG of the variant, its samples a gradient with some noise. */
std::string
png_seed (const PngSeed & seed)
{
  std::string out;
  png_structp png = png_create_write_struct (PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct (png);
  png_set_write_fn (png, &out, png_append, png_no_flush);
  if (seed.filters)
    png_set_filter (png, PNG_FILTER_TYPE_BASE, seed.filters);
  if (seed.idat_size)
    png_set_compression_buffer_size (png, seed.idat_size);
  const int w = 12, h = 9;
  png_set_IHDR (png, info, w, h, seed.bit_depth, seed.color_type,
      seed.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
      PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (seed.color_type == PNG_COLOR_TYPE_PALETTE) {
    png_color palette[16];
    png_byte trns[16];
    for (int i = 0; i < 16; i++) {
      palette[i] = {static_cast<png_byte> (i * 16), static_cast<png_byte> (255 - i * 8), 77};
      trns[i] = static_cast<png_byte> (i * 17);
    }
    png_set_PLTE (png, info, palette, 16);
    png_set_tRNS (png, info, trns, 16, nullptr);
  }
  if (seed.gamma_srgb) {
    png_set_sRGB (png, info, PNG_sRGB_INTENT_PERCEPTUAL);
    png_set_gAMA_fixed (png, info, 45455);  /* sRGB's, 1/2.2 */
  }
  png_write_info (png, info);
  const int channels = png_get_channels (png, info);
  const gsize row_bytes = (gsize (w) * channels * seed.bit_depth + 7) / 8;
  std::vector<png_byte> rows (row_bytes * h);
  guint32 noise = 12345;
  for (gsize i = 0; i < rows.size (); i++) {
    noise = noise * 1103515245 + 12345;
    rows[i] = static_cast<png_byte> ((i % row_bytes) * 7 + (i / row_bytes) * 5 + ((noise >> 16) & 7));
  }
  int passes = png_set_interlace_handling (png);
  for (int pass = 0; pass < passes; pass++)
    for (int y = 0; y < h; y++)
      png_write_row (png, rows.data () + y * row_bytes);
  png_write_end (png, info);
  png_destroy_write_struct (&png, &info);
  return out;
}

void
write_png_seeds (const std::string & dir)
{
  const PngSeed seeds[] = {
    {"rgb", PNG_COLOR_TYPE_RGB, 8, false, 0, 0, false},
    {"rgb-paeth", PNG_COLOR_TYPE_RGB, 8, false, PNG_FILTER_PAETH, 0, false},
    {"rgb-avg-idats", PNG_COLOR_TYPE_RGB, 8, false, PNG_FILTER_AVG, 16, true},
    {"rgba-sub", PNG_COLOR_TYPE_RGB_ALPHA, 8, false, PNG_FILTER_SUB, 0, false},
    {"rgba-up-idats", PNG_COLOR_TYPE_RGB_ALPHA, 8, false, PNG_FILTER_UP, 32, true},
    {"rgb-interlaced", PNG_COLOR_TYPE_RGB, 8, true, 0, 0, false},
    {"gray", PNG_COLOR_TYPE_GRAY, 8, false, 0, 0, false},
    {"palette-trns", PNG_COLOR_TYPE_PALETTE, 4, false, 0, 0, false},
    {"rgba16", PNG_COLOR_TYPE_RGB_ALPHA, 16, false, 0, 0, false},
  };
  for (const PngSeed & seed : seeds) {
    std::string png = png_seed (seed);
    /* Flags: 0 as it is, 1 to RGBA, 2 and 3 the same with CRCs fixed. */
    write_file (dir, std::string (seed.name), std::string (1, '\0') + png);
    write_file (dir, std::string (seed.name) + "-rgba-fixcrc", std::string (1, '\3') + png);
  }
}

}  // namespace

int
main (int argc, char **argv)
{
  if (argc != 3) {
    g_printerr ("usage: %s RECORDED_DIR OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string recorded = argv[1], out = argv[2];
  const std::string full_dir = out + "/full", small_dir = out + "/small";
  if (g_mkdir_with_parents (full_dir.c_str (), 0755) != 0 || g_mkdir_with_parents (small_dir.c_str (), 0755) != 0)
    g_error ("make-seeds: cannot create %s", out.c_str ());
  clear_dir (full_dir);
  clear_dir (small_dir);
  const std::string png_dir = out + "/png", png_corpus_dir = out + "/png-corpus";
  if (g_mkdir_with_parents (png_dir.c_str (), 0755) != 0 || g_mkdir_with_parents (png_corpus_dir.c_str (), 0755) != 0)
    g_error ("make-seeds: cannot create %s", out.c_str ());
  clear_dir (png_dir);
  clear_dir (png_corpus_dir);
  write_png_seeds (png_dir);

  Tiny tiny;
  guint full = 0, small = 0;

  GError *err = nullptr;
  GDir *dir = g_dir_open (recorded.c_str (), 0, &err);
  if (!dir)
    g_error ("make-seeds: %s", err->message);
  std::vector<std::string> names;
  while (const char *name = g_dir_read_name (dir))
    if (g_str_has_suffix (name, ".yaml"))
      names.emplace_back (name);
  g_dir_close (dir);
  std::sort (names.begin (), names.end ());
  if (names.empty ())
    g_error ("make-seeds: no *.yaml in %s", recorded.c_str ());

  for (const std::string & name : names) {
    std::vector<gemini::emulator::Interaction> interactions;
    std::string error;
    if (!gemini::emulator::load_cassette (recorded + "/" + name, interactions, error))
      g_error ("make-seeds: %s: %s", name.c_str (), error.c_str ());
    std::string stem = name.substr (0, name.size () - strlen (".yaml"));
    for (gsize i = 0; i < interactions.size (); i++) {
      const auto & ia = interactions[i];
      if (!ia.response_body)
        continue;
      const char *retry_after = ia.response_header ("retry-after");
      std::string seed_name = stem + "-" + std::to_string (i);
      std::string body = to_json (ia.response_body.get ());
      write_file (full_dir, seed_name, frame (ia.status, retry_after, body));
      full++;
      /* A fresh, mutable tree (json_node_copy () would share the objects). */
      std::string json_error;
      gemini::JsonNodePtr copy = gemini::parse_json (body.data (), body.size (), json_error);
      if (!copy)
        g_error ("make-seeds: %s: %s", seed_name.c_str (), json_error.c_str ());
      guint replaced = 0;
      shrink (copy.get (), tiny, replaced);
      write_file (small_dir, seed_name + "-small", frame (ia.status, retry_after, to_json (copy.get ())));
      small++;
    }
  }

  for (const HandSeed & s : hand_seeds (tiny)) {
    write_file (small_dir, std::string ("hand-") + s.name, frame (s.status, s.retry_after, s.body));
    small++;
  }
  g_print ("make-seeds: %u full-size seeds in %s, %u small seeds in %s\n", full, full_dir.c_str (), small,
      small_dir.c_str ());
  return 0;
}

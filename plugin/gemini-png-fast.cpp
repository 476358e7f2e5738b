/* gst-gemini: fast decoding of 8-bit RGB/RGBA non-interlaced PNGs.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-png-fast.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <libdeflate.h>

#include "glib-raii.h"

namespace gemini {

namespace {

guint32
be32 (const guint8 * p)
{
  return (guint32 (p[0]) << 24) | (guint32 (p[1]) << 16) | (guint32 (p[2]) << 8) | p[3];
}

bool
is_type (const guint8 * chunk, const char *type)
{
  return std::memcmp (chunk + 4, type, 4) == 0;
}

/* libpng refuses wider or taller images (png_set_user_limits' defaults)
 * and any non-IDAT chunk longer than its chunk malloc limit; staying under
 * both keeps libpng's refusals libpng's. */
constexpr guint32 kLibpngMaxDimension = 1000000;
constexpr guint32 kLibpngMaxChunk = 8000000;

/* libdeflate inflates in one call that nothing can interrupt: larger
 * images go through libpng, which stops every 8 KB read. 32 MiB: a 4K UHD
 * RGB or 2.8K square RGBA image, about 0.1 s of inflating here (the Flash
 * answer's 3 MB: 9 ms). */
constexpr guint64 kMaxInflated = 32ull * 1024 * 1024;

/* sRGB's gamma, 1/2.2 in libpng's fixed point. libpng converts the samples
 * for a gAMA far enough from it (43000 and 50000 do, 45000 does not: tried),
 * so any other value is left to libpng. */
constexpr guint32 kSrgbGamma = 45455;

/* Rows unfiltered between two looks at `stop`. */
constexpr guint32 kRowsPerCheck = 16;

struct DecompressorFree {
  void operator() (libdeflate_decompressor * d) const { libdeflate_free_decompressor (d); }
};

guint8
paeth (int a, int b, int c)
{
  int pa = std::abs (b - c);
  int pb = std::abs (a - c);
  int pc = std::abs (a + b - 2 * c);
  if (pa <= pb && pa <= pc)
    return static_cast<guint8> (a);
  return static_cast<guint8> (pb <= pc ? b : c);
}

#ifdef __SSE2__
/* One pixel of BPP bytes in the low lanes of a vector, and back: Sub,
 * Average and Paeth depend on the pixel to the left, so they go a pixel at
 * a time, its 3 or 4 channels at once (as libpng's own SSE2 filters do).
 * The load takes 4 bytes even for 3: lanes are independent and the 4th is
 * never stored, and a 3-byte load would go through memory (a store-forward
 * stall per pixel). Rows are followed by at least one readable byte. */
__m128i
load_pixel (const guint8 * p)
{
  guint32 v;
  std::memcpy (&v, p, 4);
  return _mm_cvtsi32_si128 (static_cast<int> (v));
}

template <int BPP>
void
store_pixel (guint8 * p, __m128i v)
{
  guint32 x = static_cast<guint32> (_mm_cvtsi128_si32 (v));
  if constexpr (BPP == 4) {
    std::memcpy (p, &x, 4);
  } else {
    guint16 low = static_cast<guint16> (x);
    std::memcpy (p, &low, 2);
    p[2] = static_cast<guint8> (x >> 16);
  }
}

__m128i
abs_i16 (__m128i x)
{
  __m128i negative = _mm_cmplt_epi16 (x, _mm_setzero_si128 ());
  return _mm_sub_epi16 (_mm_xor_si128 (x, negative), negative);
}

__m128i
select (__m128i mask, __m128i yes, __m128i no)
{
  return _mm_or_si128 (_mm_and_si128 (mask, yes), _mm_andnot_si128 (mask, no));
}

/* Filters 1, 3 and 4 with a row above; false for any other. */
template <int BPP>
bool
unfilter_simd (guint8 filter, const guint8 * src, guint8 * cur,
    const guint8 * prev, gsize n)
{
  const __m128i zero = _mm_setzero_si128 ();
  __m128i a = zero;
  switch (filter) {
    case 1:
      for (gsize i = 0; i < n; i += BPP) {
        a = _mm_add_epi8 (a, load_pixel (src + i));
        store_pixel<BPP> (cur + i, a);
      }
      return true;
    case 3:
      for (gsize i = 0; i < n; i += BPP) {
        __m128i b = load_pixel (prev + i);
        /* A truncating average: pavgb rounds up, so take the odd bit back. */
        __m128i avg = _mm_sub_epi8 (_mm_avg_epu8 (a, b),
            _mm_and_si128 (_mm_xor_si128 (a, b), _mm_set1_epi8 (1)));
        a = _mm_add_epi8 (load_pixel (src + i), avg);
        store_pixel<BPP> (cur + i, a);
      }
      return true;
    case 4: {
      /* 16-bit lanes: a + b - c needs the sign. */
      __m128i b = zero;
      for (gsize i = 0; i < n; i += BPP) {
        __m128i c = b;
        b = _mm_unpacklo_epi8 (load_pixel (prev + i), zero);
        __m128i pa = _mm_sub_epi16 (b, c);
        __m128i pb = _mm_sub_epi16 (a, c);
        __m128i pc = abs_i16 (_mm_add_epi16 (pa, pb));
        pa = abs_i16 (pa);
        pb = abs_i16 (pb);
        __m128i smallest = _mm_min_epi16 (pc, _mm_min_epi16 (pa, pb));
        __m128i nearest = select (_mm_cmpeq_epi16 (smallest, pa), a,
            select (_mm_cmpeq_epi16 (smallest, pb), b, c));
        __m128i x = _mm_unpacklo_epi8 (load_pixel (src + i), zero);
        /* Bytes wrap as the PNG spec says; the high bytes stay zero. */
        a = _mm_and_si128 (_mm_add_epi16 (x, nearest), _mm_set1_epi16 (0xff));
        store_pixel<BPP> (cur + i, _mm_packus_epi16 (a, a));
      }
      return true;
    }
    default:
      return false;
  }
}
#endif

/* Reverses one row's filter from `src` into `cur` (may be the same bytes);
 * `prev` is the reconstructed row above, null for the first row. BPP is
 * 3 or 4, so the compiler unrolls the per-pixel loops. */
template <int BPP>
bool
unfilter_row (guint8 filter, const guint8 * src, guint8 * cur,
    const guint8 * prev, gsize n)
{
  if (!prev) {
    /* Above the first row is zeros: Up is None, Paeth is Sub. */
    if (filter == 2)
      filter = 0;
    else if (filter == 4)
      filter = 1;
  }
#ifdef __SSE2__
  if (prev && filter != 0 && filter != 2)
    return unfilter_simd<BPP> (filter, src, cur, prev, n);
#endif
  switch (filter) {
    case 0:
      if (cur != src)
        std::memcpy (cur, src, n);
      return true;
    case 1:
      for (gsize i = 0; i < BPP; i++)
        cur[i] = src[i];
      for (gsize i = BPP; i < n; i++)
        cur[i] = static_cast<guint8> (src[i] + cur[i - BPP]);
      return true;
    case 2:
      for (gsize i = 0; i < n; i++)
        cur[i] = static_cast<guint8> (src[i] + prev[i]);
      return true;
    case 3:
      if (!prev) {
        for (gsize i = 0; i < BPP; i++)
          cur[i] = src[i];
        for (gsize i = BPP; i < n; i++)
          cur[i] = static_cast<guint8> (src[i] + (cur[i - BPP] >> 1));
        return true;
      }
      for (gsize i = 0; i < BPP; i++)
        cur[i] = static_cast<guint8> (src[i] + (prev[i] >> 1));
      for (gsize i = BPP; i < n; i++)
        cur[i] = static_cast<guint8> (src[i] + ((cur[i - BPP] + prev[i]) >> 1));
      return true;
    case 4:
      for (gsize i = 0; i < BPP; i++)
        cur[i] = static_cast<guint8> (src[i] + prev[i]);
      for (gsize i = BPP; i < n; i++)
        cur[i] = static_cast<guint8> (src[i]
            + paeth (cur[i - BPP], prev[i], prev[i - BPP]));
      return true;
    default:
      return false;
  }
}

/* RGB -> RGBA with A = 255. */
void
expand_row (const guint8 * rgb, guint8 * rgba, guint32 width)
{
  for (guint32 x = 0; x < width; x++, rgb += 3, rgba += 4) {
    rgba[0] = rgb[0];
    rgba[1] = rgb[1];
    rgba[2] = rgb[2];
    rgba[3] = 255;
  }
}

}  // namespace

bool
png_fast_parse (const guint8 * data, gsize size, PngFastPlan & plan)
{
  plan = PngFastPlan ();
  if (size < 8 || std::memcmp (data, "\x89PNG\r\n\x1a\n", 8) != 0)
    return false;
  gsize offset = 8;
  bool seen_ihdr = false, seen_gama = false, seen_srgb = false, seen_phys = false;
  while (true) {
    if (size - offset < 12)
      return false;  /* truncated */
    const guint8 *chunk = data + offset;
    guint32 length = be32 (chunk);
    if (length > kLibpngMaxChunk || length > size - offset - 12)
      return false;
    if (libdeflate_crc32 (0, chunk + 4, length + 4) != be32 (chunk + 8 + length))
      return false;
    const guint8 *body = chunk + 8;
    gsize next = offset + 12 + length;

    if (!seen_ihdr) {
      /* IHDR first, and only the layouts this decoder knows. */
      if (!is_type (chunk, "IHDR") || length != 13)
        return false;
      plan.width = be32 (body);
      plan.height = be32 (body + 4);
      if (plan.width == 0 || plan.height == 0 || plan.width > kLibpngMaxDimension
          || plan.height > kLibpngMaxDimension)
        return false;
      if (body[8] != 8 || (body[9] != 2 && body[9] != 6) || body[10] != 0
          || body[11] != 0 || body[12] != 0)
        return false;
      plan.alpha = body[9] == 6;
      seen_ihdr = true;
    } else if (is_type (chunk, "IDAT")) {
      /* Consecutive, as nothing but IEND may follow an IDAT (below). */
      if (plan.idat_count == 0)
        plan.first_idat = offset;
      plan.idat_count++;
      plan.idat_bytes += length;
    } else if (is_type (chunk, "IEND")) {
      /* Nothing after IEND either: libpng never reads it, but it is not
       * what an encoder writes. */
      return length == 0 && plan.idat_count > 0 && next == size;
    } else if (plan.idat_count > 0) {
      /* Chunks between the image data and IEND: libpng's to judge. */
      return false;
    } else if (is_type (chunk, "gAMA")) {
      if (seen_gama || length != 4 || be32 (body) != kSrgbGamma)
        return false;
      seen_gama = true;
    } else if (is_type (chunk, "sRGB")) {
      /* The rendering intent does not change the samples. */
      if (seen_srgb || length != 1 || body[0] > 3)
        return false;
      seen_srgb = true;
    } else if (is_type (chunk, "pHYs")) {
      if (seen_phys || length != 9 || body[8] > 1)
        return false;
      seen_phys = true;
    } else {
      /* tRNS adds alpha. cHRM, iCCP, sBIT and bKGD leave libpng's 8-bit
       * RGB(A) output as it is (tried), but a malformed one is libpng's to
       * judge, as are PLTE, text and unknown chunks. */
      return false;
    }
    offset = next;
  }
}

namespace {

/* Where the inflated rows go inside the output buffer: far enough in that
 * writing output row y never reaches inflated row y (nor y - 1, which the
 * RGB -> RGBA expansion reads as the row above). One allocation instead of
 * two saves a few MB of page faults per image. */
struct Layout {
  gsize rowbytes;   /* filtered bytes per row, without the filter byte */
  guint64 inflated; /* height * (1 + rowbytes) */
  guint64 offset;   /* of inflated row 0 in the buffer */
  guint64 capacity; /* buffer bytes: the rows, one spare byte for the SIMD loads */
};

Layout
layout (const PngFastPlan & plan, bool rgba, gsize stride)
{
  Layout l;
  const bool expand = rgba && !plan.alpha;
  l.rowbytes = gsize (plan.width) * (plan.alpha ? 4 : 3);
  const guint64 in_row = l.rowbytes + 1;
  const guint64 out_row = guint64 (plan.width) * ((plan.alpha || rgba) ? 4 : 3);
  l.inflated = guint64 (plan.height) * in_row;
  /* end of output row y - start of inflated row y, largest at the first or
   * the last row; the expansion keeps one row more in hand. */
  guint64 last = plan.height - 1;
  guint64 need = out_row;
  if (stride > in_row)
    need += last * (stride - in_row);
  l.offset = need + (expand ? in_row : 0);
  l.capacity = std::max<guint64> (guint64 (stride) * plan.height,
      l.offset + l.inflated + 1);
  return l;
}

}  // namespace

gsize
png_fast_buffer_size (const PngFastPlan & plan, bool rgba, gsize stride)
{
  Layout l = layout (plan, rgba, stride);
  if (l.inflated > kMaxInflated || l.capacity > G_MAXSIZE)
    return 0;
  return static_cast<gsize> (l.capacity);
}

PngFastStatus
png_fast_decode (const guint8 * data, const PngFastPlan & plan, bool rgba,
    guint8 * out, gsize stride, const std::function<bool ()> & stop)
{
  const Layout l = layout (plan, rgba, stride);
  const gsize rowbytes = l.rowbytes;
  if (l.inflated > kMaxInflated)
    return PngFastStatus::NotHandled;

  /* The zlib stream, in one piece: the IDAT data itself when there is a
   * single chunk, else a copy of the chunks' data end to end. */
  const guint8 *stream = data + plan.first_idat + 8;
  std::unique_ptr<guint8, GFreeDeleter> joined;
  if (plan.idat_count > 1) {
    joined.reset (static_cast<guint8 *> (g_try_malloc (plan.idat_bytes)));
    if (!joined)
      return PngFastStatus::NotHandled;
    const guint8 *chunk = data + plan.first_idat;
    gsize at = 0;
    for (guint i = 0; i < plan.idat_count; i++) {
      guint32 length = be32 (chunk);
      std::memcpy (joined.get () + at, chunk + 8, length);
      at += length;
      chunk += 12 + length;
    }
    stream = joined.get ();
  }
  if (stop ())
    return PngFastStatus::Stopped;

  guint8 *raw = out + l.offset;
  std::unique_ptr<libdeflate_decompressor, DecompressorFree> inflater (
      libdeflate_alloc_decompressor ());
  if (!inflater)
    return PngFastStatus::NotHandled;
  /* Exactly the image's bytes, the whole stream and nothing after it.
   * libdeflate refuses what zlib refuses, with one known exception: a
   * Huffman code of a single symbol, which libdeflate also reads from the
   * codeword 1 and also allows for the code-length code. No encoder writes
   * that; such a stream can decode here where libpng fails. */
  size_t used_in = 0;
  if (libdeflate_zlib_decompress_ex (inflater.get (), stream, plan.idat_bytes,
          raw, l.inflated, &used_in, nullptr) != LIBDEFLATE_SUCCESS
      || used_in != plan.idat_bytes)
    return PngFastStatus::NotHandled;
  inflater.reset ();
  joined.reset ();
  if (stop ())
    return PngFastStatus::Stopped;

  const bool expand = rgba && !plan.alpha;
  const guint8 *prev = nullptr;
  for (guint32 y = 0; y < plan.height; y++) {
    if (y % kRowsPerCheck == kRowsPerCheck - 1 && stop ())
      return PngFastStatus::Stopped;
    guint8 *src = raw + y * (rowbytes + 1);
    guint8 *row = out + y * stride;
    bool ok;
    if (expand) {
      /* Reconstructed in place, where the next row's filter finds it, and
       * widened into the output while it is still in cache. */
      ok = unfilter_row<3> (src[0], src + 1, src + 1, prev, rowbytes);
      expand_row (src + 1, row, plan.width);
      prev = src + 1;
    } else {
      ok = plan.alpha ? unfilter_row<4> (src[0], src + 1, row, prev, rowbytes)
          : unfilter_row<3> (src[0], src + 1, row, prev, rowbytes);
      prev = row;
    }
    if (!ok)
      return PngFastStatus::NotHandled;
  }
  return PngFastStatus::Ok;
}

}  // namespace gemini

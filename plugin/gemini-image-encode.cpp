/* gst-gemini: PNG / JPEG / WebP encoders. See gemini-image-encode.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-image-encode.h"

#include <csetjmp>
#include <cstdio>
#include <cstdlib>

#include <jpeglib.h>
#include <png.h>
#include <webp/encode.h>

namespace gemini {

namespace {

bool
check_image (const DecodedImage & image, std::string & error)
{
  const gsize bpp = image.has_alpha ? 4 : 3;
  if (image.width <= 0 || image.height <= 0 || !image.pixels) {
    error = "cannot encode an empty image";
    return false;
  }
  if (image.stride < bpp * static_cast<gsize> (image.width) ||
      image.size < image.stride * static_cast<gsize> (image.height)) {
    error = "image stride or size is too small for its width and height";
    return false;
  }
  return true;
}

/* ---- PNG ---- */

void
png_append (png_structp png, png_bytep data, size_t len)
{
  static_cast<std::string *> (png_get_io_ptr (png))->append (reinterpret_cast<char *> (data), len);
}

void
png_flush_noop (png_structp)
{
}

[[noreturn]] void
png_fail (png_structp png, png_const_charp msg)
{
  *static_cast<std::string *> (png_get_error_ptr (png)) = msg;
  png_longjmp (png, 1);
}

void
png_warn_ignore (png_structp, png_const_charp)
{
}

/* Kept free of C++ objects with destructors: libpng errors longjmp out. */
bool
write_png (png_structp png, png_infop info, const DecodedImage * image, std::string * out)
{
  if (setjmp (png_jmpbuf (png)))
    return false;
  png_set_write_fn (png, out, png_append, png_flush_noop);
  png_set_IHDR (png, info, image->width, image->height, 8,
      image->has_alpha ? PNG_COLOR_TYPE_RGBA : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
      PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_set_compression_level (png, 1);
  png_write_info (png, info);
  for (int y = 0; y < image->height; y++)
    png_write_row (png, image->pixels.get () + image->stride * static_cast<gsize> (y));
  png_write_end (png, nullptr);
  return true;
}

/* ---- JPEG ---- */

struct JpegError {
  jpeg_error_mgr mgr;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void
jpeg_fail (j_common_ptr cinfo)
{
  auto *err = reinterpret_cast<JpegError *> (cinfo->err);
  cinfo->err->format_message (cinfo, err->message);
  longjmp (err->jump, 1);
}

void
jpeg_silence (j_common_ptr, int)
{
}

/* Same rule as write_png: nothing with a destructor lives in this frame. */
bool
write_jpeg (jpeg_compress_struct * cinfo, JpegError * err, const DecodedImage * image,
    int quality, unsigned char ** buf, unsigned long * size)
{
  if (setjmp (err->jump))
    return false;
  jpeg_create_compress (cinfo);
  jpeg_mem_dest (cinfo, buf, size);
  cinfo->image_width = static_cast<JDIMENSION> (image->width);
  cinfo->image_height = static_cast<JDIMENSION> (image->height);
  cinfo->input_components = image->has_alpha ? 4 : 3;
  cinfo->in_color_space = image->has_alpha ? JCS_EXT_RGBX : JCS_RGB;
  jpeg_set_defaults (cinfo);
  jpeg_set_quality (cinfo, quality, TRUE);
  jpeg_start_compress (cinfo, TRUE);
  while (cinfo->next_scanline < cinfo->image_height) {
    JSAMPROW row = image->pixels.get () + image->stride * cinfo->next_scanline;
    jpeg_write_scanlines (cinfo, &row, 1);
  }
  jpeg_finish_compress (cinfo);
  return true;
}

}  // namespace

DecodedImage
allocate_image (int width, int height, bool has_alpha)
{
  DecodedImage img;
  img.width = width;
  img.height = height;
  img.has_alpha = has_alpha;
  img.stride = (static_cast<gsize> (width) * (has_alpha ? 4 : 3) + 3) & ~static_cast<gsize> (3);
  img.size = img.stride * static_cast<gsize> (height);
  img.pixels.reset (static_cast<guint8 *> (g_malloc0 (MAX (img.size, 1))));
  return img;
}

bool
encode_png (const DecodedImage & image, std::string & out, std::string & error)
{
  if (!check_image (image, error))
    return false;
  std::string png_error = "PNG encoder failed";
  png_structp png = png_create_write_struct (PNG_LIBPNG_VER_STRING, &png_error, png_fail,
      png_warn_ignore);
  png_infop info = png ? png_create_info_struct (png) : nullptr;
  std::string data;
  bool ok = info && write_png (png, info, &image, &data);
  png_destroy_write_struct (&png, &info);
  if (!ok) {
    error = png_error;
    return false;
  }
  out = std::move (data);
  return true;
}

bool
encode_jpeg (const DecodedImage & image, int quality, std::string & out, std::string & error)
{
  if (!check_image (image, error))
    return false;
  jpeg_compress_struct cinfo {};
  JpegError err {};
  cinfo.err = jpeg_std_error (&err.mgr);
  err.mgr.error_exit = jpeg_fail;
  err.mgr.emit_message = jpeg_silence;
  unsigned char *buf = nullptr;
  unsigned long size = 0;
  bool ok = write_jpeg (&cinfo, &err, &image, CLAMP (quality, 1, 100), &buf, &size);
  jpeg_destroy_compress (&cinfo);
  if (ok)
    out.assign (reinterpret_cast<char *> (buf), size);
  else
    error = std::string ("JPEG encoder failed: ") + err.message;
  free (buf);
  return ok;
}

bool
encode_webp (const DecodedImage & image, bool lossless, int quality, std::string & out,
    std::string & error)
{
  if (!check_image (image, error))
    return false;
  if (image.width > WEBP_MAX_DIMENSION || image.height > WEBP_MAX_DIMENSION) {
    error = "image is too large for WebP (max 16383 pixels per side)";
    return false;
  }
  const guint8 *px = image.pixels.get ();
  const int stride = static_cast<int> (image.stride);
  const float q = static_cast<float> (CLAMP (quality, 0, 100));
  uint8_t *buf = nullptr;
  size_t size;
  if (lossless)
    size = image.has_alpha ? WebPEncodeLosslessRGBA (px, image.width, image.height, stride, &buf)
                           : WebPEncodeLosslessRGB (px, image.width, image.height, stride, &buf);
  else
    size = image.has_alpha ? WebPEncodeRGBA (px, image.width, image.height, stride, q, &buf)
                           : WebPEncodeRGB (px, image.width, image.height, stride, q, &buf);
  if (size == 0) {
    WebPFree (buf);
    error = "WebP encoder failed";
    return false;
  }
  out.assign (reinterpret_cast<char *> (buf), size);
  WebPFree (buf);
  return true;
}

GBytes *
encode_image (const DecodedImage & image, ImageFormat format, int quality, std::string & error)
{
  std::string data;
  bool ok = false;
  switch (format) {
    case ImageFormat::Png:
      ok = encode_png (image, data, error);
      break;
    case ImageFormat::Jpeg:
      ok = encode_jpeg (image, quality, data, error);
      break;
    case ImageFormat::Webp:
      ok = encode_webp (image, quality >= 100, quality, data, error);
      break;
    default:
      error = "unsupported output format";
      break;
  }
  if (!ok)
    return nullptr;
  auto *owned = new std::string (std::move (data));
  return g_bytes_new_with_free_func (owned->data (), owned->size (),
      [] (gpointer p) { delete static_cast<std::string *> (p); }, owned);
}

}  // namespace gemini

/* gst-gemini: reference images named by the reference-images property.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-reference.h"

#include <glib/gstdio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gemini-image.h"

namespace gemini {

namespace {

const char *
file_kind (mode_t mode)
{
  if (S_ISDIR (mode)) return "a directory";
  if (S_ISFIFO (mode)) return "a FIFO";
  if (S_ISCHR (mode)) return "a character device";
  if (S_ISBLK (mode)) return "a block device";
  if (S_ISSOCK (mode)) return "a socket";
  return "not a regular file";
}

struct Fd {
  int fd;
  ~Fd () { if (fd >= 0) close (fd); }
};

/* Reads at most `budget` + 1 bytes: one more than allowed proves "too big"
 * without reading a 2 GiB file whole. */
bool
read_bounded (const std::string & path, gsize budget, GBytesPtr & out, ReferenceError & kind,
    std::string & error)
{
  /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
   * writer, and the state change with it. */
  Fd f {g_open (path.c_str (), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0)};
  if (f.fd < 0) {
    kind = ReferenceError::OpenRead;
    error = std::string ("could not be opened: ") + g_strerror (errno);
    return false;
  }
  struct stat st;
  if (fstat (f.fd, &st) != 0) {
    kind = ReferenceError::OpenRead;
    error = std::string ("could not be examined: ") + g_strerror (errno);
    return false;
  }
  if (!S_ISREG (st.st_mode)) {
    kind = ReferenceError::Settings;
    error = std::string ("is ") + file_kind (st.st_mode) + ", not a regular file: name an image file";
    return false;
  }
  /* `size` is exact from fstat; a file that grew while read is "larger". */
  auto too_big = [&] (guint64 size, bool exact) {
    kind = ReferenceError::Settings;
    GCharPtr s (g_strdup_printf ("is %s%" G_GUINT64_FORMAT " bytes, over the %" G_GSIZE_FORMAT
            " bytes left for reference images in Gemini's 100 MB inline request (base64 adds a "
            "third): use fewer or smaller images", exact ? "" : "more than ", exact ? size : budget,
            budget));
    error = s.get ();
    return false;
  };
  if ((guint64) st.st_size > budget)
    return too_big ((guint64) st.st_size, true);

  gsize want = (gsize) st.st_size + 1;   /* +1 notices a file that grew */
  gsize used = 0;
  std::unique_ptr<guint8, GFreeDeleter> buf (static_cast<guint8 *> (g_try_malloc (want)));
  if (!buf) {
    kind = ReferenceError::OpenRead;
    error = "could not be read: out of memory";
    return false;
  }
  for (;;) {
    if (used == want) {
      if (used > budget)
        return too_big (used, false);
      want = std::min (want * 2, budget + 1);
      guint8 *grown = static_cast<guint8 *> (g_try_realloc (buf.get (), want));
      if (!grown) {
        kind = ReferenceError::OpenRead;
        error = "could not be read: out of memory";
        return false;
      }
      buf.release ();
      buf.reset (grown);
    }
    ssize_t n = read (f.fd, buf.get () + used, want - used);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      kind = ReferenceError::OpenRead;
      error = std::string ("could not be read: ") + g_strerror (errno);
      return false;
    }
    if (n == 0)
      break;
    used += (gsize) n;
  }
  if (used > budget)
    return too_big (used, false);
  out.reset (g_bytes_new_take (buf.release (), used));
  return true;
}

}  // namespace

std::vector<std::string>
split_reference_list (const std::string & list)
{
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] () {
    GCharPtr trimmed (g_strstrip (g_strdup (cur.c_str ())));
    if (*trimmed)
      out.emplace_back (trimmed.get ());
    cur.clear ();
  };
  for (gsize i = 0; i < list.size (); i++) {
    if (list[i] == '\\' && i + 1 < list.size () && list[i + 1] == ',') {
      cur += ',';
      i++;
    } else if (list[i] == ',') {
      flush ();
    } else {
      cur += list[i];
    }
  }
  flush ();
  return out;
}

bool
load_reference_images (const std::string & list, gsize max_total,
    std::vector<ReferenceImage> & out, ReferenceError & kind, std::string & error)
{
  out.clear ();
  kind = ReferenceError::None;
  gsize used = 0;
  auto paths = split_reference_list (list);
  for (gsize i = 0; i < paths.size (); i++) {
    const std::string & path = paths[i];
    GCharPtr head (g_strdup_printf ("Reference image %" G_GSIZE_FORMAT " of reference-images, "
            "\"%s\",", i + 1, path.c_str ()));
    GBytesPtr bytes;
    std::string why;
    if (!read_bounded (path, max_total - used, bytes, kind, why)) {
      error = std::string (head.get ()) + " " + why + ".";
      out.clear ();
      return false;
    }
    gsize size = 0;
    auto data = static_cast<const guint8 *> (g_bytes_get_data (bytes.get (), &size));
    auto format = sniff_image_format (data, size);
    if (format != ImageFormat::Png && format != ImageFormat::Jpeg
        && format != ImageFormat::Webp && format != ImageFormat::Heif) {
      kind = ReferenceError::Settings;
      error = std::string (head.get ()) + " is "
          + (format == ImageFormat::Unknown ? std::string ("not an image file")
              : std::string ("a ") + image_format_name (format) + " image")
          + ": Gemini accepts PNG, JPEG, WebP and HEIF images.";
      out.clear ();
      return false;
    }
    used += size;
    out.push_back (ReferenceImage {path, image_format_mime_type (format), std::move (bytes)});
  }
  return true;
}

}  // namespace gemini

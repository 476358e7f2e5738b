/* gst-gemini: the on-disk response cache of cache-dir.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-cache.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gemini-json.h"

namespace gemini {

namespace {

constexpr char kMagic[] = "gst-gemini-cache 1\n";
/* The same layout plus a model content (gemini-cache.h). */
constexpr char kMagic2[] = "gst-gemini-cache 2\n";
constexpr gsize kMagicLen = sizeof (kMagic) - 1;
static_assert (sizeof (kMagic2) == sizeof (kMagic));
constexpr gsize kDigestLen = 32;
/* Everything but the metadata and the image: magic, two lengths, digest. */
constexpr gsize kOverhead = kMagicLen + 4 + 8 + kDigestLen;
constexpr char kSuffix[] = ".gimg";
constexpr gsize kKeyLen = 64;

struct GChecksumFree {
  void operator() (GChecksum * c) const { if (c) g_checksum_free (c); }
};
using GChecksumPtr = std::unique_ptr<GChecksum, GChecksumFree>;

struct Fd {
  int fd = -1;
  ~Fd () { if (fd >= 0) close (fd); }
};

void
put_be (guint8 *out, guint64 v, int n)
{
  for (int i = n - 1; i >= 0; i--, v >>= 8)
    out[i] = (guint8) (v & 0xff);
}

guint64
get_be (const guint8 *p, int n)
{
  guint64 v = 0;
  for (int i = 0; i < n; i++)
    v = (v << 8) | p[i];
  return v;
}

bool
write_all (int fd, const void *data, gsize len)
{
  auto p = static_cast<const guint8 *> (data);
  while (len > 0) {
    ssize_t n = write (fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    len -= (gsize) n;
  }
  return true;
}

std::string
build_metadata (const std::string & key, const CachedImage & e)
{
  GObjectPtr<JsonBuilder> b (json_builder_new ());
  json_builder_begin_object (b.get ());
  auto str = [&] (const char *name, const std::string & v) {
    /* Model text is not ours to trust: invalid UTF-8 would make the entry
     * unreadable forever. */
    GCharPtr valid (g_utf8_make_valid (v.data (), (gssize) v.size ()));
    json_builder_set_member_name (b.get (), name);
    json_builder_add_string_value (b.get (), valid.get ());
  };
  auto num = [&] (const char *name, gint64 v) {
    json_builder_set_member_name (b.get (), name);
    json_builder_add_int_value (b.get (), v);
  };
  str ("key", key);
  str ("mime_type", e.mime_type);
  str ("model_version", e.model_version);
  str ("response_id", e.response_id);
  str ("finish_reason", e.finish_reason);
  str ("model_text", e.model_text);
  num ("prompt_tokens", e.prompt_tokens);
  num ("candidates_tokens", e.candidates_tokens);
  num ("total_tokens", e.total_tokens);
  json_builder_end_object (b.get ());
  JsonNodePtr root (json_builder_get_root (b.get ()));
  GObjectPtr<JsonGenerator> gen (json_generator_new ());
  json_generator_set_root (gen.get (), root.get ());
  gsize len = 0;
  GCharPtr text (json_generator_to_data (gen.get (), &len));
  return std::string (text.get (), len);
}

/* Absent members keep their defaults; present ones must have the right type. */
bool
get_string (JsonObject *o, const char *name, std::string & out)
{
  JsonNode *n = json_object_get_member (o, name);
  if (!n)
    return true;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return false;
  out = json_node_get_string (n);
  return true;
}

bool
get_int (JsonObject *o, const char *name, gint64 & out)
{
  JsonNode *n = json_object_get_member (o, name);
  if (!n)
    return true;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    return false;
  out = json_node_get_int (n);
  return true;
}

/* Checks a whole file's bytes; nullopt if anything is off. */
std::optional<CachedImage>
decode (GBytes *file, const std::string & key)
{
  gsize size = 0;
  auto data = static_cast<const guint8 *> (g_bytes_get_data (file, &size));
  if (size < kOverhead)
    return std::nullopt;
  const bool v2 = memcmp (data, kMagic2, kMagicLen) == 0;
  if (!v2 && memcmp (data, kMagic, kMagicLen) != 0)
    return std::nullopt;
  /* Version 2's content length; the content itself is at least 1 byte. */
  const gsize extra = v2 ? 8 : 0;
  guint64 meta_len = get_be (data + kMagicLen, 4);
  if (meta_len > kCacheMaxMetadataBytes || size < kOverhead + extra + meta_len)
    return std::nullopt;
  gsize image_at = kMagicLen + 4 + meta_len + 8;
  guint64 image_len = get_be (data + image_at - 8, 8);
  /* What follows the metadata: the image, and in version 2 the content. */
  const guint64 rest = size - kOverhead - extra - meta_len;
  if (image_len == 0 || (v2 ? image_len >= rest : image_len != rest))
    return std::nullopt;
  gsize content_at = 0;
  guint64 content_len = 0;
  if (v2) {
    content_at = image_at + image_len + 8;
    content_len = get_be (data + content_at - 8, 8);
    if (content_len == 0 || content_len != rest - image_len)
      return std::nullopt;
  }

  GChecksumPtr sum (g_checksum_new (G_CHECKSUM_SHA256));
  g_checksum_update (sum.get (), data, size - kDigestLen);
  guint8 digest[kDigestLen];
  gsize digest_len = sizeof (digest);
  g_checksum_get_digest (sum.get (), digest, &digest_len);
  if (memcmp (digest, data + size - kDigestLen, kDigestLen) != 0)
    return std::nullopt;

  std::string message;
  JsonNodePtr root = parse_json (reinterpret_cast<const char *> (data + kMagicLen + 4), meta_len,
      message);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root.get ()))
    return std::nullopt;
  JsonObject *o = json_node_get_object (root.get ());
  CachedImage e;
  std::string stored_key;
  if (!get_string (o, "key", stored_key) || stored_key != key
      || !get_string (o, "mime_type", e.mime_type) || e.mime_type.empty ()
      || !get_string (o, "model_version", e.model_version)
      || !get_string (o, "response_id", e.response_id)
      || !get_string (o, "finish_reason", e.finish_reason)
      || !get_string (o, "model_text", e.model_text)
      || !get_int (o, "prompt_tokens", e.prompt_tokens)
      || !get_int (o, "candidates_tokens", e.candidates_tokens)
      || !get_int (o, "total_tokens", e.total_tokens))
    return std::nullopt;
  /* A view into the file's bytes: no copy of the image. */
  e.image.reset (g_bytes_new_from_bytes (file, image_at, image_len));
  if (v2)
    e.model_content.assign (reinterpret_cast<const char *> (data + content_at), content_len);
  return e;
}

bool
is_entry_name (const char *name)
{
  gsize len = strlen (name);
  return len == kKeyLen + strlen (kSuffix) && g_str_has_suffix (name, kSuffix)
      && cache_key_is_valid (std::string_view (name, kKeyLen));
}

/* ".<key>.tmp-XXXXXX" exactly: other files in the directory are not ours. */
bool
is_temp_name (const char *name)
{
  return strlen (name) == 1 + kKeyLen + 5 + 6 && name[0] == '.'
      && cache_key_is_valid (std::string_view (name + 1, kKeyLen))
      && strncmp (name + 1 + kKeyLen, ".tmp-", 5) == 0;
}

gint64
mtime_ns (const GStatBuf & st)
{
  return (gint64) st.st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000) + st.st_mtim.tv_nsec;
}

}  // namespace

std::string
cache_key (std::initializer_list<std::string_view> parts)
{
  GChecksumPtr sum (g_checksum_new (G_CHECKSUM_SHA256));
  for (std::string_view part : parts) {
    guint8 len[8];
    put_be (len, part.size (), 8);
    g_checksum_update (sum.get (), len, sizeof (len));
    g_checksum_update (sum.get (), reinterpret_cast<const guchar *> (part.data ()), part.size ());
  }
  return g_checksum_get_string (sum.get ());
}

bool
cache_key_is_valid (std::string_view key)
{
  return key.size () == kKeyLen && std::all_of (key.begin (), key.end (),
      [] (char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool
ResponseCache::open (const std::string & dir, guint64 max_bytes, std::string & error)
{
  auto fail = [&] (const char *what, int err) {
    error = "The cache directory \"" + dir + "\" " + what + ": " + g_strerror (err) + ".";
    return false;
  };
  if (dir.empty ()) {
    error = "The cache directory is empty: name a directory.";
    return false;
  }
  GStatBuf st;
  if (g_stat (dir.c_str (), &st) == 0 && !S_ISDIR (st.st_mode)) {
    error = "The cache directory \"" + dir + "\" is not a directory: name a directory.";
    return false;
  }
  if (g_mkdir_with_parents (dir.c_str (), 0700) != 0)
    return fail ("could not be created", errno);
  if (access (dir.c_str (), W_OK | X_OK) != 0)
    return fail ("is not writable", errno);
  {
    std::lock_guard<std::mutex> guard (lock_);
    dir_ = dir;
    max_bytes_ = max_bytes;
  }
  /* A smaller max-size than last time, and leftovers of crashed writers. */
  guint64 evicted = scan (dir, max_bytes, "");
  std::lock_guard<std::mutex> guard (lock_);
  stats_.evictions += evicted;
  return true;
}

bool
ResponseCache::is_open () const
{
  std::lock_guard<std::mutex> guard (lock_);
  return !dir_.empty ();
}

std::string
ResponseCache::entry_path (const std::string & key) const
{
  std::lock_guard<std::mutex> guard (lock_);
  GCharPtr path (g_build_filename (dir_.c_str (), (key + kSuffix).c_str (), nullptr));
  return path.get ();
}

std::optional<CachedImage>
ResponseCache::lookup (const std::string & key)
{
  bool corrupt = false;
  auto count = [&] (std::optional<CachedImage> result) {
    std::lock_guard<std::mutex> guard (lock_);
    (result ? stats_.hits : stats_.misses)++;
    if (corrupt)
      stats_.corrupt++;
    return result;
  };
  if (!is_open () || !cache_key_is_valid (key))
    return count (std::nullopt);
  std::string path = entry_path (key);

  /* O_NOFOLLOW: an entry is a regular file we wrote, never a link. `::`:
   * g_open may be a macro for open, which names our member here. */
  Fd f {::g_open (path.c_str (), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0)};
  GStatBuf st;
  if (f.fd < 0 || fstat (f.fd, &st) != 0 || !S_ISREG (st.st_mode))
    return count (std::nullopt);
  std::optional<CachedImage> entry;
  if ((guint64) st.st_size <= kCacheMaxEntryBytes) {
    gsize size = (gsize) st.st_size, used = 0;
    std::unique_ptr<guint8, GFreeDeleter> buf (static_cast<guint8 *> (g_try_malloc (MAX (size, 1))));
    if (!buf)
      return count (std::nullopt);
    while (used < size) {
      ssize_t n = read (f.fd, buf.get () + used, size - used);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      used += (gsize) n;
    }
    if (used == size) {
      GBytesPtr file (g_bytes_new_take (buf.release (), size));
      entry = decode (file.get (), key);
    }
  }
  if (!entry) {
    corrupt = true;
    /* Only if the name still holds the file we read: another writer may
     * have renamed a good entry over it meanwhile. */
    GStatBuf now;
    if (g_lstat (path.c_str (), &now) == 0 && now.st_ino == st.st_ino && now.st_dev == st.st_dev)
      g_unlink (path.c_str ());
    return count (std::nullopt);
  }
  /* Recency for eviction; a read-only shared cache still serves hits. */
  (void) futimens (f.fd, nullptr);
  return count (std::move (entry));
}

bool
ResponseCache::store (const std::string & key, const CachedImage & entry, std::string & error)
{
  std::string dir;
  guint64 max_bytes;
  {
    std::lock_guard<std::mutex> guard (lock_);
    dir = dir_;
    max_bytes = max_bytes_;
  }
  if (dir.empty ()) {
    error = "The cache is not open.";
    return false;
  }
  if (!cache_key_is_valid (key)) {
    error = "\"" + key + "\" is not a cache key.";
    return false;
  }
  gsize image_len = 0;
  const void *image = entry.image ? g_bytes_get_data (entry.image.get (), &image_len) : nullptr;
  if (image_len == 0) {
    error = "There is no image to cache.";
    return false;
  }
  std::string meta = build_metadata (key, entry);
  const std::string & content = entry.model_content;
  guint64 total = kOverhead + meta.size () + image_len + (content.empty () ? 0 : 8 + content.size ());
  guint64 limit = max_bytes ? MIN (max_bytes, kCacheMaxEntryBytes) : kCacheMaxEntryBytes;
  if (meta.size () > kCacheMaxMetadataBytes || total > limit) {
    GCharPtr s (g_strdup_printf ("The cache entry would be %" G_GUINT64_FORMAT " bytes, over the "
            "%" G_GUINT64_FORMAT " bytes of %s: not cached.", total, limit,
            limit == max_bytes ? "cache-max-size" : "an entry's limit"));
    error = s.get ();
    return false;
  }

  std::string path = entry_path (key);
  GCharPtr tmp (g_build_filename (dir.c_str (), ("." + key + ".tmp-XXXXXX").c_str (), nullptr));
  /* O_EXCL and a random name: concurrent writers never share a file. */
  Fd f {g_mkstemp_full (tmp.get (), O_RDWR | O_CLOEXEC, 0600)};
  auto fail = [&] (const char *what) {
    int err = errno;
    error = std::string ("The cache entry ") + path + " could not be " + what + ": "
        + g_strerror (err) + ".";
    return false;
  };
  if (f.fd < 0)
    return fail ("created");

  guint8 meta_len[4], image_len_be[8];
  put_be (meta_len, meta.size (), 4);
  put_be (image_len_be, image_len, 8);
  GChecksumPtr sum (g_checksum_new (G_CHECKSUM_SHA256));
  bool ok = true;
  auto put = [&] (const void *data, gsize len) {
    g_checksum_update (sum.get (), static_cast<const guchar *> (data), len);
    ok = ok && write_all (f.fd, data, len);
  };
  put (content.empty () ? kMagic : kMagic2, kMagicLen);
  put (meta_len, sizeof (meta_len));
  put (meta.data (), meta.size ());
  put (image_len_be, sizeof (image_len_be));
  put (image, image_len);
  if (!content.empty ()) {
    guint8 content_len[8];
    put_be (content_len, content.size (), 8);
    put (content_len, sizeof (content_len));
    put (content.data (), content.size ());
  }
  guint8 digest[kDigestLen];
  gsize digest_len = sizeof (digest);
  g_checksum_get_digest (sum.get (), digest, &digest_len);
  ok = ok && write_all (f.fd, digest, sizeof (digest));
  /* close () reports what a network file system could not write. */
  ok = ok && close (std::exchange (f.fd, -1)) == 0;
  if (!ok || g_rename (tmp.get (), path.c_str ()) != 0) {
    bool r = fail (ok ? "renamed into place" : "written");
    g_unlink (tmp.get ());
    return r;
  }

  guint64 evicted = scan (dir, max_bytes, key);
  std::lock_guard<std::mutex> guard (lock_);
  stats_.stores++;
  stats_.evictions += evicted;
  return true;
}

guint64
ResponseCache::scan (const std::string & dir, guint64 max_bytes, const std::string & keep)
{
  struct Entry {
    std::string path;
    guint64 size;
    gint64 mtime;
  };
  std::vector<Entry> entries;
  guint64 total = 0;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  GCharPtr keep_path (g_build_filename (dir.c_str (), (keep + kSuffix).c_str (), nullptr));

  GDir *d = g_dir_open (dir.c_str (), 0, nullptr);
  if (!d)
    return 0;
  while (const char *name = g_dir_read_name (d)) {
    bool temp = is_temp_name (name);
    if (!temp && !is_entry_name (name))
      continue;
    GCharPtr path (g_build_filename (dir.c_str (), name, nullptr));
    GStatBuf st;
    /* Other processes remove files under us: ENOENT is no error. */
    if (g_lstat (path.get (), &st) != 0 || !S_ISREG (st.st_mode))
      continue;
    if (temp) {
      if (now - (gint64) st.st_mtime > kCacheStaleTempSeconds)
        g_unlink (path.get ());
      continue;
    }
    entries.push_back (Entry {path.get (), (guint64) st.st_size, mtime_ns (st)});
    total += (guint64) st.st_size;
  }
  g_dir_close (d);
  if (max_bytes == 0 || total <= max_bytes)
    return 0;

  std::sort (entries.begin (), entries.end (), [] (const Entry & a, const Entry & b) {
    return a.mtime != b.mtime ? a.mtime < b.mtime : a.path < b.path;
  });
  guint64 evicted = 0;
  for (const Entry & e : entries) {
    if (total <= max_bytes)
      break;
    if (!keep.empty () && e.path == keep_path.get ())
      continue;
    if (g_unlink (e.path.c_str ()) == 0)
      evicted++;
    else if (errno != ENOENT)
      continue;   /* still there: it still counts */
    total -= e.size;
  }
  return evicted;
}

ResponseCache::Stats
ResponseCache::stats () const
{
  std::lock_guard<std::mutex> guard (lock_);
  return stats_;
}

}  // namespace gemini

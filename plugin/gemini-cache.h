/* gst-gemini: the on-disk response cache of cache-dir.
 *
 * Content-addressed: an entry's name is a SHA-256 over everything the
 * request depends on (endpoint origin, model, request body with the prompt,
 * config and reference image bytes; never the key), so the same request
 * finds the same image and costs nothing. Element-free; several objects,
 * threads and processes may share one directory.
 *
 * Layout: one flat directory (no fan-out: max-size bounds it to thousands
 * of entries, not millions), one file per entry, `<key>.gimg`, mode 0600.
 * Writers fill `.<key>.tmp-XXXXXX` (O_EXCL) and rename () it over the final
 * name, so nobody ever opens a half-written entry. Names that are not
 * exactly 64 hex digits + ".gimg" are never entries; temporary files older
 * than an hour are leftovers of crashed writers and are removed by scans.
 *
 * File format (integers big-endian):
 *   "gst-gemini-cache 1\n"           magic line, 19 bytes
 *   u32 M, M bytes                   metadata: a JSON object (key, mime_type,
 *                                    model_version, response_id, finish_reason,
 *                                    model_text, *_tokens), M <= 1 MiB
 *   u64 N, N bytes                   the image exactly as Gemini sent it, N > 0
 *   32 bytes                         SHA-256 of everything above
 * Version 2 ("gst-gemini-cache 2\n", written only for an entry with a
 * model content) has, between the image and the digest:
 *   u64 C, C bytes                   the answer's candidates[0].content as JSON
 *                                    text (edit-mode sends it back), C > 0
 * The file size must be exactly the sum; files over 256 MiB are not read.
 * Recency is the file's mtime: a hit sets it to now, eviction removes the
 * oldest first.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "glib-raii.h"

namespace gemini {

/* The cache key: lowercase hex SHA-256 (64 digits) over the parts, each
 * prefixed by its length, so that ("ab", "c") != ("a", "bc"). Callers pass
 * the endpoint origin, the model id and the request body bytes. */
std::string cache_key (std::initializer_list<std::string_view> parts);

/* Whether `key` looks like cache_key ()'s output: the only keys the cache
 * takes, so that a key can never name a path outside the directory. */
bool cache_key_is_valid (std::string_view key);

struct CachedImage {
  GBytesPtr image;            /* the compressed bytes exactly as Gemini sent them */
  std::string mime_type;      /* as declared */
  std::string model_version, response_id, finish_reason, model_text;   /* for messages */
  gint64 prompt_tokens = -1, candidates_tokens = -1, total_tokens = -1;
  /* Response::model_content, or "" (then a version 1 entry is written). */
  std::string model_content;
};

/* Files bigger than this are not read (nor written). */
inline constexpr guint64 kCacheMaxEntryBytes = 256 * 1024 * 1024;
/* Metadata bigger than this is corrupt. */
inline constexpr guint32 kCacheMaxMetadataBytes = 1024 * 1024;
/* Temporary files older than this belong to a writer that died. */
inline constexpr gint64 kCacheStaleTempSeconds = 3600;

class ResponseCache {
public:
  struct Stats {
    guint64 hits = 0, misses = 0, stores = 0, evictions = 0, corrupt = 0;
  };

  /* Creates `dir` (mode 0700, parents too) if needed and runs a scan (stale
   * temporary files, max_bytes). max_bytes 0 = unbounded. False, with an
   * error sentence naming the directory, if it is not a writable directory. */
  bool open (const std::string & dir, guint64 max_bytes, std::string & error);
  bool is_open () const;

  /* A hit refreshes the entry's recency. No entry: nullopt (a miss). A
   * corrupt or truncated entry (bad magic, lengths, checksum, metadata, key,
   * empty image): nullopt, counted as corrupt and as a miss, and the file
   * removed so that the next store replaces it. Never partial data. */
  std::optional<CachedImage> lookup (const std::string & key);

  /* Writes a temporary file and renames it over the entry, then evicts the
   * least recently used entries (never this one) until the total is <=
   * max_bytes. False, with `error`, if it could not be written (disk full,
   * an invalid key, no image) or if the entry alone is bigger than
   * max_bytes (then it is not kept): callers treat false as "not cached",
   * never as fatal. */
  bool store (const std::string & key, const CachedImage & entry, std::string & error);

  Stats stats () const;

  /* `dir`/`key`.gimg: where the entry of `key` lives (for tests, messages). */
  std::string entry_path (const std::string & key) const;

private:
  /* Removes stale temporary files, then the oldest entries other than
   * `keep` while the total exceeds `max_bytes`. Returns the evictions. */
  static guint64 scan (const std::string & dir, guint64 max_bytes, const std::string & keep);

  mutable std::mutex lock_;   /* guards the fields below; file I/O runs outside it */
  std::string dir_;
  guint64 max_bytes_ = 0;
  Stats stats_;
};

}  // namespace gemini

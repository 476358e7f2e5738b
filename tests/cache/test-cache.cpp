/* Unit tests of plugin/gemini-cache.cpp: keys, round trips, corrupt
 * entries, LRU eviction, concurrent writers (threads and processes).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

#include "gemini-cache.h"
#include "scratch-dir.h"

#include <gst/check/gstcheck.h>
#include <glib/gstdio.h>

using namespace gemini;
using gemini::test::ScratchDir;

static ScratchDir *scratch;

static void
setup (void)
{
  scratch = new ScratchDir ("test-cache-XXXXXX");
}

static void
teardown (void)
{
  delete scratch;
  scratch = nullptr;
}

/* Image bytes of `size` that differ for every `seed`. */
static std::string
image_bytes (guint seed, gsize size)
{
  std::string s ("\x89PNG\r\n\x1a\n", 8);
  for (gsize i = s.size (); i < size; i++)
    s += (char) ((i * 7 + seed * 31 + (i >> 8) * seed) & 0xff);
  return s;
}

static CachedImage
make_entry (guint seed, gsize size = 4000)
{
  std::string bytes = image_bytes (seed, size);
  CachedImage e;
  e.image.reset (g_bytes_new (bytes.data (), bytes.size ()));
  e.mime_type = "image/png";
  e.model_version = "gemini-2.5-flash-image";
  e.response_id = "resp-" + std::to_string (seed);
  e.finish_reason = "STOP";
  e.model_text = "Here is \"your\" image\n\xc3\xa9";
  e.prompt_tokens = 10 + seed;
  e.candidates_tokens = 1290;
  e.total_tokens = 1300 + seed;
  return e;
}

static std::string
key_of (guint seed)
{
  std::string s = std::to_string (seed);
  return cache_key ({"https://example.test", "gemini-2.5-flash-image", s});
}

static bool
same_image (const CachedImage & a, guint seed, gsize size = 4000)
{
  std::string want = image_bytes (seed, size);
  gsize len = 0;
  auto data = static_cast<const char *> (g_bytes_get_data (a.image.get (), &len));
  return std::string (data, len) == want;
}

static std::string
read_file (const std::string & path)
{
  gchar *data = nullptr;
  gsize len = 0;
  fail_unless (g_file_get_contents (path.c_str (), &data, &len, nullptr), "%s", path.c_str ());
  std::string s (data, len);
  g_free (data);
  return s;
}

static void
write_file (const std::string & path, const std::string & bytes)
{
  /* Replaced by rename (NONE does not truncate in GLib 2.74), no fsync:
   * scratch files need no durability. */
  fail_unless (g_file_set_contents_full (path.c_str (), bytes.data (), (gssize) bytes.size (),
          G_FILE_SET_CONTENTS_CONSISTENT, 0600, nullptr));
}

static void
set_age (const std::string & path, gint64 seconds_ago)
{
  struct utimbuf t;
  t.actime = t.modtime = (time_t) (g_get_real_time () / G_USEC_PER_SEC - seconds_ago);
  fail_unless (g_utime (path.c_str (), &t) == 0);
}

static bool
exists (const std::string & path)
{
  return g_file_test (path.c_str (), G_FILE_TEST_EXISTS);
}

struct DirCount {
  guint entries = 0, temps = 0, others = 0;
  guint64 bytes = 0;
};

static DirCount
count_dir (const std::string & dir)
{
  DirCount c;
  GDir *d = g_dir_open (dir.c_str (), 0, nullptr);
  fail_unless (d != nullptr);
  while (const char *name = g_dir_read_name (d)) {
    std::string n (name);
    if (n.size () == 69 && g_str_has_suffix (name, ".gimg")) {
      c.entries++;
      GStatBuf st;
      std::string path = dir + "/" + n;
      if (g_stat (path.c_str (), &st) == 0)
        c.bytes += (guint64) st.st_size;
    } else if (n.find (".tmp-") != std::string::npos) {
      c.temps++;
    } else {
      c.others++;
    }
  }
  g_dir_close (d);
  return c;
}

GST_START_TEST (test_key)
{
  std::string k = cache_key ({"ab", "c"});
  fail_unless_equals_int (k.size (), 64);
  fail_unless (cache_key_is_valid (k));
  std::string again = cache_key ({"ab", "c"});
  fail_unless_equals_string (k.c_str (), again.c_str ());
  fail_if (k == cache_key ({"a", "bc"}));
  fail_if (k == cache_key ({"c", "ab"}));
  fail_if (k == cache_key ({"abc"}));
  fail_if (cache_key ({}) == cache_key ({""}));
  /* The documented construction: each part after its u64 big-endian length. */
  std::string raw = std::string ("\0\0\0\0\0\0\0\2ab", 10) + std::string ("\0\0\0\0\0\0\0\1c", 9);
  GCharPtr want (g_compute_checksum_for_data (G_CHECKSUM_SHA256,
          reinterpret_cast<const guchar *> (raw.data ()), raw.size ()));
  fail_unless_equals_string (k.c_str (), want.get ());
  /* Only what is passed is hashed: the API key stays out of it. */
  std::string with = cache_key ({"https://generativelanguage.googleapis.com", "m", "{}"});
  fail_if (with.find ("AIza") != std::string::npos);
  fail_if (cache_key_is_valid ("../../etc/passwd"));
  fail_if (cache_key_is_valid (std::string (64, 'A')));
  fail_if (cache_key_is_valid (k.substr (1)));
}
GST_END_TEST;

GST_START_TEST (test_round_trip)
{
  ResponseCache cache;
  std::string error;
  fail_if (cache.is_open ());
  fail_unless (cache.open (scratch->path (), 0, error), "%s", error.c_str ());
  fail_unless (cache.is_open ());
  std::string key = key_of (1);
  fail_if (cache.lookup (key).has_value ());
  fail_unless (cache.store (key, make_entry (1), error), "%s", error.c_str ());
  auto got = cache.lookup (key);
  fail_unless (got.has_value ());
  fail_unless (same_image (*got, 1));
  CachedImage want = make_entry (1);
  fail_unless_equals_string (got->mime_type.c_str (), want.mime_type.c_str ());
  fail_unless_equals_string (got->model_version.c_str (), want.model_version.c_str ());
  fail_unless_equals_string (got->response_id.c_str (), want.response_id.c_str ());
  fail_unless_equals_string (got->finish_reason.c_str (), want.finish_reason.c_str ());
  fail_unless_equals_string (got->model_text.c_str (), want.model_text.c_str ());
  fail_unless_equals_int64 (got->prompt_tokens, want.prompt_tokens);
  fail_unless_equals_int64 (got->candidates_tokens, want.candidates_tokens);
  fail_unless_equals_int64 (got->total_tokens, want.total_tokens);

  /* A second object on the same directory finds it too. */
  ResponseCache other;
  fail_unless (other.open (scratch->path (), 0, error));
  fail_unless (other.lookup (key).has_value ());

  auto s = cache.stats ();
  fail_unless_equals_int (s.hits, 1);
  fail_unless_equals_int (s.misses, 1);
  fail_unless_equals_int (s.stores, 1);
  fail_unless_equals_int (s.corrupt, 0);
  fail_unless_equals_int (s.evictions, 0);

  GStatBuf st;
  fail_unless (g_stat (cache.entry_path (key).c_str (), &st) == 0);
  fail_unless_equals_int (st.st_mode & 0777, 0600);
  DirCount c = count_dir (scratch->path ());
  fail_unless_equals_int (c.entries, 1);
  fail_unless_equals_int (c.temps, 0);
}
GST_END_TEST;

GST_START_TEST (test_miss_and_bad_input)
{
  ResponseCache cache;
  std::string error;
  fail_if (cache.store (key_of (1), make_entry (1), error));
  fail_unless (error.find ("not open") != std::string::npos, "%s", error.c_str ());
  fail_unless (cache.open (scratch->path (), 0, error));
  fail_if (cache.lookup (key_of (2)).has_value ());
  fail_if (cache.lookup ("../x").has_value ());
  fail_if (cache.store ("../x", make_entry (1), error));
  CachedImage empty = make_entry (1);
  empty.image.reset (g_bytes_new (nullptr, 0));
  fail_if (cache.store (key_of (1), empty, error));
  fail_if (cache.lookup (key_of (1)).has_value ());
  auto s = cache.stats ();
  fail_unless_equals_int (s.misses, 3);
  fail_unless_equals_int (s.hits, 0);
  fail_unless_equals_int (s.stores, 0);
  fail_unless_equals_int (s.corrupt, 0);
  fail_unless_equals_int (count_dir (scratch->path ()).entries, 0);
}
GST_END_TEST;

/* A file with the right framing and checksum around `meta`. */
static std::string
framed (const std::string & meta, const std::string & image)
{
  std::string s ("gst-gemini-cache 1\n");
  for (int i = 3; i >= 0; i--)
    s += (char) ((meta.size () >> (8 * i)) & 0xff);
  s += meta;
  for (int i = 7; i >= 0; i--)
    s += (char) (((guint64) image.size () >> (8 * i)) & 0xff);
  s += image;
  GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sum, reinterpret_cast<const guchar *> (s.data ()), s.size ());
  guint8 digest[32];
  gsize len = sizeof (digest);
  g_checksum_get_digest (sum, digest, &len);
  g_checksum_free (sum);
  return s + std::string (reinterpret_cast<const char *> (digest), 32);
}

GST_START_TEST (test_corrupt)
{
  ResponseCache cache;
  std::string error;
  fail_unless (cache.open (scratch->path (), 0, error));
  std::string key = key_of (3), path = cache.entry_path (key);
  fail_unless (cache.store (key, make_entry (3), error));
  const std::string good = read_file (path);
  const gsize image_len = 4000, image_at = good.size () - 32 - image_len;
  fail_unless (good == framed (good.substr (23, image_at - 31), image_bytes (3, image_len)),
      "the format is as documented");

  std::string meta = good.substr (23, image_at - 31);
  std::vector<std::pair<const char *, std::string>> cases;
  std::string flipped = good;
  flipped[image_at + image_len / 2] ^= 0x01;
  cases.emplace_back ("image byte flipped", flipped);
  for (gsize at : {(gsize) 0, (gsize) 5, (gsize) 19, (gsize) 30, image_at + 100,
          good.size () - 5, good.size () - 1})
    cases.emplace_back ("truncated", good.substr (0, at));
  cases.emplace_back ("garbage", image_bytes (9, good.size ()));
  cases.emplace_back ("appended", good + "x");
  std::string huge_meta = good;
  huge_meta[19] = '\x7f';
  cases.emplace_back ("metadata length", huge_meta);
  cases.emplace_back ("not JSON", framed ("{\"key\": ", image_bytes (3, 100)));
  cases.emplace_back ("JSON array", framed ("[1]", image_bytes (3, 100)));
  cases.emplace_back ("no mime type", framed ("{\"key\": \"" + key + "\"}", image_bytes (3, 100)));
  cases.emplace_back ("wrong type", framed ("{\"key\": \"" + key
          + "\", \"mime_type\": \"image/png\", \"total_tokens\": \"x\"}", image_bytes (3, 100)));
  cases.emplace_back ("empty image", framed ("{\"key\": \"" + key
          + "\", \"mime_type\": \"image/png\"}", ""));
  /* Another key's valid entry under this name. */
  ResponseCache probe;
  fail_unless (probe.open (scratch->path (), 0, error));
  fail_unless (probe.store (key_of (4), make_entry (4), error));
  cases.emplace_back ("other key", read_file (probe.entry_path (key_of (4))));

  guint64 corrupt = 0;
  for (auto & [what, bytes] : cases) {
    write_file (path, bytes);
    fail_if (cache.lookup (key).has_value (), "%s (%zu bytes)", what, bytes.size ());
    fail_unless_equals_int (cache.stats ().corrupt, ++corrupt);
    fail_if (exists (path), "%s: removed", what);
    fail_unless (cache.store (key, make_entry (3), error), "%s", error.c_str ());
    auto got = cache.lookup (key);
    fail_unless (got.has_value () && same_image (*got, 3), "%s: replaced", what);
  }
  auto s = cache.stats ();
  fail_unless_equals_int (s.hits, cases.size ());
  fail_unless_equals_int (s.misses, cases.size ());
  fail_unless_equals_int (count_dir (scratch->path ()).temps, 0);

  /* A minimal entry with only the required members reads, defaults kept. */
  write_file (path, framed ("{\"key\": \"" + key + "\", \"mime_type\": \"image/webp\"}", "RIFF"));
  auto got = cache.lookup (key);
  fail_unless (got.has_value ());
  fail_unless_equals_string (got->mime_type.c_str (), "image/webp");
  fail_unless_equals_int64 (got->total_tokens, -1);
  fail_unless_equals_int (g_bytes_get_size (got->image.get ()), 4);
}
GST_END_TEST;

/* An entry with a model content (edit-mode) is version 2: the content
 * after the image, with its length; read back exactly. Truncated, a zero or
 * wrong content length, or a version 1 file claiming the extra bytes: a
 * corrupt entry. An entry without content is still version 1. */
GST_START_TEST (test_model_content)
{
  ResponseCache cache;
  std::string error;
  fail_unless (cache.open (scratch->path (), 0, error));
  std::string key = key_of (5), path = cache.entry_path (key);
  CachedImage entry = make_entry (5);
  entry.model_content = "{\"role\":\"model\",\"parts\":[{\"text\":\"x\",\"thoughtSignature\":\""
      + std::string (3000, 'A') + "\"}]}";
  fail_unless (cache.store (key, entry, error), "%s", error.c_str ());
  const std::string good = read_file (path);
  fail_unless (good.starts_with ("gst-gemini-cache 2\n"));
  auto got = cache.lookup (key);
  fail_unless (got.has_value () && same_image (*got, 5));
  fail_unless (got->model_content == entry.model_content);

  /* The documented layout: version 1's, the content before the digest. */
  const gsize content_len = entry.model_content.size ();
  const gsize content_at = good.size () - 32 - content_len;
  std::string v1 = framed (good.substr (23, content_at - 8 - 4000 - 8 - 23), image_bytes (5, 4000));
  std::string rebuilt = "gst-gemini-cache 2\n" + v1.substr (19, v1.size () - 32 - 19);
  for (int i = 7; i >= 0; i--)
    rebuilt += (char) (((guint64) content_len >> (8 * i)) & 0xff);
  rebuilt += entry.model_content;
  fail_unless (good.substr (0, good.size () - 32) == rebuilt, "the format is as documented");

  std::vector<std::pair<const char *, std::string>> cases;
  for (gsize at : {content_at - 8, content_at - 1, content_at + 10, good.size () - 33})
    cases.emplace_back ("truncated", good.substr (0, at));
  /* Rewrite a length and the digest: only the framing is wrong. */
  auto with_length = [&] (guint64 len) {
    std::string b = good.substr (0, good.size () - 32);
    for (int i = 0; i < 8; i++)
      b[content_at - 8 + i] = (char) ((len >> (8 * (7 - i))) & 0xff);
    GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA256);
    g_checksum_update (sum, reinterpret_cast<const guchar *> (b.data ()), b.size ());
    guint8 digest[32];
    gsize len32 = sizeof (digest);
    g_checksum_get_digest (sum, digest, &len32);
    g_checksum_free (sum);
    return b + std::string (reinterpret_cast<const char *> (digest), 32);
  };
  cases.emplace_back ("content length 0", with_length (0));
  cases.emplace_back ("content length short", with_length (content_len - 1));
  cases.emplace_back ("content length long", with_length (content_len + 1));
  cases.emplace_back ("content length huge", with_length (G_MAXUINT64));
  std::string as_v1 = good;
  as_v1[17] = '1';
  cases.emplace_back ("version 1 with a content", as_v1);
  for (auto & [what, bytes] : cases) {
    write_file (path, bytes);
    fail_if (cache.lookup (key).has_value (), "%s (%zu bytes)", what, bytes.size ());
    fail_if (exists (path), "%s: removed", what);
  }

  /* Without a content: version 1, and nothing read back. */
  fail_unless (cache.store (key, make_entry (5), error), "%s", error.c_str ());
  fail_unless (read_file (path).starts_with ("gst-gemini-cache 1\n"));
  got = cache.lookup (key);
  fail_unless (got.has_value () && got->model_content.empty ());
}
GST_END_TEST;

GST_START_TEST (test_eviction)
{
  ResponseCache cache;
  std::string error;
  fail_unless (cache.open (scratch->path (), 0, error));
  std::vector<std::string> keys;
  for (guint i = 0; i < 5; i++)
    keys.push_back (key_of (i));
  for (guint i = 0; i < 3; i++) {
    fail_unless (cache.store (keys[i], make_entry (i), error));
    set_age (cache.entry_path (keys[i]), 300 - 100 * i);
  }
  GStatBuf st;
  fail_unless (g_stat (cache.entry_path (keys[0]).c_str (), &st) == 0);
  guint64 max = (guint64) st.st_size * 7 / 2;
  /* Re-opening with a bound: three entries fit, nothing goes. */
  fail_unless (cache.open (scratch->path (), max, error));
  fail_unless_equals_int (count_dir (scratch->path ()).entries, 3);

  /* The oldest one is used again: the next oldest go instead. */
  fail_unless (cache.lookup (keys[0]).has_value ());
  fail_unless (cache.store (keys[3], make_entry (3), error));
  fail_unless (cache.store (keys[4], make_entry (4), error));
  fail_unless (exists (cache.entry_path (keys[0])));
  fail_if (exists (cache.entry_path (keys[1])));
  fail_if (exists (cache.entry_path (keys[2])));
  fail_unless (exists (cache.entry_path (keys[3])));
  fail_unless (exists (cache.entry_path (keys[4])));
  DirCount c = count_dir (scratch->path ());
  fail_unless_equals_int (c.entries, 3);
  fail_unless (c.bytes <= max);
  fail_unless_equals_int (cache.stats ().evictions, 2);
  fail_if (cache.lookup (keys[1]).has_value ());

  /* Opening with a smaller bound evicts at once, oldest first. */
  set_age (cache.entry_path (keys[3]), 1000);
  fail_unless (cache.open (scratch->path (), (guint64) st.st_size * 2, error));
  fail_if (exists (cache.entry_path (keys[3])));
  fail_unless_equals_int (count_dir (scratch->path ()).entries, 2);
}
GST_END_TEST;

GST_START_TEST (test_too_big)
{
  ResponseCache cache;
  std::string error;
  fail_unless (cache.open (scratch->path (), 3000, error));
  fail_unless (cache.store (key_of (1), make_entry (1, 1000), error), "%s", error.c_str ());
  fail_if (cache.store (key_of (2), make_entry (2, 4000), error));
  fail_unless (error.find ("cache-max-size") != std::string::npos, "%s", error.c_str ());
  fail_if (exists (cache.entry_path (key_of (2))));
  /* What was there stays. */
  fail_unless (exists (cache.entry_path (key_of (1))));
  DirCount c = count_dir (scratch->path ());
  fail_unless_equals_int (c.entries, 1);
  fail_unless_equals_int (c.temps, 0);
  fail_unless_equals_int (cache.stats ().stores, 1);
}
GST_END_TEST;

static const guint kKeys = 10;
static const gsize kBigImage = 60000;

/* Every entry in `dir` is whole and holds its key's image. */
static void
verify_all (ResponseCache & cache, const std::vector<std::string> & keys)
{
  guint found = 0;
  for (guint i = 0; i < keys.size (); i++) {
    if (!exists (cache.entry_path (keys[i])))
      continue;
    auto got = cache.lookup (keys[i]);
    fail_unless (got.has_value () && same_image (*got, i, kBigImage), "entry %u", i);
    found++;
  }
  fail_unless (found > 0);
  DirCount c = count_dir (scratch->path ());
  fail_unless_equals_int (c.entries, found);
  fail_unless_equals_int (c.temps, 0);
  fail_unless_equals_int (c.others, 0);
}

GST_START_TEST (test_concurrent_threads)
{
  std::vector<std::string> keys;
  for (guint i = 0; i < kKeys; i++)
    keys.push_back (key_of (i));
  /* About six of the ten fit: evictions run under the writers too. */
  guint64 max = (kBigImage + 400) * 6;
  ResponseCache caches[2];
  std::string error;
  for (auto & c : caches)
    fail_unless (c.open (scratch->path (), max, error), "%s", error.c_str ());

  std::atomic<guint> bad {0}, failed_stores {0}, hits {0};
  std::atomic<bool> done {false};
  std::vector<std::thread> writers, readers;
  for (guint t = 0; t < 4; t++)
    writers.emplace_back ([&, t] () {
      for (guint i = 0; i < 50; i++) {
        /* Even threads share keys, odd ones spread out. */
        guint k = t % 2 ? (t * 3 + i * 7) % kKeys : i % kKeys;
        std::string err;
        if (!caches[t % 2].store (keys[k], make_entry (k, kBigImage), err))
          failed_stores++;
      }
    });
  for (guint t = 0; t < 2; t++)
    readers.emplace_back ([&, t] () {
      for (guint i = 0; !done; i++) {
        guint k = (i * 3 + t) % kKeys;
        auto got = caches[t].lookup (keys[k]);
        if (got && !same_image (*got, k, kBigImage))
          bad++;
        else if (got)
          hits++;
      }
    });
  for (auto & w : writers)
    w.join ();
  done = true;
  for (auto & r : readers)
    r.join ();

  fail_unless_equals_int (bad, 0);
  fail_unless_equals_int (failed_stores, 0);
  fail_unless (hits > 0);
  for (auto & c : caches) {
    fail_unless_equals_int (c.stats ().corrupt, 0);
    fail_unless_equals_int (c.stats ().stores, 100);
  }
  fail_unless (caches[0].stats ().evictions + caches[1].stats ().evictions > 0);
  fail_unless (count_dir (scratch->path ()).bytes <= max);
  verify_all (caches[0], keys);
  fail_unless_equals_int (caches[0].stats ().corrupt, 0);
}
GST_END_TEST;

/* One process's share of test_concurrent_processes; true if all went well. */
static bool
hammer (const std::vector<std::string> & keys, guint seed, guint64 max)
{
  ResponseCache cache;
  std::string error;
  if (!cache.open (scratch->path (), max, error))
    return false;
  for (guint i = 0; i < 100; i++) {
    guint k = (i + seed) % kKeys;
    if (!cache.store (keys[k], make_entry (k, kBigImage), error))
      return false;
    guint r = (i * 7 + seed) % kKeys;
    auto got = cache.lookup (keys[r]);
    if (got && !same_image (*got, r, kBigImage))
      return false;
  }
  return cache.stats ().corrupt == 0;
}

GST_START_TEST (test_concurrent_processes)
{
  std::vector<std::string> keys;
  for (guint i = 0; i < kKeys; i++)
    keys.push_back (key_of (i));
  guint64 max = (kBigImage + 400) * 6;
  pid_t child = fork ();
  fail_unless (child >= 0);
  if (child == 0)
    _exit (hammer (keys, 3, max) ? 0 : 1);
  bool ok = hammer (keys, 0, max);
  int status = 0;
  fail_unless (waitpid (child, &status, 0) == child);
  fail_unless (ok, "parent");
  fail_unless (WIFEXITED (status) && WEXITSTATUS (status) == 0, "child: status %d", status);
  ResponseCache cache;
  std::string error;
  fail_unless (cache.open (scratch->path (), max, error));
  verify_all (cache, keys);
  fail_unless_equals_int (cache.stats ().corrupt, 0);
  fail_unless (count_dir (scratch->path ()).bytes <= max);
}
GST_END_TEST;

GST_START_TEST (test_open)
{
  ResponseCache cache;
  std::string error;
  std::string file = scratch->file ("plain");
  write_file (file, "x");
  fail_if (cache.open (file, 0, error));
  fail_unless (error.find ("\"" + file + "\"") != std::string::npos, "%s", error.c_str ());
  fail_unless (error.find ("not a directory") != std::string::npos, "%s", error.c_str ());
  fail_if (cache.is_open ());
  fail_if (cache.open (file + "/below", 0, error));
  fail_unless (error.find (file) != std::string::npos, "%s", error.c_str ());
  fail_if (cache.open ("", 0, error));

  std::string nested = scratch->file ("a/b/c");
  fail_unless (cache.open (nested, 0, error), "%s", error.c_str ());
  fail_unless (cache.is_open ());
  for (const char *sub : {"a", "a/b", "a/b/c"}) {
    GStatBuf st;
    fail_unless (g_stat (scratch->file (sub).c_str (), &st) == 0);
    fail_unless (S_ISDIR (st.st_mode));
    fail_unless_equals_int (st.st_mode & 0777, 0700);
  }
  fail_unless (cache.store (key_of (1), make_entry (1), error));
  fail_unless (exists (nested + "/" + key_of (1) + ".gimg"));
}
GST_END_TEST;

GST_START_TEST (test_stale_temporaries)
{
  ResponseCache cache;
  std::string error;
  std::string key = key_of (5);
  std::string stale = scratch->file (("." + key + ".tmp-AAAAAA").c_str ());
  std::string fresh = scratch->file (("." + key + ".tmp-BBBBBB").c_str ());
  std::string other = scratch->file (".notes.tmp-CCCCCC");
  write_file (stale, "half");
  set_age (stale, 2 * 3600);
  /* Fresh and big: a writer at work; never counted as an entry. */
  write_file (fresh, image_bytes (1, 100000));
  write_file (other, "mine");
  set_age (other, 5 * 3600);
  fail_unless (cache.open (scratch->path (), 10000, error));
  fail_if (exists (stale));
  fail_unless (exists (fresh));

  write_file (stale, "half");
  set_age (stale, 2 * 3600);
  fail_unless (cache.store (key, make_entry (5), error), "%s", error.c_str ());
  fail_if (exists (stale));
  fail_unless (exists (fresh));
  fail_unless (exists (other));
  fail_unless (cache.lookup (key).has_value ());
  fail_unless_equals_int (cache.stats ().evictions, 0);
}
GST_END_TEST;

static Suite *
cache_suite (void)
{
  Suite *s = suite_create ("cache");
  TCase *tc = tcase_create ("cache");
  tcase_add_checked_fixture (tc, setup, teardown);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_key);
  tcase_add_test (tc, test_round_trip);
  tcase_add_test (tc, test_miss_and_bad_input);
  tcase_add_test (tc, test_corrupt);
  tcase_add_test (tc, test_model_content);
  tcase_add_test (tc, test_eviction);
  tcase_add_test (tc, test_too_big);
  tcase_add_test (tc, test_concurrent_threads);
  tcase_add_test (tc, test_concurrent_processes);
  tcase_add_test (tc, test_open);
  tcase_add_test (tc, test_stale_temporaries);
  return s;
}

GST_CHECK_MAIN (cache);

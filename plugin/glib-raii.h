/* gst-gemini: RAII owners for GLib/GObject handles used across the plugin,
 * the emulator and the tests.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib-object.h>

#include <memory>
#include <utility>

namespace gemini {

struct GObjectUnref {
  void operator() (gpointer p) const { if (p) g_object_unref (p); }
};
struct GFreeDeleter {
  void operator() (gpointer p) const { g_free (p); }
};
struct GBytesUnref {
  void operator() (GBytes * b) const { if (b) g_bytes_unref (b); }
};
struct GErrorFree {
  void operator() (GError * e) const { if (e) g_error_free (e); }
};
struct GMainContextUnref {
  void operator() (GMainContext * c) const { if (c) g_main_context_unref (c); }
};
struct GMainLoopUnref {
  void operator() (GMainLoop * l) const { if (l) g_main_loop_unref (l); }
};

/* Owning pointer to any GObject subclass. */
template <typename T>
using GObjectPtr = std::unique_ptr<T, GObjectUnref>;

using GCharPtr = std::unique_ptr<gchar, GFreeDeleter>;
using GBytesPtr = std::unique_ptr<GBytes, GBytesUnref>;
using GErrorPtr = std::unique_ptr<GError, GErrorFree>;
using GMainContextPtr = std::unique_ptr<GMainContext, GMainContextUnref>;
using GMainLoopPtr = std::unique_ptr<GMainLoop, GMainLoopUnref>;

/* A copyable owner: copies share the object by taking a reference. For
 * settings structs that are copied under a lock. */
template <typename T>
class GObjectRef {
public:
  GObjectRef () = default;
  /* Adopts `obj` (takes over the caller's reference). */
  explicit GObjectRef (T * obj) : p_ (obj) {}
  GObjectRef (const GObjectRef & o) : p_ (o.p_ ? static_cast<T *> (g_object_ref (o.p_)) : nullptr) {}
  GObjectRef (GObjectRef && o) noexcept : p_ (std::exchange (o.p_, nullptr)) {}
  GObjectRef & operator= (GObjectRef o) noexcept { std::swap (p_, o.p_); return *this; }
  ~GObjectRef () { if (p_) g_object_unref (p_); }

  /* Takes a new reference to a borrowed pointer. */
  static GObjectRef ref (T * obj) { return GObjectRef (obj ? static_cast<T *> (g_object_ref (obj)) : nullptr); }
  T *get () const { return p_; }
  explicit operator bool () const { return p_ != nullptr; }
private:
  T *p_ = nullptr;
};

/* Takes a new reference (for borrowed pointers). */
template <typename T>
inline GObjectPtr<T>
ref_object (T * obj)
{
  return GObjectPtr<T> (obj ? static_cast<T *> (g_object_ref (obj)) : nullptr);
}

/* Out-parameter adaptor: `fn (..., out_error (err))`. */
class GErrorOut {
public:
  explicit GErrorOut (GErrorPtr & owner) : owner_ (owner) {}
  ~GErrorOut () { owner_.reset (raw_); }
  operator GError ** () { return &raw_; }
private:
  GErrorPtr & owner_;
  GError *raw_ = nullptr;
};

inline GErrorOut
out_error (GErrorPtr & owner)
{
  return GErrorOut (owner);
}

}  // namespace gemini

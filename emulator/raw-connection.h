/* gst-gemini emulator: the connections taken over from libsoup for the
 * transport-level actions (reset, truncate, hang, endless).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include <deque>
#include <memory>
#include <string>

#include "emulator-answer.h"
#include "glib-raii.h"

namespace gemini::emulator {

class RawConnection;

/* What a RawConnection needs from the server. */
class RawOwner {
public:
  virtual void raw_closed (RawConnection * c) = 0;
  virtual void log_line (const std::string & line) const = 0;

protected:
  ~RawOwner () = default;
};

/* A connection taken over from libsoup for the transport-level actions
 * (reset, truncate, hang, endless) and for event streams (alt=sse, whose
 * pauses and cuts need control of each write): bytes are written by hand. Async
 * callbacks hold a shared_ptr so the object outlives them; once closed,
 * callbacks touch nothing but the object itself. */
class RawConnection : public std::enable_shared_from_this<RawConnection> {
public:
  RawConnection (RawOwner & owner, GIOStream * stream, GSocket * socket, Answer answer, guint64 index);
  ~RawConnection ();

  void start ();

  /* Idempotent. `reset`: SO_LINGER 0, so close() sends an RST. */
  void close (bool reset = false);

private:
  using Holder = std::shared_ptr<RawConnection>;

  /* Owned by the pending write_all_async call. */
  struct WriteOp {
    Holder self;
    std::string data;
    bool close_after;
  };

  std::string head (gsize content_length, bool chunked) const;
  static std::string chunk (const std::string & data);
  void write (std::string data, bool close_after);
  static void on_written (GObject * source, GAsyncResult * res, gpointer data);
  void watch_client ();
  static void on_read (GObject * source, GAsyncResult * res, gpointer data);
  static gboolean on_tick (gpointer data);
  /* Sse: the writes still to come, each after its pause. */
  struct Piece {
    guint delay_ms;
    std::string data;
    bool close_after;
  };
  void plan_stream ();
  void next_piece ();
  static gboolean on_piece_due (gpointer data);
  std::deque<Piece> plan_;

  RawOwner *owner_;
  GObjectPtr<GIOStream> stream_;
  GObjectPtr<GSocket> socket_;
  Answer answer_;
  guint64 index_;
  GObjectPtr<GCancellable> cancellable_;
  guint timer_ = 0;
  bool closed_ = false;
  bool writing_ = false;
  gsize sent_ = 0;
  char read_buf_[4096];
};

}  // namespace gemini::emulator

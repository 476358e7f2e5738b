/* gst-gemini emulator: the stolen connections of the transport-level
 * actions: reset, truncate, hang and endless.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "raw-connection.h"

#include <libsoup/soup.h>
#include <sys/socket.h>

#include <utility>

namespace gemini::emulator {

RawConnection::RawConnection (RawOwner & owner, GIOStream * stream, GSocket * socket, Answer answer,
    guint64 index)
    : owner_ (&owner), stream_ (stream), socket_ (socket), answer_ (std::move (answer)), index_ (index),
      cancellable_ (g_cancellable_new ()) {}

RawConnection::~RawConnection ()
{
  g_clear_handle_id (&timer_, g_source_remove);
}

void
RawConnection::start ()
{
  switch (answer_.transport) {
    case Transport::Reset:
      close (true);
      break;
    case Transport::Truncate:
      write (head (answer_.body.size (), false) + answer_.body.substr (0, answer_.send_bytes), true);
      break;
    case Transport::Hang:
      watch_client ();
      break;
    case Transport::Endless:
      watch_client ();
      write (head (0, true) + chunk ("{\n  \"candidates\": [\n    {\n      \"content\": {\n        "
          "\"parts\": [\n          {\n            \"text\": \""), false);
      timer_ = g_timeout_add (answer_.interval_ms, on_tick, this);
      break;
    case Transport::Sse:
      watch_client ();
      plan_stream ();
      write (head (0, true), false);
      break;
    case Transport::Http:
      break;
  }
}

/* Each event as "data: JSON" and a blank line, in HTTP chunks of
 * write_bytes, with the step's pauses; then the last chunk and the close
 * (the stream's end), or, for cut_at, half the event and the close without
 * a last chunk. */
void
RawConnection::plan_stream ()
{
  const SseShape & shape = answer_.sse;
  for (gsize i = 0; i < answer_.events.size (); i++) {
    std::string text = "data: " + answer_.events[i] + shape.separator + shape.separator;
    const bool cut = shape.cut_at && *shape.cut_at == i;
    if (cut)
      text.resize (text.size () / 2);
    const gsize step = shape.write_bytes ? shape.write_bytes : text.size ();
    for (gsize at = 0; at < text.size (); at += step) {
      const guint delay = at > 0 ? shape.write_gap_ms : i == 0 ? shape.first_event_ms : shape.gap_ms;
      const bool last = at + step >= text.size ();
      plan_.push_back (Piece {delay, chunk (text.substr (at, step)), cut && last});
    }
    if (cut)
      return;
  }
  plan_.push_back (Piece {answer_.events.empty () ? shape.first_event_ms : 0, "0\r\n\r\n", true});
}

void
RawConnection::next_piece ()
{
  if (closed_ || plan_.empty ())
    return;
  if (plan_.front ().delay_ms > 0) {
    timer_ = g_timeout_add (plan_.front ().delay_ms, on_piece_due, this);
    return;
  }
  Piece p = std::move (plan_.front ());
  plan_.pop_front ();
  write (std::move (p.data), p.close_after);
}

gboolean
RawConnection::on_piece_due (gpointer data)
{
  auto *self = static_cast<RawConnection *> (data);
  self->timer_ = 0;
  self->plan_.front ().delay_ms = 0;
  self->next_piece ();
  return G_SOURCE_REMOVE;
}

void
RawConnection::close (bool reset)
{
  if (closed_)
    return;
  closed_ = true;
  g_clear_handle_id (&timer_, g_source_remove);
  g_cancellable_cancel (cancellable_.get ());
  if (reset) {
    struct linger lg = {1, 0};
    setsockopt (g_socket_get_fd (socket_.get ()), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  g_socket_close (socket_.get (), nullptr);
  RawOwner *owner = owner_;
  owner_ = nullptr;
  auto self = shared_from_this ();  /* keeps `this` alive past the erase */
  owner->raw_closed (this);
}

std::string
RawConnection::head (gsize content_length, bool chunked) const
{
  std::string h = "HTTP/1.1 " + std::to_string (answer_.status) + " " +
      soup_status_get_phrase (answer_.status) + "\r\nContent-Type: " + answer_.content_type + "\r\n";
  h += chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: " + std::to_string (content_length) + "\r\n";
  for (const auto & [name, value] : answer_.headers)
    h += name + ": " + value + "\r\n";
  return h + "\r\n";
}

std::string
RawConnection::chunk (const std::string & data)
{
  char size[32];
  g_snprintf (size, sizeof size, "%zx\r\n", data.size ());
  return size + data + "\r\n";
}

void
RawConnection::write (std::string data, bool close_after)
{
  auto *op = new WriteOp {shared_from_this (), std::move (data), close_after};
  writing_ = true;
  g_output_stream_write_all_async (g_io_stream_get_output_stream (stream_.get ()), op->data.data (),
      op->data.size (), G_PRIORITY_DEFAULT, cancellable_.get (), on_written, op);
}

void
RawConnection::on_written (GObject * source, GAsyncResult * res, gpointer data)
{
  std::unique_ptr<WriteOp> op (static_cast<WriteOp *> (data));
  RawConnection & self = *op->self;
  gsize written = 0;
  GErrorPtr err;
  const bool ok = g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), res, &written, out_error (err));
  self.writing_ = false;
  self.sent_ += written;
  if (self.closed_)
    return;
  if (!ok) {
    self.owner_->log_line ("#" + std::to_string (self.index_) + " " + self.answer_.kind +
        ": client gone after " + std::to_string (self.sent_) + " bytes (" + err->message + ")");
    self.close ();
  } else if (op->close_after) {
    self.close ();
  } else if (!self.plan_.empty ()) {
    self.next_piece ();
  }
}

void
RawConnection::watch_client ()
{
  auto *ctx = new Holder (shared_from_this ());
  g_input_stream_read_async (g_io_stream_get_input_stream (stream_.get ()), read_buf_, sizeof read_buf_,
      G_PRIORITY_DEFAULT, cancellable_.get (), on_read, ctx);
}

/* EOF or an error: the client went away. Anything else is ignored. */
void
RawConnection::on_read (GObject * source, GAsyncResult * res, gpointer data)
{
  std::unique_ptr<Holder> ctx (static_cast<Holder *> (data));
  RawConnection & self = **ctx;
  GErrorPtr err;
  const gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), res, out_error (err));
  if (self.closed_)
    return;
  if (n > 0) {
    self.watch_client ();
    return;
  }
  self.owner_->log_line ("#" + std::to_string (self.index_) + " " + self.answer_.kind +
      ": client disconnected after " + std::to_string (self.sent_) + " bytes sent");
  self.close ();
}

gboolean
RawConnection::on_tick (gpointer data)
{
  auto *self = static_cast<RawConnection *> (data);
  if (!self->writing_)
    self->write (chunk (std::string (self->answer_.chunk_bytes, 'A')), false);
  return G_SOURCE_CONTINUE;
}

}  // namespace gemini::emulator

/* gst-gemini: incremental splitting of a text/event-stream (Server-Sent
 * Events) body into its events' data.
 *
 * streamGenerateContent?alt=sse answers with `data: {JSON}` events separated
 * by blank lines (https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent).
 * Bytes arrive in whatever pieces the network gives; feed () takes each
 * piece and hands back the data of every event it completed. Lines end in
 * CRLF, LF or CR, as the SSE format allows (and as @google/genai's reader,
 * github.com/googleapis/js-genai src/_api_client.ts, accepts), also when a
 * CRLF is split across two pieces. Several `data:` lines of one event are
 * joined with '\n'; comment lines (':') and other fields (event:, id:,
 * retry:) are ignored; an event without data is dropped.
 *
 * One event may be many megabytes (a 4K image and its signature arrive in
 * one event): the only bound is `max_event_bytes`, the data of one event
 * plus the line being read. Each byte is scanned once, whatever the piece
 * sizes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <string>
#include <vector>

namespace gemini {

class SseSplitter {
public:
  explicit SseSplitter (gsize max_event_bytes) : max_ (max_event_bytes) {}

  enum class Status {
    Ok,
    /* An event grew past max_event_bytes: the stream is unusable, and
     * further feed () calls return TooLarge at once. */
    TooLarge,
  };

  /* Appends the data of each event completed by these bytes to `events`. */
  Status feed (const char * data, gsize size, std::vector<std::string> & events);

  /* True when bytes of an unfinished event are held: a stream that ends
   * here was cut off (the SSE format drops such an event). */
  bool pending () const { return !line_.empty () || has_data_; }

  /* Bytes held for the unfinished event. */
  gsize held () const { return line_.size () + data_.size (); }

private:
  void end_line (std::vector<std::string> & events);

  gsize max_;
  std::string line_;       /* the line being read, without its end */
  std::string data_;       /* the event's data so far */
  bool has_data_ = false;  /* a data field was seen (its value may be empty) */
  bool after_cr_ = false;  /* the last byte was a CR: a following LF ends nothing */
  bool started_ = false;   /* past a leading byte order mark, if any */
  bool failed_ = false;
};

}  // namespace gemini

/* gst-gemini: incremental Server-Sent Events splitting. See gemini-sse.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-sse.h"

#include <cstring>

namespace gemini {

SseSplitter::Status
SseSplitter::feed (const char * data, gsize size, std::vector<std::string> & events)
{
  if (failed_)
    return Status::TooLarge;
  const char *p = data;
  const char *end = data + size;
  if (!started_ && p < end) {
    /* The format allows one UTF-8 BOM at the very start; it may come split. */
    static const char kBom[] = "\xEF\xBB\xBF";
    while (p < end && line_.size () < 3 && *p == kBom[line_.size ()])
      line_ += *p++;
    if (line_.size () == 3) {
      line_.clear ();
      started_ = true;
    } else if (p < end) {
      started_ = true;   /* not a BOM: what was held is line content */
    }
  }
  while (p < end) {
    if (after_cr_) {
      after_cr_ = false;
      if (*p == '\n') {
        p++;
        continue;
      }
    }
    /* The next line end; everything before it is line content, copied at once. */
    const char *stop = p;
    while (stop < end && *stop != '\n' && *stop != '\r')
      stop++;
    if (gsize (stop - p) > max_ || line_.size () + data_.size () + gsize (stop - p) > max_) {
      failed_ = true;
      line_.clear ();
      data_.clear ();
      return Status::TooLarge;
    }
    line_.append (p, gsize (stop - p));
    p = stop;
    if (p == end)
      break;
    after_cr_ = *p == '\r';
    p++;
    end_line (events);
  }
  return Status::Ok;
}

void
SseSplitter::end_line (std::vector<std::string> & events)
{
  if (line_.empty ()) {
    /* A blank line dispatches the event; the last data line's '\n' goes. */
    if (has_data_) {
      if (!data_.empty () && data_.back () == '\n')
        data_.pop_back ();
      events.push_back (std::move (data_));
    }
    data_.clear ();
    has_data_ = false;
    return;
  }
  if (line_[0] == ':') {
    line_.clear ();
    return;
  }
  /* "field: value" (one space after the colon is not part of the value);
   * a line without a colon is a field with an empty value. */
  const gsize colon = line_.find (':');
  const gsize name_len = colon == std::string::npos ? line_.size () : colon;
  if (name_len == 4 && line_.compare (0, 4, "data") == 0) {
    gsize value = colon == std::string::npos ? line_.size () : colon + 1;
    if (value < line_.size () && line_[value] == ' ')
      value++;
    if (!has_data_ && data_.empty ()) {
      /* The common case, one data line: no copy of a megabyte line. */
      line_.erase (0, value);
      data_ = std::move (line_);
    } else {
      data_.append (line_, value, std::string::npos);
    }
    data_ += '\n';
    has_data_ = true;
  }
  line_.clear ();
}

}  // namespace gemini

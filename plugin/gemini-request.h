/* gst-gemini: what one image asks for, where it goes, and how hard to try.
 *
 * A RequestSpec is everything that decides the answer (model, prompt,
 * configuration, reference bytes) and nothing else: no key, no retry
 * policy. The element builds one per image, in input order; the scheduler
 * and the attempt runner only read it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <memory>
#include <string>

#include "gemini-block-store.h"
#include "gemini-image.h"
#include "gemini-protocol.h"

namespace gemini {

struct RequestSpec {
  guint64 index = 0;          /* the image's place in the stream, from 0 */
  std::string model;          /* the resolved id */
  std::string alias;          /* the alias it came from, or "" */
  RequestSettings request;    /* prompt, configuration, reference images */
};

enum class Api { Gemini, Vertex };

/* Where requests go, and as whom. */
struct Target {
  Api api = Api::Gemini;
  std::string endpoint;       /* api-endpoint as given, or the API's own */
  std::string server;         /* its scheme://host[:port], for messages */
  /* Vertex: the project ("" = express mode, with api_key) and location. */
  std::string project;
  std::string location;
  std::string api_key;        /* sent as x-goog-api-key, when not empty */
  std::string access_token;   /* Vertex: sent as Authorization: Bearer, when not empty */
};

/* The generateContent URL of `model` at `target` (never with a credential);
 * `stream`: streamGenerateContent?alt=sse. */
inline std::string
target_request_url (const Target & target, const std::string & model, bool stream = false)
{
  if (target.api == Api::Vertex)
    return build_vertex_request_url (target.endpoint, target.project, target.location, model, stream);
  return build_request_url (target.endpoint, model, stream);
}

/* How hard to try for one image. */
struct AttemptPolicy {
  guint request_timeout = 600;      /* s, one attempt */
  guint deadline = 1800;            /* s, the whole image */
  guint max_attempts = 5;           /* transient failures */
  guint rate_limit_attempts = 8;    /* 429s */
  guint content_retries = 2;        /* answers without a usable image */
  double retry_backoff = 1.0;       /* s, doubled per retry */
  double retry_backoff_max = 60.0;  /* s */
  gsize max_response_size = 128u * 1024u * 1024u;
  guint64 max_image_pixels = 8192ull * 8192ull;
  /* Hand back the answer's candidates[0].content (Generated::model_content)
   * for edit-mode's history. Off: megabytes of text nobody reads. */
  bool keep_model_content = false;
  /* Read only the image's header, not its pixels: the output passes the
   * model's bytes on (image/jpeg or image/png downstream). */
  bool header_only = false;
  /* Decode to RGBA, A = 255 for opaque images: the output negotiated RGBA
   * (OutputStage::decodes_to_rgba). */
  bool rgba = false;
  /* Where decoded frames get their memory, and give it back; null: the
   * heap. Shared with the output, which returns each frame's block. */
  std::shared_ptr<BlockStore> frames;
  /* Where HTTP bodies get their buffer; given back with the image decoded
   * in it (classify_http_response_in_place). */
  std::shared_ptr<BlockStore> bodies;
  /* Thought previews: ask with includeThoughts over
   * streamGenerateContent?alt=sse and hand each draft image over as it
   * arrives (AttemptRunner::Events::preview). The final image is the same. */
  bool previews = false;
};

}  // namespace gemini

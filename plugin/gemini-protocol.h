/* gst-gemini: the Gemini generateContent protocol for image generation.
 *
 * Builds request bodies and turns every HTTP exchange (or transport failure)
 * into one classified Response. All knowledge of what Gemini answers, and
 * what each answer means for a caller, lives in this file pair; the element
 * only acts on Response::outcome and Response::action.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gemini-block-store.h"
#include "glib-raii.h"

namespace gemini {

inline constexpr const char *kDefaultEndpoint = "https://generativelanguage.googleapis.com";
/* An alias of the model catalogue (gemini-models.h): the current Flash
 * image model. */
inline constexpr const char *kDefaultModel = "nano-banana";
inline constexpr const char *kApiVersion = "v1beta";
/* Vertex AI's global endpoint; a regional location has its own host. */
inline constexpr const char *kVertexGlobalEndpoint = "https://aiplatform.googleapis.com";
inline constexpr const char *kVertexDefaultLocation = "global";

/* One image sent along with the prompt as inlineData. */
struct ReferenceImage {
  std::string origin;     /* where it came from, for messages: a file path */
  std::string mime_type;  /* detected from the bytes */
  GBytesPtr data;

  ReferenceImage () = default;
  ReferenceImage (std::string o, std::string m, GBytesPtr d)
      : origin (std::move (o)), mime_type (std::move (m)), data (std::move (d)) {}
  /* Copies share the bytes (a GBytes reference): a request spec is copied
   * for a hedge, never its megabytes. */
  ReferenceImage (const ReferenceImage & other)
      : origin (other.origin), mime_type (other.mime_type),
        data (other.data ? g_bytes_ref (other.data.get ()) : nullptr) {}
  ReferenceImage & operator= (const ReferenceImage & other)
  {
    if (this != &other) {
      origin = other.origin;
      mime_type = other.mime_type;
      data.reset (other.data ? g_bytes_ref (other.data.get ()) : nullptr);
    }
    return *this;
  }
  ReferenceImage (ReferenceImage &&) = default;
  ReferenceImage & operator= (ReferenceImage &&) = default;
};

/* One earlier exchange of an edit conversation (edit-mode): what was asked
 * and what the model answered. */
struct Turn {
  std::string prompt;
  std::vector<ReferenceImage> references;
  /* The answer's candidates[0].content as JSON text (Response::model_content):
   * role "model" and every part in order, thought parts and each
   * thoughtSignature included. Sent back as is: the Gemini API answers 400
   * to a model image part without its signature. */
  std::string model_content;
};

/* Everything a generateContent request for one image depends on. Empty
 * strings and unset optionals are omitted from the JSON, so that the server
 * applies its own defaults (as @google/genai does). */
struct RequestSettings {
  std::string prompt;
  std::string system_instruction;
  std::string aspect_ratio;       /* "16:9"; "" = server default */
  std::string image_size;         /* "512" | "1K" | "2K" | "4K"; "" = server default */
  std::string thinking_level;     /* "MINIMAL" ... "HIGH"; "" = server default */
  /* thinkingConfig.includeThoughts: the model's thought text and draft
   * images come back as thought parts (the previews of a stream). */
  bool include_thoughts = false;
  bool text_and_image = false;    /* responseModalities ["TEXT","IMAGE"] vs ["IMAGE"] */
  bool google_search = false;     /* tools [{"googleSearch": {}}] */
  std::optional<double> temperature;
  std::optional<gint64> seed;
  std::vector<ReferenceImage> references;
  /* Earlier turns, oldest first, sent before this prompt (edit-mode). Empty:
   * a single user turn. */
  std::vector<Turn> history;
};

/* The JSON body for :generateContent: `contents` is, for each turn of the
 * history, its user content then its model content, and last this prompt
 * with its references. A turn whose model content is not a content with
 * parts (not JSON, no parts, an empty part) is left out with its prompt, as
 * @google/genai's Chat leaves such turns out of its history. */
GBytes *build_request_body (const RequestSettings & settings);

/* "https://host/v1beta": the endpoint with the API version appended,
 * unless it already ends in a version segment ("/v1beta", "/v1"). */
std::string build_api_base (const std::string & endpoint);

/* "https://host/v1beta/models/MODEL:generateContent", or with `stream`
 * ".../MODEL:streamGenerateContent?alt=sse" (Server-Sent Events). An
 * endpoint that already ends in a version segment ("/v1beta", "/v1") is
 * used as is. */
std::string build_request_url (const std::string & endpoint, const std::string & model, bool stream = false);

/* Vertex AI's endpoint for `location`: https://aiplatform.googleapis.com
 * for "global" (or ""), https://LOC-aiplatform.googleapis.com otherwise. */
std::string vertex_default_endpoint (const std::string & location);

/* Vertex AI's generateContent URL. With a project (OAuth access token):
 * ENDPOINT/v1/projects/P/locations/L/publishers/google/models/M:generateContent.
 * Without (express mode, an API key, as google-genai sends it):
 * ENDPOINT/v1beta1/publishers/google/models/M:generateContent. The
 * endpoint's trailing '/' are dropped; any path it has is kept as a prefix
 * (a gateway's). `stream`: :streamGenerateContent?alt=sse instead. */
std::string build_vertex_request_url (const std::string & endpoint, const std::string & project,
    const std::string & location, const std::string & model, bool stream = false);

/* A project or location as a URL path segment: 1 to 128 letters, digits,
 * '-' and '_'. */
bool vertex_segment_is_valid (const std::string & segment);

/* Checks a model id before it goes into a URL path. */
bool model_id_is_valid (const std::string & model);

/* What happened, one value per class the caller must treat differently. */
enum class Outcome {
  Image,              /* a final (non-thought) image came back */
  TextOnly,           /* finishReason STOP (or none) but no image part */
  NoImage,            /* finishReason NO_IMAGE */
  ImageOther,         /* finishReason IMAGE_OTHER */
  ContentBlocked,     /* SAFETY, IMAGE_SAFETY, PROHIBITED_CONTENT, RECITATION, BLOCKLIST, SPII, ... */
  PromptBlocked,      /* promptFeedback.blockReason, HTTP 200, no candidates */
  OtherFinish,        /* MAX_TOKENS, OTHER, LANGUAGE, ... without an image */
  BadRequest,         /* HTTP 400 */
  Unauthenticated,    /* HTTP 401 */
  PermissionDenied,   /* HTTP 403 (and 402) */
  NotFound,           /* HTTP 404 */
  RateLimited,        /* HTTP 429 */
  ServerError,        /* HTTP 408, 500, 502, 503, 504 */
  HttpError,          /* any other non-2xx */
  Redirected,         /* HTTP 3xx: never followed (the key would go along) */
  ErrorInBody,        /* HTTP 200 whose body is {"error": ...} */
  MalformedResponse,  /* body is not the JSON we expect */
  CorruptImageData,   /* inlineData.data is not valid base64 */
  UndecodableImage,   /* the image bytes do not decode */
  ImageTooLarge,      /* the image header announces more pixels than allowed */
  Transport,          /* DNS, connect, reset, premature end of body */
  TlsError,           /* certificate not trusted, handshake refused */
  Timeout,            /* the attempt's deadline passed */
  TooLarge,           /* the body exceeded the response size limit */
  Cancelled,          /* we cancelled it (flush, state change) */
};

/* What a caller should do about an outcome. */
enum class Action {
  Deliver,       /* use the image */
  Retry,         /* transient: back off and try again */
  RetryContent,  /* the model did not draw; a retry may help, budget kept small */
  Fail,          /* retrying cannot help: report the reason */
  Stop,          /* cancelled: say nothing */
};

const char *outcome_name (Outcome outcome);
Action action_for (Outcome outcome);

/* What a TlsError was about, so that its hint fits. */
enum class TlsFailure {
  None,               /* not a TlsError */
  Certificate,        /* the server's certificate is not trusted */
  ClientCertificate,  /* the server asked for a client certificate */
  Handshake,          /* no TLS handshake completed: often a plain-http server */
  Unavailable,        /* no TLS backend in the process (glib-networking) */
};

struct Usage {
  gint64 prompt_tokens = -1;
  gint64 candidates_tokens = -1;
  gint64 thoughts_tokens = -1;
  gint64 total_tokens = -1;
};

struct Response {
  Outcome outcome = Outcome::MalformedResponse;
  Action action = Action::Fail;

  guint http_status = 0;           /* or, inside a 200, a valid error.code (100..599) */
  std::optional<gint64> error_code; /* error.code as sent, whatever its value */
  std::string gemini_status;      /* error.status, e.g. RESOURCE_EXHAUSTED */
  std::string error_message;      /* error.message, or the transport error */
  std::string error_reason;       /* google.rpc.ErrorInfo.reason, e.g. API_KEY_INVALID */

  /* Redirected: the Location as scheme://host[:port] (never userinfo or
   * path), "" when there was none. */
  std::string redirect_target;

  /* Transport and TLS failures: the server as scheme://host[:port] (never
   * userinfo or path), "" when the caller did not say. */
  std::string server;
  TlsFailure tls_failure = TlsFailure::None;

  std::string finish_reason;
  std::string finish_message;
  std::string block_reason;
  std::string block_reason_message;
  std::string model_text;         /* the model's non-thought text parts, joined */

  std::string model_version;
  std::string response_id;
  Usage usage;

  /* Server-requested wait before a retry: RetryInfo.retryDelay or
   * Retry-After, the larger if both came. Finite and not negative, but it
   * may be absurd (1e10 s): compare it as a double before converting it to
   * a clock type. */
  std::optional<double> retry_delay_seconds;
  /* What the server sent for it, verbatim but bounded (40 printable
   * characters), to quote when the wait is refused:
   * `RetryInfo.retryDelay "1e10s"` or `Retry-After: 99999999999`. "" when
   * retry_delay_seconds is unset. */
  std::string retry_delay_source;
  std::string quota_id;           /* first QuotaFailure violation's quotaId */
  bool quota_exhausted_for_day = false; /* per-day quota or "limit: 0": not worth retrying */

  /* The final image: the last inlineData image part that is not a thought. */
  GBytesPtr image;
  std::string image_mime_type;    /* as declared; decode by magic bytes anyway */
  guint image_parts = 0;          /* final image parts seen */
  guint thought_image_parts = 0;  /* draft images skipped */

  /* With ModelContent::Keep, a 2xx answer's candidates[0].content as
   * compact JSON text, every member and part in the order received (thought
   * parts, thoughtSignature strings unchanged): a Turn's model_content. ""
   * otherwise, or when the answer has no content object. */
  std::string model_content;

  /* For a user: what happened and, where it helps, what to do. Whole
   * sentences, the last ending with exactly one '.', '?' or '!', so that a
   * caller can append another. */
  std::string describe () const;
};

/* Whether classify_http_response () hands back candidates[0].content as
 * JSON text (Response::model_content). Only edit-mode needs it, and the text
 * repeats the image's base64 and the thought signatures: megabytes. */
enum class ModelContent { Drop, Keep };

/* Classifies a complete HTTP exchange. `retry_after` is the Retry-After
 * header value or nullptr. `body` may be nullptr (empty). For a 3xx,
 * `redirect_target` is where the Location points, or nullptr: only its
 * scheme://host[:port] is kept. */
Response classify_http_response (guint status, const char *retry_after, GBytes * body,
    const char *redirect_target = nullptr, ModelContent model_content = ModelContent::Drop);

/* The same, taking the body: the image's base64 is decoded where the body
 * holds it, so a 2xx answer never has its megabytes copied, and the body's
 * memory becomes Response::image (the rest of it freed). With `store`, the
 * body's buffer, `capacity` bytes (0: its size), is not shrunk but given
 * back to it when the image is freed, for the next answer's body. */
Response classify_http_response_in_place (guint status, const char *retry_after, GBytesPtr body,
    const char *redirect_target = nullptr, ModelContent model_content = ModelContent::Drop,
    std::shared_ptr<BlockStore> store = nullptr, gsize capacity = 0);

/* A streamGenerateContent answer (HTTP 200, text/event-stream), put
 * together from its events' data as they come: each event is a partial
 * GenerateContentResponse whose parts continue the ones before
 * (https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent).
 * result () classifies the merged answer exactly as classify_http_response ()
 * classifies a unary one, so every outcome and action is the same. Not
 * thread-safe: one thread at a time (the attempt's serial worker). */
class StreamAnswer {
public:
  StreamAnswer ();
  ~StreamAnswer ();
  StreamAnswer (const StreamAnswer &) = delete;
  StreamAnswer & operator= (const StreamAnswer &) = delete;

  /* One event's data. An event that is an error object ({"error": ...},
   * sent after the 200) or not a JSON object settles the answer: later
   * events are ignored and result () gives it. Each draft (thought) image
   * the event carries is appended to `thought_images` as its bytes; data
   * that is not valid base64 is skipped. */
  void add_event (const char *data, gsize size, std::vector<GBytesPtr> *thought_images = nullptr);
  bool settled () const { return settled_.has_value (); }
  guint events () const { return events_; }

  /* The answer once the stream ended. A stream that ended without a
   * finishReason (and without a prompt block or an error) was cut off
   * between two events: a Transport failure. */
  Response result (ModelContent model_content = ModelContent::Drop);

private:
  struct Merged;
  std::unique_ptr<Merged> merged_;
  std::optional<Response> settled_;
  guint events_ = 0;
};

/* Classifies a failure before or while the body arrived. `server`, if not
 * nullptr, is the endpoint's URL: its scheme://host[:port] is named in the
 * message (nothing else of it). */
Response classify_transport_error (const GError * error, const char *server = nullptr);
Response make_timeout_response (double seconds);
Response make_too_large_response (gsize limit);
Response make_cancelled_response ();

/* Turns an Image response whose bytes did not decode into the matching
 * failure: UndecodableImage, or ImageTooLarge for a pixel-limit refusal. */
void mark_undecodable (Response & response, const std::string & decode_error, bool over_pixel_limit);

/* Parses a google.protobuf.Duration JSON string ("53s", "34.4s", "1e10s"):
 * decimal only, finite, not negative. */
std::optional<double> parse_duration_seconds (const char *text);
/* Parses a Retry-After value: delta-seconds (saturated, never wrapped) or
 * an HTTP date (0 when past). */
std::optional<double> parse_retry_after (const char *value);

/* Strict base64 (standard alphabet, padding optional, whitespace ignored). */
GBytes *decode_base64_strict (const char *text, gsize length);

}  // namespace gemini

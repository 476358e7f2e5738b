/* The edit-mode request body for the genai-client test: a first answer,
 * exactly as the server sent it, classified the way the attempt runner does
 * (ModelContent::Keep), and the next prompt built on it with
 * build_request_body (). run-genai-test.sh compares the output with the body
 * @google/genai's Chat sends for the same conversation.
 *
 *   genai-history-body --answer ANSWER.json --prompt1 P --prompt2 P \
 *     [--reference FILE.png] [--aspect-ratio 1:1] > BODY.json
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "gemini-protocol.h"

using namespace gemini;

static GBytes *
read_or_die (const char *path)
{
  gchar *data = nullptr;
  gsize size = 0;
  GError *error = nullptr;
  if (!g_file_get_contents (path, &data, &size, &error)) {
    fprintf (stderr, "genai-history-body: %s\n", error->message);
    g_error_free (error);
    exit (2);
  }
  return g_bytes_new_take (data, size);
}

int
main (int argc, char **argv)
{
  const char *answer = nullptr, *prompt1 = nullptr, *prompt2 = nullptr, *reference = nullptr;
  const char *aspect_ratio = nullptr;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *v = argv[i + 1];
    if (!strcmp (argv[i], "--answer"))
      answer = v;
    else if (!strcmp (argv[i], "--prompt1"))
      prompt1 = v;
    else if (!strcmp (argv[i], "--prompt2"))
      prompt2 = v;
    else if (!strcmp (argv[i], "--reference"))
      reference = v;
    else if (!strcmp (argv[i], "--aspect-ratio"))
      aspect_ratio = v;
    else {
      fprintf (stderr, "genai-history-body: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (!answer || !prompt1 || !prompt2) {
    fprintf (stderr, "genai-history-body: --answer, --prompt1 and --prompt2 are required\n");
    return 2;
  }

  GBytesPtr body (read_or_die (answer));
  Response r = classify_http_response (200, nullptr, body.get (), nullptr, ModelContent::Keep);
  if (r.outcome != Outcome::Image || r.model_content.empty ()) {
    fprintf (stderr, "genai-history-body: the first answer is not an image: %s\n", r.describe ().c_str ());
    return 1;
  }

  Turn first;
  first.prompt = prompt1;
  first.model_content = std::move (r.model_content);
  if (reference) {
    /* The test's reference is a PNG it wrote itself. */
    first.references.emplace_back (reference, "image/png", GBytesPtr (read_or_die (reference)));
  }
  RequestSettings s;
  s.prompt = prompt2;
  if (aspect_ratio)
    s.aspect_ratio = aspect_ratio;
  s.history.push_back (std::move (first));
  GBytesPtr out (build_request_body (s));
  gsize size = 0;
  const void *data = g_bytes_get_data (out.get (), &size);
  fwrite (data, 1, size, stdout);
  return 0;
}

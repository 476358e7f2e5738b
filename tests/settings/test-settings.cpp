/* Unit tests of plugin/gemini-settings.cpp: the element's properties
 * installed on a bare GObject class whose set/get_property call
 * settings_set/settings_get. Every default read back equals its pspec's
 * default, a set/get round trip for each value type, api-key write-only.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <string>

#include "gemini-settings.h"

#include <gst/check/gstcheck.h>

using namespace gemini;

/* *INDENT-OFF* */
namespace {

/* A GObject with the element's properties and nothing else. */
struct TestHolder {
  GObject parent;
  Settings *settings;
};
struct TestHolderClass {
  GObjectClass parent_class;
};

/* A TLS database that trusts nothing, for the object property. */
struct TestTlsDatabase {
  GTlsDatabase parent;
};
struct TestTlsDatabaseClass {
  GTlsDatabaseClass parent_class;
};

}  // namespace
/* *INDENT-ON* */

G_DEFINE_TYPE (TestHolder, test_holder, G_TYPE_OBJECT);
G_DEFINE_TYPE (TestTlsDatabase, test_tls_database, G_TYPE_TLS_DATABASE);

static void
test_holder_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec)
{
  if (!settings_set (*((TestHolder *) object)->settings, prop_id, value))
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
test_holder_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  if (!settings_get (*((TestHolder *) object)->settings, prop_id, value))
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
test_holder_finalize (GObject * object)
{
  delete ((TestHolder *) object)->settings;
  G_OBJECT_CLASS (test_holder_parent_class)->finalize (object);
}

static void
test_holder_class_init (TestHolderClass * klass)
{
  auto gobject_class = G_OBJECT_CLASS (klass);
  gobject_class->set_property = test_holder_set_property;
  gobject_class->get_property = test_holder_get_property;
  gobject_class->finalize = test_holder_finalize;
  gemini_settings_install (gobject_class);
}

static void
test_holder_init (TestHolder * self)
{
  self->settings = new Settings ();
}

static void
test_tls_database_class_init (TestTlsDatabaseClass *)
{
}

static void
test_tls_database_init (TestTlsDatabase *)
{
}

static GParamSpec *
find (const char *name)
{
  auto klass = (GObjectClass *) g_type_class_peek (test_holder_get_type ());
  GParamSpec *pspec = g_object_class_find_property (klass, name);
  fail_unless (pspec != nullptr, "no property %s", name);
  return pspec;
}

/* Sets `name` to `in` in a fresh Settings and reads it back into `out`. */
static void
round_trip (const char *name, const GValue * in, GValue * out)
{
  GParamSpec *pspec = find (name);
  Settings s;
  fail_unless (settings_set (s, pspec->param_id, in), "%s not set", name);
  g_value_init (out, pspec->value_type);
  fail_unless (settings_get (s, pspec->param_id, out), "%s not read", name);
}

GST_START_TEST (test_defaults)
{
  /* As the test environment has it: no GOOGLE_GEMINI_BASE_URL, so the
   * endpoint read back is api-endpoint's default. */
  g_unsetenv ("GOOGLE_GEMINI_BASE_URL");
  /* Nor a Vertex AI setup: api, project and location read back their
   * defaults. */
  for (const char *name : {"GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION"})
    g_unsetenv (name);
  auto klass = (GObjectClass *) g_type_class_ref (test_holder_get_type ());
  guint n = 0;
  GParamSpec **pspecs = g_object_class_list_properties (klass, &n);
  fail_unless_equals_int (n, PROP_LAST_SETTING);
  const Settings s;
  guint readable = 0;
  for (guint i = 0; i < n; i++) {
    GParamSpec *pspec = pspecs[i];
    if (!(pspec->flags & G_PARAM_READABLE))
      continue;
    readable++;
    GValue value = G_VALUE_INIT;
    g_value_init (&value, pspec->value_type);
    fail_unless (settings_get (s, pspec->param_id, &value), "%s is not read back", pspec->name);
    if (g_str_equal (pspec->name, "user-agent")) {
      /* NULL: the agent in effect is read back, not NULL. */
      const std::string agent = default_user_agent (s);
      fail_unless_equals_string (g_value_get_string (&value), agent.c_str ());
      fail_unless (g_str_has_prefix (g_value_get_string (&value), "gst-gemini/"));
    } else {
      GCharPtr got (g_strdup_value_contents (&value));
      GCharPtr want (g_strdup_value_contents (g_param_spec_get_default_value (pspec)));
      fail_unless (g_param_values_cmp (pspec, &value, g_param_spec_get_default_value (pspec)) == 0,
          "%s: default %s, read back %s", pspec->name, want.get (), got.get ());
    }
    g_value_unset (&value);
  }
  /* Every property but api-key and access-token. */
  fail_unless_equals_int (readable, n - 2);
  g_free (pspecs);

  /* A new object reads the same through GObject. */
  GObject *holder = (GObject *) g_object_new (test_holder_get_type (), nullptr);
  gint num_buffers = 0;
  gchar *model = nullptr;
  g_object_get (holder, "num-buffers", &num_buffers, "model", &model, nullptr);
  fail_unless_equals_int (num_buffers, DEFAULT_NUM_BUFFERS);
  fail_unless_equals_string (model, DEFAULT_MODEL);
  g_free (model);
  g_object_unref (holder);
  g_type_class_unref (klass);
}
GST_END_TEST;

GST_START_TEST (test_round_trips)
{
  g_type_class_ref (test_holder_get_type ());
  GValue in = G_VALUE_INIT, out = G_VALUE_INIT;

  g_value_init (&in, G_TYPE_STRING);
  g_value_set_string (&in, "a banana astronaut");
  round_trip ("prompt", &in, &out);
  fail_unless_equals_string (g_value_get_string (&out), "a banana astronaut");
  g_value_unset (&in);
  g_value_unset (&out);

  g_value_init (&in, GST_TYPE_GEMINI_ASPECT_RATIO);
  g_value_set_enum (&in, GST_GEMINI_ASPECT_RATIO_16_9);
  round_trip ("aspect-ratio", &in, &out);
  fail_unless_equals_int (g_value_get_enum (&out), GST_GEMINI_ASPECT_RATIO_16_9);
  g_value_unset (&in);
  g_value_unset (&out);

  g_value_init (&in, G_TYPE_BOOLEAN);
  g_value_set_boolean (&in, TRUE);
  round_trip ("google-search", &in, &out);
  fail_unless (g_value_get_boolean (&out));
  g_value_unset (&in);
  g_value_unset (&out);

  g_value_init (&in, G_TYPE_BOOLEAN);
  g_value_set_boolean (&in, TRUE);
  round_trip ("previews", &in, &out);
  fail_unless (g_value_get_boolean (&out));
  fail_unless (find ("previews")->flags & GST_PARAM_MUTABLE_READY);
  g_value_unset (&in);
  g_value_unset (&out);

  g_value_init (&in, G_TYPE_UINT);
  g_value_set_uint (&in, 7);
  round_trip ("num-images", &in, &out);
  fail_unless_equals_int (g_value_get_uint (&out), 7);
  g_value_unset (&in);
  g_value_unset (&out);

  g_value_init (&in, G_TYPE_UINT64);
  g_value_set_uint64 (&in, 3 * GST_SECOND);
  round_trip ("image-duration", &in, &out);
  fail_unless_equals_uint64 (g_value_get_uint64 (&out), 3 * GST_SECOND);
  g_value_unset (&in);
  g_value_unset (&out);

  g_value_init (&in, G_TYPE_DOUBLE);
  g_value_set_double (&in, 0.04);
  round_trip ("price-per-image", &in, &out);
  fail_unless_equals_float (g_value_get_double (&out), 0.04);
  g_value_unset (&out);
  round_trip ("max-cost", &in, &out);
  fail_unless_equals_float (g_value_get_double (&out), 0.04);
  g_value_unset (&in);
  g_value_unset (&out);

  g_value_init (&in, GST_TYPE_GEMINI_COST_ACTION);
  g_value_set_enum (&in, GST_GEMINI_COST_ACTION_SKIP);
  round_trip ("max-cost-action", &in, &out);
  fail_unless_equals_int (g_value_get_enum (&out), GST_GEMINI_COST_ACTION_SKIP);
  g_value_unset (&in);
  g_value_unset (&out);

  g_value_init (&in, G_TYPE_DOUBLE);
  g_value_set_double (&in, 0.5);
  round_trip ("temperature", &in, &out);
  fail_unless_equals_float (g_value_get_double (&out), 0.5);
  g_value_unset (&in);
  g_value_unset (&out);

  g_value_init (&in, G_TYPE_INT64);
  g_value_set_int64 (&in, G_MAXINT32);
  round_trip ("seed", &in, &out);
  fail_unless_equals_int64 (g_value_get_int64 (&out), G_MAXINT32);
  g_value_unset (&in);
  g_value_unset (&out);

  g_value_init (&in, GST_TYPE_FRACTION);
  gst_value_set_fraction (&in, 30000, 1001);
  round_trip ("framerate", &in, &out);
  fail_unless_equals_int (gst_value_get_fraction_numerator (&out), 30000);
  fail_unless_equals_int (gst_value_get_fraction_denominator (&out), 1001);
  g_value_unset (&in);
  g_value_unset (&out);

  /* The settings hold a reference of their own, and drop it with NULL. */
  GObject *db = (GObject *) g_object_new (test_tls_database_get_type (), nullptr);
  GParamSpec *pspec = find ("tls-database");
  {
    Settings s;
    g_value_init (&in, G_TYPE_TLS_DATABASE);
    g_value_set_object (&in, db);
    fail_unless (settings_set (s, pspec->param_id, &in));
    g_value_unset (&in);
    fail_unless_equals_int (db->ref_count, 2);
    g_value_init (&out, G_TYPE_TLS_DATABASE);
    fail_unless (settings_get (s, pspec->param_id, &out));
    fail_unless (g_value_get_object (&out) == db);
    g_value_unset (&out);
    g_value_init (&in, G_TYPE_TLS_DATABASE);
    fail_unless (settings_set (s, pspec->param_id, &in));
    g_value_unset (&in);
    fail_unless_equals_int (db->ref_count, 1);
    g_value_init (&out, G_TYPE_TLS_DATABASE);
    fail_unless (settings_get (s, pspec->param_id, &out));
    fail_unless (g_value_get_object (&out) == nullptr);
    g_value_unset (&out);
  }
  fail_unless_equals_int (db->ref_count, 1);
  g_object_unref (db);
}
GST_END_TEST;

GST_START_TEST (test_api_key_write_only)
{
  g_type_class_ref (test_holder_get_type ());
  GParamSpec *pspec = find ("api-key");
  fail_unless (pspec->flags & G_PARAM_WRITABLE);
  fail_if (pspec->flags & G_PARAM_READABLE);

  Settings s;
  GValue value = G_VALUE_INIT;
  g_value_init (&value, G_TYPE_STRING);
  g_value_set_string (&value, "secret-key");
  fail_unless (settings_set (s, PROP_API_KEY, &value));
  fail_unless_equals_string (s.api_key.c_str (), "secret-key");
  /* Not read back: the value is left as it was. */
  g_value_set_string (&value, "unchanged");
  fail_if (settings_get (s, PROP_API_KEY, &value));
  fail_unless_equals_string (g_value_get_string (&value), "unchanged");
  /* Vertex AI's access token likewise. */
  g_value_set_string (&value, "ya29.secret-token");
  fail_unless (settings_set (s, PROP_ACCESS_TOKEN, &value));
  fail_unless_equals_string (s.access_token.c_str (), "ya29.secret-token");
  g_value_set_string (&value, "unchanged");
  fail_if (settings_get (s, PROP_ACCESS_TOKEN, &value));
  fail_unless_equals_string (g_value_get_string (&value), "unchanged");
  g_value_unset (&value);

  /* An id that is no property is neither set nor read. */
  GValue other = G_VALUE_INIT;
  g_value_init (&other, G_TYPE_UINT);
  fail_if (settings_set (s, PROP_LAST_SETTING + 1, &other));
  fail_if (settings_get (s, PROP_LAST_SETTING + 1, &other));
  fail_if (settings_get (s, PROP_0, &other));
  g_value_unset (&other);
}
GST_END_TEST;

/* api=vertex: the endpoint follows the location when a project is set,
 * express mode's is global; GOOGLE_GENAI_USE_VERTEXAI selects vertex only
 * when the property was not set. */
GST_START_TEST (test_vertex_endpoint)
{
  for (const char *name : {"GOOGLE_GEMINI_BASE_URL", "GOOGLE_VERTEX_BASE_URL", "GOOGLE_GENAI_USE_VERTEXAI",
           "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION"})
    g_unsetenv (name);
  Settings s;
  fail_unless_equals_int (effective_api (s), GST_GEMINI_API_GEMINI);
  g_setenv ("GOOGLE_GENAI_USE_VERTEXAI", "1", TRUE);
  fail_unless_equals_int (effective_api (s), GST_GEMINI_API_VERTEX);
  g_setenv ("GOOGLE_GENAI_USE_VERTEXAI", "false", TRUE);
  fail_unless_equals_int (effective_api (s), GST_GEMINI_API_GEMINI);
  g_setenv ("GOOGLE_GENAI_USE_VERTEXAI", "TRUE", TRUE);
  s.api = GST_GEMINI_API_GEMINI;
  fail_unless_equals_int (effective_api (s), GST_GEMINI_API_GEMINI);
  g_unsetenv ("GOOGLE_GENAI_USE_VERTEXAI");

  s.api = GST_GEMINI_API_VERTEX;
  s.location = "us-central1";
  std::string endpoint = effective_endpoint (s);
  fail_unless_equals_string (endpoint.c_str (), "https://aiplatform.googleapis.com");
  s.project = "p";
  endpoint = effective_endpoint (s);
  fail_unless_equals_string (endpoint.c_str (), "https://us-central1-aiplatform.googleapis.com");
  s.location.reset ();
  g_setenv ("GOOGLE_CLOUD_LOCATION", "europe-west4", TRUE);
  endpoint = effective_endpoint (s);
  fail_unless_equals_string (endpoint.c_str (), "https://europe-west4-aiplatform.googleapis.com");
  g_setenv ("GOOGLE_VERTEX_BASE_URL", "http://127.0.0.1:9", TRUE);
  endpoint = effective_endpoint (s);
  fail_unless_equals_string (endpoint.c_str (), "http://127.0.0.1:9");
  s.endpoint = "http://127.0.0.1:8";
  endpoint = effective_endpoint (s);
  fail_unless_equals_string (endpoint.c_str (), "http://127.0.0.1:8");
  g_unsetenv ("GOOGLE_VERTEX_BASE_URL");
  g_unsetenv ("GOOGLE_CLOUD_LOCATION");
}
GST_END_TEST;

static Suite *
settings_suite (void)
{
  Suite *s = suite_create ("settings");
  TCase *tc = tcase_create ("general");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_defaults);
  tcase_add_test (tc, test_round_trips);
  tcase_add_test (tc, test_api_key_write_only);
  tcase_add_test (tc, test_vertex_endpoint);
  return s;
}

GST_CHECK_MAIN (settings);

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Interoperability test: Google's own client (@google/genai, see
# genai-client.mjs) against gemini-emulator. Proves the emulator answers what
# the official SDK expects, and records the SDK's requests so the element test
# can compare its own requests with them.
#
# Usage: run-genai-test.sh [REQUESTS_OUT.json [HISTORY_BODY_TOOL]]
#   GEMINI_EMULATOR   path of the emulator binary (set by meson's test_env)
#   REQUESTS_OUT      where to save GET /emulator/requests (default: not kept)
#   HISTORY_BODY_TOOL genai-history-body (built by meson): our edit-mode body
#                     for the SDK Chat's conversation; without it that
#                     comparison is not made
# Exit status: 0 pass, 1 fail, 77 skip (no node/npm/node_modules).

set -u

here=$(cd "$(dirname "$0")" && pwd)
requests_out=${1:-}
history_body_tool=${2:-}

skip () { echo "SKIP: $*"; exit 77; }
die () { echo "FAIL: $*"; exit 1; }

command -v node >/dev/null 2>&1 || skip "node is not installed"
command -v npm >/dev/null 2>&1 || skip "npm is not installed"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] 2>/dev/null || skip "node $(node --version) is older than 20"
[ -d "$here/node_modules/@google/genai" ] ||
  skip "@google/genai is not installed; run: (cd $here && npm install --no-audit --no-fund)"
if [ -z "${GEMINI_EMULATOR:-}" ] || [ ! -x "$GEMINI_EMULATOR" ]; then
  die "GEMINI_EMULATOR ('${GEMINI_EMULATOR:-}') is not an executable emulator binary"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/genai-test.XXXXXX") || die "mktemp failed"
emu_pid=
# shellcheck disable=SC2317  # called through the trap
cleanup () {
  if [ -n "$emu_pid" ]; then
    kill "$emu_pid" 2>/dev/null
    wait "$emu_pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM  # the EXIT trap still cleans up

failures=0
pass () { echo "PASS: $*"; }
fail () { echo "FAIL: $*"; failures=$((failures + 1)); }

# --- start the emulator on a free port ---------------------------------------
# stdbuf: stdout is a file here, so make sure the "listening" line is not
# stuck in a stdio buffer.
linebuf=()
command -v stdbuf >/dev/null 2>&1 && linebuf=(stdbuf -oL)
"${linebuf[@]}" "$GEMINI_EMULATOR" --port 0 >"$tmp/emulator.out" 2>"$tmp/emulator.err" &
emu_pid=$!

base_url=
for _ in $(seq 200); do
  base_url=$(sed -n 's|.*listening on \(http://127\.0\.0\.1:[0-9][0-9]*\).*|\1|p' "$tmp/emulator.out" | head -n 1)
  [ -n "$base_url" ] && break
  if ! kill -0 "$emu_pid" 2>/dev/null; then
    wait "$emu_pid"
    echo "emulator exited with status $?; its output:"
    cat "$tmp/emulator.out" "$tmp/emulator.err"
    emu_pid=
    die "the emulator did not start"
  fi
  sleep 0.05
done
[ -n "$base_url" ] || { cat "$tmp/emulator.out" "$tmp/emulator.err"; die "the emulator did not print its address within 10 s"; }
echo "emulator at $base_url (pid $emu_pid)"

# --- a reference image --------------------------------------------------------
ref="$tmp/reference.png"
if command -v gst-launch-1.0 >/dev/null 2>&1; then
  gst-launch-1.0 -q videotestsrc num-buffers=1 pattern=red \
    ! video/x-raw,width=64,height=48 ! pngenc ! filesink location="$ref" >/dev/null 2>&1
fi
if [ ! -s "$ref" ]; then
  # No GStreamer tools: write the same 64x48 red PNG with node's zlib.
  node --input-type=module - "$ref" <<'EOF' || die "cannot write the reference PNG"
import * as zlib from 'node:zlib';
import { writeFileSync } from 'node:fs';
const crcOf = (buf) => {
  if (zlib.crc32) return zlib.crc32(buf);  // node >= 20.15
  let c = ~0;
  for (const b of buf) { c ^= b; for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1)); }
  return ~c >>> 0;
};
const chunk = (type, data) => {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crcOf(body) >>> 0);
  return Buffer.concat([len, body, crc]);
};
const w = 64, h = 48;
const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2;
const row = Buffer.alloc(1 + w * 3);
for (let x = 0; x < w; x++) row[1 + x * 3] = 255;
const raw = Buffer.concat(Array(h).fill(row));
writeFileSync(process.argv[2], Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]));
EOF
fi

# "PNG 1344x768" / "JPEG 2048x2048" / "unknown" from the file's own header.
image_info () {
  node --input-type=module - "$1" <<'EOF'
import { readFileSync } from 'node:fs';
const d = readFileSync(process.argv[2]);
let info = 'unknown';
if (d.length >= 24 && d.readUInt32BE(0) === 0x89504e47 && d.toString('latin1', 12, 16) === 'IHDR') {
  info = `PNG ${d.readUInt32BE(16)}x${d.readUInt32BE(20)}`;
} else if (d.length >= 4 && d[0] === 0xff && d[1] === 0xd8) {
  for (let i = 2; i + 9 < d.length;) {
    if (d[i] !== 0xff) break;
    const m = d[i + 1];
    if (m === 0xff) { i++; continue; }
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      info = `JPEG ${d.readUInt16BE(i + 7)}x${d.readUInt16BE(i + 5)}`;
      break;
    }
    i += 2 + d.readUInt16BE(i + 2);
  }
}
console.log(info);
EOF
}

# run_client NAME EXPECTED_MIME EXPECTED_INFO CLIENT_ARGS...
run_client () {
  local name=$1 mime=$2 expected=$3
  shift 3
  local out="$tmp/$name.out"
  if ! node "$here/genai-client.mjs" --base-url "$base_url" --out "$out" "$@" \
      >"$tmp/$name.json" 2>"$tmp/$name.err"; then
    fail "$name: genai-client failed: $(cat "$tmp/$name.err" "$tmp/$name.json")"
    return
  fi
  echo "$name: $(cat "$tmp/$name.json")"
  local got_mime
  got_mime=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).mimeType)' \
    "$tmp/$name.json")
  if [ "$got_mime" = "$mime" ]; then pass "$name: mimeType $mime"; else fail "$name: mimeType is $got_mime, expected $mime"; fi
  local info
  info=$(image_info "$out")
  if [ "$info" = "$expected" ]; then pass "$name: image is $info"; else fail "$name: image is $info, expected $expected"; fi
}

flash_prompt="A red fox in fresh snow, watercolour"
pro_prompt="A lighthouse on a cliff at dusk, with a one-line caption"
pro_system="Always answer with one image and a short caption."
strip_prompt="A tall paper banner of a climbing vine, today's weather in the corner"

# Expected sizes are the model catalogue's (plugin/gemini-models.cpp).
# (a) Nano Banana 2, image only, 16:9, one reference image: JPEG 1376x768.
run_client flash image/jpeg "JPEG 1376x768" \
  --model gemini-3.1-flash-image --prompt "$flash_prompt" \
  --aspect-ratio 16:9 --modalities IMAGE --reference "$ref"

# (b) Pro, 2K, text and image, with sampling options: JPEG 2048x2048.
run_client pro image/jpeg "JPEG 2048x2048" \
  --model gemini-3-pro-image --prompt "$pro_prompt" \
  --aspect-ratio 1:1 --image-size 2K --modalities TEXT,IMAGE \
  --temperature 0.5 --seed 7 --system-instruction "$pro_system"

# (c) Nano Banana 2's own options: 512, 1:8, thinking level HIGH, Google
# Search grounding: JPEG 192x1536.
run_client strip image/jpeg "JPEG 192x1536" \
  --model gemini-3.1-flash-image --prompt "$strip_prompt" \
  --aspect-ratio 1:8 --image-size 512 --modalities IMAGE \
  --thinking-level HIGH --google-search

# --- the element, with the same settings ---------------------------------------
# Its requests must be the ones Google's client sends (compared below).
run_element () {
  local name=$1
  shift
  if gst-launch-1.0 -q geminiimagesrc api-endpoint="$base_url" api-key=element-key "$@" \
      ! fakesink >"$tmp/$name.gst" 2>&1; then
    pass "$name: geminiimagesrc produced an image"
  else
    fail "$name: geminiimagesrc failed: $(cat "$tmp/$name.gst")"
  fi
}
element_ran=0
if command -v gst-launch-1.0 >/dev/null 2>&1; then
  element_ran=1
  # gemini-3.1-flash-image by id: the nano-banana alias names a newer model.
  # It is deprecated, so the element posts a WARNING; the image still comes.
  run_element element-flash model=gemini-3.1-flash-image prompt="$flash_prompt" \
    aspect-ratio=16:9 response-modalities=image reference-images="$ref"
  # The alias: the request must go to gemini-3-pro-image like the SDK's.
  run_element element-pro model=nano-banana-pro prompt="$pro_prompt" \
    aspect-ratio=1:1 image-size=2K response-modalities=text-and-image \
    temperature=0.5 seed=7 system-instruction="$pro_system"
  run_element element-strip model=gemini-3.1-flash-image prompt="$strip_prompt" \
    image-size=512 aspect-ratio=1:8 response-modalities=image \
    thinking-level=high google-search=true
fi

# --- a Chat of two turns (edit-mode) -----------------------------------------------
# Pro thinks: its answers carry thoughtSignatures, and with includeThoughts
# thought parts too; the SDK sends the first answer back in the second
# request. Last, so that the cases above keep their places in the log.
chat_prompt1="A small wooden boat on a calm lake"
chat_prompt2="Now the same boat at night, under a full moon"
run_client chat image/jpeg "JPEG 1024x1024" \
  --model gemini-3-pro-image --prompt "$chat_prompt1" --reference "$ref" \
  --aspect-ratio 1:1 --modalities IMAGE --include-thoughts \
  --then "$chat_prompt2" --first-answer-out "$tmp/chat-answer1.json"

# --- what reached the emulator --------------------------------------------------
requests="$tmp/requests.json"
# shellcheck disable=SC2016  # JavaScript, not shell
if node -e '
    fetch(process.argv[1]).then(async (r) => {
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      require("fs").writeFileSync(process.argv[2], await r.text());
    }).catch((e) => { console.error(e.message); process.exit(1); });' \
    "$base_url/emulator/requests" "$requests" 2>"$tmp/requests.err"; then
  pass "fetched $base_url/emulator/requests"
  if [ -n "$requests_out" ]; then
    cp "$requests" "$requests_out" && echo "saved the SDK's requests to $requests_out"
  fi
  # Check the SDK's wire format field by field.
  if ELEMENT_RAN=$element_ran FLASH_PROMPT="$flash_prompt" PRO_PROMPT="$pro_prompt" PRO_SYSTEM="$pro_system" \
      STRIP_PROMPT="$strip_prompt" node --input-type=module - "$requests" "$ref" <<'EOF'; then
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
const log = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const refB64 = readFileSync(process.argv[3]).toString('base64');
let bad = 0;
const check = (what, got, want) => {
  if (isDeepStrictEqual(got, want)) return;
  console.log(`FAIL: request ${what} is ${JSON.stringify(got)?.slice(0, 200)}, expected ${JSON.stringify(want)?.slice(0, 200)}`);
  bad++;
};
// Only the generateContent calls, in order: the SDK's three, then the
// element's three (anything else, such as a ListModels after a 404, is not
// one of the cases).
const all = Array.isArray(log)
  ? log.filter((r) => typeof r?.path !== 'string' || r.path.endsWith(':generateContent')) : log;
const cases = ['flash', 'pro', 'strip'];
const elementRan = process.env.ELEMENT_RAN === '1';
const expected = elementRan ? 2 * cases.length : cases.length;
if (!Array.isArray(all) || all.length < expected) {
  console.log(`FAIL: expected ${expected} recorded requests, got ${JSON.stringify(log)?.slice(0, 300)}`);
  process.exit(1);
}
const [flashEntry, proEntry, stripEntry] = all.slice(0, cases.length);
if (elementRan) {
  // Same settings, same bytes on the wire: the element's request bodies must
  // equal the SDK's (key order aside), and go to the same paths. Field by
  // field first, so that a difference is named, then the whole body.
  const fields = {
    path: (r) => r.path,
    contents: (r) => r.body?.contents,
    systemInstruction: (r) => r.body?.systemInstruction,
    tools: (r) => r.body?.tools,
    'tools[0].googleSearch': (r) => r.body?.tools?.[0]?.googleSearch,
    'generationConfig.responseModalities': (r) => r.body?.generationConfig?.responseModalities,
    'generationConfig.temperature': (r) => r.body?.generationConfig?.temperature,
    'generationConfig.seed': (r) => r.body?.generationConfig?.seed,
    'generationConfig.imageConfig': (r) => r.body?.generationConfig?.imageConfig,
    'generationConfig.imageConfig.aspectRatio': (r) => r.body?.generationConfig?.imageConfig?.aspectRatio,
    'generationConfig.imageConfig.imageSize': (r) => r.body?.generationConfig?.imageConfig?.imageSize,
    'generationConfig.thinkingConfig': (r) => r.body?.generationConfig?.thinkingConfig,
    'generationConfig.thinkingConfig.thinkingLevel': (r) => r.body?.generationConfig?.thinkingConfig?.thinkingLevel,
    'generationConfig keys': (r) => Object.keys(r.body?.generationConfig ?? {}).sort(),
    'body keys': (r) => Object.keys(r.body ?? {}).sort(),
  };
  const before = bad;
  all.slice(cases.length, 2 * cases.length).forEach((elem, i) => {
    const sdk = all[i];
    for (const [field, get] of Object.entries(fields)) {
      check(`element ${cases[i]} ${field} (vs @google/genai)`, get(elem), get(sdk));
    }
    check(`element ${cases[i]} body (vs @google/genai)`, elem.body, sdk.body);
  });
  if (bad === before) console.log('PASS: the element sends the same request paths and bodies as @google/genai');
}
const [flash, pro, strip] = [flashEntry, proEntry, stripEntry].map((r) => r.body ?? {});
// The endpoint path and the key header, when the emulator records them.
if ('path' in flashEntry) {
  check('flash path', flashEntry.path, '/v1beta/models/gemini-3.1-flash-image:generateContent');
  check('pro path', proEntry.path, '/v1beta/models/gemini-3-pro-image:generateContent');
  check('strip path', stripEntry.path, '/v1beta/models/gemini-3.1-flash-image:generateContent');
  // The element's pro case said model=nano-banana-pro: the alias is resolved
  // before the request, never sent.
  if (elementRan) check('element pro path (model=nano-banana-pro)', all[cases.length + 1].path,
    '/v1beta/models/gemini-3-pro-image:generateContent');
}
if ('api_key_present' in flashEntry) check('api key header', flashEntry.api_key_present, true);
check('flash parts[0].text', flash.contents?.[0]?.parts?.[0]?.text, process.env.FLASH_PROMPT);
check('flash role', flash.contents?.[0]?.role, 'user');
check('flash parts[1].inlineData', flash.contents?.[0]?.parts?.[1]?.inlineData,
  { mimeType: 'image/png', data: refB64 });
check('flash responseModalities', flash.generationConfig?.responseModalities, ['IMAGE']);
check('flash imageConfig', flash.generationConfig?.imageConfig, { aspectRatio: '16:9' });
check('pro parts', pro.contents?.[0]?.parts, [{ text: process.env.PRO_PROMPT }]);
check('pro responseModalities', pro.generationConfig?.responseModalities, ['TEXT', 'IMAGE']);
check('pro imageConfig', pro.generationConfig?.imageConfig, { aspectRatio: '1:1', imageSize: '2K' });
check('pro temperature', pro.generationConfig?.temperature, 0.5);
check('pro seed', pro.generationConfig?.seed, 7);
check('pro systemInstruction text', pro.systemInstruction?.parts?.[0]?.text, process.env.PRO_SYSTEM);
check('flash tools', flash.tools, undefined);
check('flash thinkingConfig', flash.generationConfig?.thinkingConfig, undefined);
check('strip parts', strip.contents?.[0]?.parts, [{ text: process.env.STRIP_PROMPT }]);
check('strip responseModalities', strip.generationConfig?.responseModalities, ['IMAGE']);
check('strip imageConfig', strip.generationConfig?.imageConfig, { aspectRatio: '1:8', imageSize: '512' });
// Only the level: the SDK passes thinkingConfig through (no includeThoughts).
check('strip thinkingConfig', strip.generationConfig?.thinkingConfig, { thinkingLevel: 'HIGH' });
check('strip tools', strip.tools, [{ googleSearch: {} }]);
process.exit(bad ? 1 : 0);
EOF
    pass "the SDK's requests have the expected fields"
  else
    fail "the SDK's requests differ from what the test expects (see above)"
  fi
else
  fail "GET $base_url/emulator/requests: $(cat "$tmp/requests.err")"
fi

# --- the Chat's second request against ours --------------------------------------
# The same conversation through plugin/gemini-protocol: the first answer as
# received, classified with ModelContent::Keep, then build_request_body ()
# with it as history. `contents` must be what the SDK sent (its thought parts
# and signatures included); the rest too, but for thinkingConfig, which the
# chat sets for includeThoughts and the element has no property for.
if [ -z "$history_body_tool" ]; then
  echo "NOTE: no genai-history-body given: the Chat's body is not compared with ours"
elif [ ! -s "$tmp/chat-answer1.json" ] || [ ! -s "$requests" ]; then
  fail "chat: no first answer or no request log to compare with"
elif ! "$history_body_tool" --answer "$tmp/chat-answer1.json" --prompt1 "$chat_prompt1" \
    --prompt2 "$chat_prompt2" --reference "$ref" --aspect-ratio 1:1 >"$tmp/our-chat-body.json" \
    2>"$tmp/our-chat-body.err"; then
  fail "chat: genai-history-body failed: $(cat "$tmp/our-chat-body.err")"
elif node --input-type=module - "$requests" "$tmp/our-chat-body.json" <<'EOF'; then
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
const log = JSON.parse(readFileSync(process.argv[2], 'utf8'))
  .filter((r) => typeof r?.path !== 'string' || r.path.endsWith(':generateContent'));
const sdk = structuredClone(log[log.length - 1].body);
const ours = JSON.parse(readFileSync(process.argv[3], 'utf8'));
let bad = 0;
const check = (what, ok, detail = '') => {
  if (ok) return;
  console.log(`FAIL: chat: ${what} ${detail}`.slice(0, 600));
  bad++;
};
const contents = sdk.contents ?? [];
check('the SDK sent user, model, user', isDeepStrictEqual(contents.map((c) => c.role), ['user', 'model', 'user']),
  JSON.stringify(contents.map((c) => c.role)));
const modelParts = contents[1]?.parts ?? [];
check('the SDK kept the thought parts', modelParts.filter((p) => p.thought === true).length === 2,
  JSON.stringify(modelParts.map((p) => Object.keys(p))));
check("the SDK kept the final image's thoughtSignature",
  modelParts.some((p) => !p.thought && p.inlineData && typeof p.thoughtSignature === 'string'
    && p.thoughtSignature.length >= 4096));
for (let i = 0; i < Math.max(contents.length, ours.contents?.length ?? 0); i++) {
  check(`contents[${i}] differs from @google/genai's`, isDeepStrictEqual(ours.contents?.[i], contents[i]),
    `ours ${JSON.stringify(ours.contents?.[i])?.slice(0, 200)} sdk ${JSON.stringify(contents[i])?.slice(0, 200)}`);
}
delete sdk.generationConfig?.thinkingConfig;
delete sdk.contents;
delete ours.contents;
check("the body outside contents differs from @google/genai's", isDeepStrictEqual(ours, sdk),
  `ours ${JSON.stringify(ours)} sdk ${JSON.stringify(sdk)}`);
process.exit(bad ? 1 : 0);
EOF
  pass "chat: our edit-mode body for the Chat's second turn is @google/genai's (thought parts and signatures kept)"
else
  fail "chat: our edit-mode body differs from the SDK Chat's (see above)"
fi

if [ "$failures" -gt 0 ]; then
  echo "emulator stderr:"
  tail -n 40 "$tmp/emulator.err"
  echo "FAIL: $failures check(s) failed"
  exit 1
fi
echo "PASS: @google/genai works against gemini-emulator"
exit 0

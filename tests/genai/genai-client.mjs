#!/usr/bin/env node
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Google's own client (@google/genai) as a reference peer: sends one
// generateContent request the way real applications do, so the emulator (and
// the element's requests) can be compared against what the SDK puts on the
// wire.
//
//   node genai-client.mjs --base-url URL --model M --prompt P \
//     [--aspect-ratio 16:9] [--image-size 2K] [--modalities IMAGE|TEXT,IMAGE] \
//     [--temperature 0.5] [--seed 7] [--system-instruction S] \
//     [--thinking-level MINIMAL|LOW|MEDIUM|HIGH] [--google-search] \
//     [--reference file.png ...] [--timeout-ms 60000] --out out.png \
//     [--then P2 --first-answer-out answer.json] [--include-thoughts]
//
// --then: a Chat (ai.chats.create) instead of one call: the first message
// (prompt and references), then P2 in the same chat, so the second request
// carries the first answer as history the way the SDK keeps it; the image
// written is the second one. --first-answer-out saves the first answer's
// body exactly as received. --include-thoughts sets
// config.thinkingConfig.includeThoughts (thought parts in the answers).
//
// --thinking-level sets config.thinkingConfig = {thinkingLevel} (the SDK's
// ThinkingLevel values; case does not matter); --google-search sets
// config.tools = [{googleSearch: {}}].
//
// Prints one JSON line {"finishReason","mimeType","bytes","text"} and writes
// the final image (last inlineData image part that is not a thought) to --out.
// Exit status 1 when there is no image or the request fails, 2 on bad usage.

import { readFileSync, writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parseArgs } from 'node:util';

import { GoogleGenAI, ThinkingLevel } from '@google/genai';

function usage(message) {
  process.stderr.write(`genai-client: ${message}\n`);
  process.exit(2);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      'base-url': { type: 'string' },
      model: { type: 'string' },
      prompt: { type: 'string' },
      'aspect-ratio': { type: 'string' },
      'image-size': { type: 'string' },
      modalities: { type: 'string' },
      temperature: { type: 'string' },
      seed: { type: 'string' },
      'system-instruction': { type: 'string' },
      'thinking-level': { type: 'string' },
      'google-search': { type: 'boolean' },
      then: { type: 'string' },
      'first-answer-out': { type: 'string' },
      'include-thoughts': { type: 'boolean' },
      reference: { type: 'string', multiple: true },
      'timeout-ms': { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
  }));
} catch (e) {
  usage(e.message);
}

for (const required of ['base-url', 'model', 'prompt', 'out']) {
  if (args[required] === undefined) usage(`--${required} is required`);
}

function number(name, parse) {
  if (args[name] === undefined) return undefined;
  const value = parse(args[name]);
  if (!Number.isFinite(value)) usage(`--${name} must be a number, not '${args[name]}'`);
  return value;
}

// Magic bytes first (like the plugin), the file name only as a fallback.
function mimeTypeOf(path, data) {
  if (data.length >= 8 && data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return 'image/png';
  if (data.length >= 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'image/jpeg';
  if (data.length >= 12 && data.toString('latin1', 0, 4) === 'RIFF' && data.toString('latin1', 8, 12) === 'WEBP')
    return 'image/webp';
  const byExtension = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp',
    '.heic': 'image/heic', '.heif': 'image/heif' };
  const mime = byExtension[extname(path).toLowerCase()];
  if (!mime) usage(`cannot tell the image type of ${path}`);
  return mime;
}

const parts = [{ text: args.prompt }];
for (const path of args.reference ?? []) {
  let data;
  try {
    data = readFileSync(path);
  } catch (e) {
    usage(`cannot read reference image: ${e.message}`);
  }
  parts.push({ inlineData: { mimeType: mimeTypeOf(path, data), data: data.toString('base64') } });
}

// Only what was asked for goes into the config, so the request on the wire
// shows exactly which fields the SDK adds by itself.
const config = {};
if (args.modalities !== undefined) {
  config.responseModalities = args.modalities.split(',').map((m) => m.trim().toUpperCase()).filter(Boolean);
}
const imageConfig = {};
if (args['aspect-ratio'] !== undefined) imageConfig.aspectRatio = args['aspect-ratio'];
if (args['image-size'] !== undefined) imageConfig.imageSize = args['image-size'];
if (Object.keys(imageConfig).length > 0) config.imageConfig = imageConfig;
const temperature = number('temperature', Number.parseFloat);
if (temperature !== undefined) config.temperature = temperature;
const seed = number('seed', (s) => (/^-?\d+$/.test(s) ? Number.parseInt(s, 10) : NaN));
if (seed !== undefined) config.seed = seed;
if (args['system-instruction'] !== undefined) config.systemInstruction = args['system-instruction'];
if (args['thinking-level'] !== undefined) {
  const level = ThinkingLevel[args['thinking-level'].trim().toUpperCase()];
  if (level === undefined || level === ThinkingLevel.THINKING_LEVEL_UNSPECIFIED) {
    usage(`--thinking-level must be MINIMAL, LOW, MEDIUM or HIGH, not '${args['thinking-level']}'`);
  }
  config.thinkingConfig = { thinkingLevel: level };
}
if (args['google-search']) config.tools = [{ googleSearch: {} }];
if (args['include-thoughts']) config.thinkingConfig = { ...config.thinkingConfig, includeThoughts: true };

// The answers' bodies as received, before the SDK converts them.
const rawAnswers = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (...fetchArgs) => {
  const r = await realFetch(...fetchArgs);
  rawAnswers.push(await r.clone().text());
  return r;
};

const ai = new GoogleGenAI({
  // Empty variables (the test environment blanks them) count as unset.
  apiKey: process.env.GEMINI_API_KEY || 'emulator-key',
  vertexai: false,
  httpOptions: { baseUrl: args['base-url'], timeout: number('timeout-ms', Number.parseInt) ?? 60000 },
});

let response;
try {
  if (args.then !== undefined) {
    const chat = ai.chats.create({ model: args.model, config });
    await chat.sendMessage({ message: parts });
    if (args['first-answer-out'] !== undefined) writeFileSync(args['first-answer-out'], rawAnswers[0]);
    response = await chat.sendMessage({ message: args.then });
  } else {
    response = await ai.models.generateContent({ model: args.model, contents: parts, config });
  }
} catch (e) {
  process.stderr.write(`genai-client: request failed: ${e.message ?? e}\n`);
  process.exit(1);
}

const candidate = response.candidates?.[0];
const responseParts = candidate?.content?.parts ?? [];
let image;
const texts = [];
for (const part of responseParts) {
  if (part.thought) continue;
  if (part.inlineData?.mimeType?.startsWith('image/') && part.inlineData.data) image = part.inlineData;
  else if (typeof part.text === 'string') texts.push(part.text);
}

const bytes = image ? Buffer.from(image.data, 'base64') : null;
if (bytes) writeFileSync(args.out, bytes);

const summary = {
  finishReason: candidate?.finishReason ?? null,
  mimeType: image?.mimeType ?? null,
  bytes: bytes ? bytes.length : 0,
  text: texts.length > 0 ? texts.join('') : null,
};
process.stdout.write(`${JSON.stringify(summary)}\n`);

if (!bytes) {
  const blocked = response.promptFeedback?.blockReason;
  process.stderr.write(`genai-client: the response has no image (${blocked ? `prompt blocked: ${blocked}`
    : `finishReason ${summary.finishReason}`})\n`);
  process.exit(1);
}

// gst-gemini: the peer client of tests/bench/bench-cost (docs/performance.md, "Cost per image").
//
//   node peer.mjs BASEURL MODEL N K
//
// Makes N generateContent calls with Google's Node SDK (@google/genai), at most K at a time, takes the
// image part of each answer and decodes it with sharp (libvips) to raw RGBA, as an application that wants
// pixels would. Exits 1 on any failure. The API key is $GEMINI_API_KEY (the emulator accepts any).
import { GoogleGenAI } from '@google/genai';
import sharp from 'sharp';

// The settings with the lowest CPU per image on this workload (docs/performance.md, "Cost per image"):
// one libvips thread per image (the images are small and the calls already run K at a time) and no
// operation cache (every image is new; the cache only holds memory).
sharp.concurrency(1);
sharp.cache(false);

const [baseUrl, model, nText, kText] = process.argv.slice(2);
const n = Number(nText);
const k = Number(kText ?? 1);
if (!baseUrl || !model || !(n >= 1) || !(k >= 1)) {
  console.error('usage: node peer.mjs BASEURL MODEL N K');
  process.exit(2);
}

const ai = new GoogleGenAI({ apiKey: process.env.GEMINI_API_KEY || 'bench', httpOptions: { baseUrl } });
let started = 0;
let decoded = 0;

async function one() {
  const response = await ai.models.generateContent({ model, contents: 'Generate an image' });
  const part = response.candidates?.[0]?.content?.parts?.find((p) => p.inlineData && !p.thought);
  if (!part) throw new Error('no image part in the answer');
  const buf = Buffer.from(part.inlineData.data, 'base64');
  const { data, info } = await sharp(buf).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 4 || !(info.width > 0) || !(info.height > 0) ||
      data.length !== info.width * info.height * 4)
    throw new Error(`not an RGBA frame: ${info.width}x${info.height}, ${info.channels} channels, ${data.length} bytes`);
  decoded++;
}

async function worker() {
  while (started < n) {
    started++;
    await one();
  }
}

try {
  await Promise.all(Array.from({ length: Math.min(k, n) }, worker));
} catch (e) {
  console.error(`peer: ${e?.message ?? e}`);
  process.exit(1);
}
if (decoded !== n) {
  console.error(`peer: ${decoded} of ${n} images decoded`);
  process.exit(1);
}

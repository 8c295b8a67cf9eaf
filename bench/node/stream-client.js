'use strict';
// Opens STREAMS concurrent NDJSON streams (POST /api/chat, "stream": true), started evenly
// spread over one chunk interval like independent users, and records for every chunk the time
// from the upstream writing it to this process reading it. Checks each stream: status 200,
// CHUNKS lines, the last one "done":true. Prints one JSON line of results.
//
// A warm-up pass first opens all STREAMS connections (short streams of 2 chunks, not measured),
// so the measured pass runs on open keep-alive connections, to the target and from it to the
// upstream: TLS handshakes would otherwise land in the first chunks' latency.
//
// usage: node stream-client.js URL TOKEN STREAMS CHUNKS INTERVAL_MS [CA_FILE]
const http = require('http');
const https = require('https');
const fs = require('fs');

const [url, token, streamsText, chunksText, intervalText, caFile] = process.argv.slice(2);
const streams = Number(streamsText);
const chunks = Number(chunksText);
const intervalMs = Number(intervalText);
const secure = url.startsWith('https:');
const lib = secure ? https : http;
const agent = new lib.Agent({ keepAlive: true, maxSockets: streams, ca: caFile ? fs.readFileSync(caFile) : undefined });
const body = '{"model":"gpt-oss:120b","messages":[{"role":"user","content":"Why is the sky blue?"}],"stream":true}';

const latenciesUs = [];
let ok = 0;
let bad = 0;
let finished = 0;
let measuring = false;
const reasons = {};

function fail(reason) {
  bad++;
  reasons[reason] = (reasons[reason] || 0) + 1;
}

function finish() {
  finished++;
  if (finished < streams) return;
  if (!measuring) {
    // The warm-up pass is over: reset and start the measured one on the open connections.
    measuring = true;
    latenciesUs.length = 0;
    ok = bad = finished = 0;
    for (const key of Object.keys(reasons)) delete reasons[key];
    for (let i = 0; i < streams; i++) setTimeout(start, (i * intervalMs) / streams, chunks);
    return;
  }
  latenciesUs.sort((a, b) => a - b);
  const pick = p => latenciesUs.length ? latenciesUs[Math.min(latenciesUs.length - 1, Math.floor(p / 100 * latenciesUs.length))] : null;
  console.log(JSON.stringify({
    streams, ok, bad, reasons, chunks: latenciesUs.length,
    p50_us: pick(50), p90_us: pick(90), p99_us: pick(99), max_us: latenciesUs.at(-1) ?? null,
  }));
  process.exit(0);
}

function start(expected) {
  const req = lib.request(url, {
    method: 'POST', agent,
    headers: {
      'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body),
      'X-Bench-Chunks': String(expected),
    },
  }, res => {
    if (res.statusCode !== 200) {
      fail('status ' + res.statusCode);
      res.resume();
      res.on('end', finish);
      return;
    }
    let carry = '';
    let lines = 0;
    let sawDone = false;
    res.setEncoding('latin1');
    res.on('data', text => {
      const now = process.hrtime.bigint();
      carry += text;
      let newline;
      while ((newline = carry.indexOf('\n')) >= 0) {
        const line = carry.slice(0, newline);
        carry = carry.slice(newline + 1);
        const chunk = JSON.parse(line);
        latenciesUs.push(Number(now - BigInt(chunk.t)) / 1000);
        lines++;
        sawDone = chunk.done === true;
      }
    });
    res.on('end', () => {
      if (lines === expected && sawDone && carry === '') ok++; else fail('chunks ' + lines + (sawDone ? '' : ' no done'));
      finish();
    });
    res.on('error', () => { fail('response error'); finish(); });
  });
  req.on('error', e => { fail('request ' + e.code); finish(); });
  req.end(body);
}

for (let i = 0; i < streams; i++) start(2);
setTimeout(() => { console.log(JSON.stringify({ streams, ok, bad, reasons: { ...reasons, timeout: streams - finished } })); process.exit(1); },
  20_000 + chunks * intervalMs * 3);

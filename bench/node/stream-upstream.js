'use strict';
// The streaming stand-in for Ollama Cloud: POST /api/chat answers with an NDJSON stream of
// CHUNKS lines, INTERVAL_MS apart, each stamped with the time it was written (CLOCK_MONOTONIC in
// nanoseconds, which every process on the machine shares). Like the nginx upstream, it answers
// only the real key and the upstream's name. A request may ask for fewer chunks with the header
// X-Bench-Chunks (the client's warm-up pass does). With CERT and KEY given as "-", it serves plain
// HTTP (bench/run.sh --plain).
//
// usage: node stream-upstream.js PORT CERT KEY UPSTREAM_KEY CHUNKS INTERVAL_MS
const http = require('http');
const https = require('https');
const fs = require('fs');

const [port, certFile, keyFile, upstreamKey, chunksText, intervalText] = process.argv.slice(2);
const chunks = Number(chunksText);
const intervalMs = Number(intervalText);
const expectedAuthorization = 'Bearer ' + upstreamKey;

const plain = certFile === '-';
const options = plain ? { noDelay: true, keepAlive: true }
  : { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile), noDelay: true, keepAlive: true };
const server = (plain ? http : https).createServer(options, (req, res) => {
  const host = (req.headers.host || '').replace(/:\d+$/, '');
  if (req.headers.authorization !== expectedAuthorization || host !== 'localhost') {
    res.writeHead(403, { 'Content-Type': 'application/json' }).end('{"error":"forbidden"}');
    return;
  }
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    const count = Math.min(chunks, Number(req.headers['x-bench-chunks']) || chunks);
    let sent = 0;
    const timer = setInterval(() => {
      sent++;
      const done = sent === count;
      res.write('{"model":"gpt-oss:120b","created_at":"2025-06-01T12:00:00.000000000Z",' +
        '"message":{"role":"assistant","content":" token"},"done":' + done +
        ',"t":"' + process.hrtime.bigint() + '"}\n');
      if (done) {
        clearInterval(timer);
        res.end();
      }
    }, intervalMs);
    res.on('close', () => clearInterval(timer));
  });
});
server.keepAliveTimeout = 300_000;
server.headersTimeout = 310_000;
server.listen(Number(port), '127.0.0.1');

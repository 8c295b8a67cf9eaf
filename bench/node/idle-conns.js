'use strict';
// Opens COUNT keep-alive connections to 127.0.0.1:PORT, sends one authorized POST /api/chat on
// each, reads its whole response, and keeps every connection open and idle. Prints
// "ready OK BAD" once all have answered, then waits until stdin closes or it is signalled.
//
// usage: node idle-conns.js PORT TOKEN COUNT [BATCH]   (BATCH connections at a time, default 100)
const net = require('net');

const [portText, token, countText, batchText] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const batch = Number(batchText || 100);
const body = '{"model":"gpt-oss:120b","messages":[{"role":"user","content":"Why is the sky blue?"}],"stream":false}';
const request = 'POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1:' + port + '\r\nAuthorization: Bearer ' + token +
  '\r\nContent-Type: application/json\r\nContent-Length: ' + Buffer.byteLength(body) + '\r\n\r\n' + body;
const sockets = [];
let ok = 0;
let bad = 0;

// Whether the bytes so far hold one complete response (Content-Length or chunked), or null if not yet.
function complete(text) {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = text.slice(0, end).toLowerCase();
  const status = Number(head.slice(9, 12));
  const length = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (length) return text.length >= end + 4 + Number(length[1]) ? status : null;
  if (/\r\ntransfer-encoding:\s*chunked/.test(head)) return text.endsWith('\r\n0\r\n\r\n') ? status : null;
  return null;
}

function open() {
  return new Promise(resolve => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let settled = false;
    const settle = good => { if (!settled) { settled = true; good ? ok++ : bad++; resolve(); } };
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write(request));
    socket.on('data', data => {
      text += data;
      const status = complete(text);
      if (status !== null) settle(status >= 200 && status < 300);
    });
    socket.on('error', () => settle(false));
    socket.on('close', () => settle(false));
    sockets.push(socket);
  });
}

(async () => {
  // In batches, so no listen backlog overflows and every target sees the same arrival pattern.
  for (let i = 0; i < count; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, count - i) }, open));
  }
  console.log('ready ' + ok + ' ' + bad);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
})();
setTimeout(() => process.exit(2), 120_000);

'use strict';
// Turns the raw results of bench/run.sh (one JSON object per line) into the Markdown report:
// medians over rounds, ratios against nginx and against direct, each proxy-like target's ratio to the
// reference target (--reference) round by round with its spread, and the performance targets checked.
//
// usage: node report.js META_JSON RAW_JSONL
const fs = require('fs');

const meta = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const raw = fs.readFileSync(process.argv[3], 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line));
const label = target => (meta.labels && meta.labels[target]) || (target === 'proxy' ? meta.proxy_label : target);
const scenarios = [
  ['keepalive-64', 'keep-alive, 64 connections'],
  ['keepalive-256', 'keep-alive, 256 connections'],
  ['close-16', 'new connection per request, 16'],
  ['body16k-64', '16 KiB body, 64 connections'],
];

const median = values => {
  const v = values.filter(x => x !== null && x !== undefined && !Number.isNaN(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
};
const fixed = (value, digits) => value === null ? 'n/a' : value.toFixed(digits);
const thousands = value => value === null ? 'n/a' : Math.round(value).toLocaleString('en-US');
const ratio = (a, b) => a === null || b === null || !b ? '–' : (a / b).toFixed(2) + '×';
const mib = kb => kb == null || Number.isNaN(kb) ? 'n/a' : (kb / 1024).toFixed(1);

// wrk: the median of each measure over the rounds.
const wrk = {};
for (const [scenario] of scenarios) {
  wrk[scenario] = {};
  for (const target of meta.targets) {
    const runs = raw.filter(r => r.kind === 'wrk' && r.scenario === scenario && r.target === target);
    if (!runs.length) continue;
    wrk[scenario][target] = {
      rps: median(runs.map(r => r.rps)), p50: median(runs.map(r => r.p50_us)), p99: median(runs.map(r => r.p99_us)),
      cpu: median(runs.map(r => r.cpu_us)), hwm: median(runs.map(r => r.hwm_kb)),
      bad: runs.reduce((s, r) => s + r.bad, 0), errors: runs.reduce((s, r) => s + r.errors, 0),
    };
  }
}

const out = [];
const line = text => out.push(text);
line(`## Results ${meta.date}${meta.quick ? ' (--quick)' : ''}${meta.plain ? ', plain-HTTP upstream' : ''}`);
line('');
line(`\`${meta.command}\` on ${meta.cores} cores (${meta.cpu}), ${meta.memory_gib} GiB, ${meta.os}, kernel ${meta.kernel}; ` +
  `nginx ${meta.nginx}, ${meta.targets.includes('haproxy') ? `HAProxy ${meta.haproxy}, ` : ''}wrk ${meta.wrk}, ` +
  `.NET SDK ${meta.dotnet}, Node ${meta.node}; commit ${meta.commit}` +
  (meta.targets.includes('proxy-base') ? `; proxy-base built the same way from ${meta.baseline} (${meta.baseline_commit.slice(0, 12)})` : '') + '. ' +
  (meta.plain ? 'Plain-HTTP upstream (--plain): the upstreams serve plain HTTP and every target forwards to them without TLS. '
    : 'TLS upstream, verified against the bench CA. ') +
  `${meta.rounds} round(s) of ${meta.duration_s} s per scenario and target, interleaved; medians over rounds. ` +
  `wrk -t 2; responses checked: 2xx and exactly ${meta.chat_len} (or ${meta.big_len}) body bytes. ` +
  `Other work on the machine: ${meta.busy_before}% CPU busy just before the run, ${meta.busy_after}% just after.`);
// Other work: the machine's busy time during each wrk run that neither wrk, the upstream nor the target accounts for.
const foreign = raw.filter(r => r.kind === 'wrk' && typeof r.foreign_pct === 'number').map(r => r.foreign_pct);
const disturbed = foreign.filter(f => f > 5).length;
if (foreign.length) {
  line('');
  line(`Other work during the measured wrk runs (CPU time of the machine not used by wrk, the upstream or the target): ` +
    `median ${fixed(median(foreign), 1)} %, max ${fixed(Math.max(...foreign), 1)} %; runs above 5 %: ${disturbed} of ${foreign.length}.`);
}
if (meta.busy_before >= 10 || meta.busy_after >= 10 || disturbed > foreign.length / 4) {
  line('');
  line('**Other work was using the CPU during this run: these numbers are skewed and not comparable with a run on a quiet machine.**');
}
line('');
line('### Throughput and latency');
line('');
line('| scenario | target | req/s | ×nginx | ×direct | p50 ms | p99 ms | p99 ×nginx | CPU µs/req | CPU ×nginx | peak RSS MiB | wrong / errors |');
line('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const [scenario, title] of scenarios) {
  const rows = wrk[scenario];
  const nginx = rows.nginx || null;
  const direct = rows.direct || null;
  for (const target of meta.targets) {
    const r = rows[target];
    if (!r) continue;
    line(`| ${title} | ${label(target)} | ${thousands(r.rps)} | ${ratio(r.rps, nginx && nginx.rps)} | ` +
      `${ratio(r.rps, direct && direct.rps)} | ${fixed(r.p50 / 1000, 2)} | ${fixed(r.p99 / 1000, 2)} | ` +
      `${ratio(r.p99, nginx && nginx.p99)} | ${r.cpu === null ? '–' : fixed(r.cpu, 1)} | ` +
      `${r.cpu === null ? '–' : ratio(r.cpu, nginx && nginx.cpu)} | ${r.hwm === null ? '–' : mib(r.hwm)} | ` +
      `${r.bad + r.errors ? `**${r.bad} / ${r.errors}**` : '0 / 0'} |`);
  }
}
line('');
line('CPU µs/req: user + system time of the proxy\'s processes (nginx: master + worker) during the run, ' +
  'divided by the requests served. Peak RSS: VmHWM, reset before each run (nginx: master + worker summed).' +
  (meta.plain ? '' : ' The direct target pays a TLS handshake per connection in the new-connection scenario; the proxies ' +
    'keep upstream connections pooled, so they can beat it there.'));

// Per-round ratios to the reference target. The host's noise moves whole rounds (20-40 % between rounds on
// the development machine), and the targets of one round run minutes apart at most, so the ratio within
// a round is steadier than a ratio of medians over rounds. A difference is called only when every
// round's ratio is on the same side of 1.0; otherwise it is within that noise.
const reference = meta.reference || 'nginx';
const compared = ['proxy', 'proxy-nousage', 'proxy-base'].filter(t => t !== reference && meta.targets.includes(t));
const spread = values => values.length < 2 ? (values.length ? values[0].toFixed(2) + '×' : 'n/a')
  : `${median(values).toFixed(2)}× (${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)})`;
const verdict = (values, lowerIsBetter) => {
  if (values.length < 2) return values.length ? 'one round, no spread' : '–';
  const low = Math.min(...values), high = Math.max(...values);
  if (high < 1) return lowerIsBetter ? 'better' : '**worse**';
  if (low > 1) return lowerIsBetter ? '**worse**' : 'better';
  return 'within noise';
};
if (compared.length && !meta.targets.includes(reference)) {
  line('');
  line(`No per-round ratios: the reference target ${reference} did not run (\`--reference TARGET\` picks another).`);
} else if (compared.length) {
  line('');
  line(`### Ratio to ${label(reference)}, per round`);
  line('');
  line('| scenario | target | rounds | CPU µs/req ÷ reference, median (min–max) | CPU | req/s ÷ reference, median (min–max) | req/s |');
  line('| --- | --- | ---: | ---: | --- | ---: | --- |');
  for (const [scenario, title] of scenarios) {
    const runs = raw.filter(r => r.kind === 'wrk' && r.scenario === scenario);
    for (const target of compared) {
      const cpu = [], rps = [];
      for (const r of runs.filter(r => r.target === target)) {
        const ref = runs.find(x => x.target === reference && x.round === r.round);
        if (!ref) continue;
        if (r.cpu_us !== null && ref.cpu_us) cpu.push(r.cpu_us / ref.cpu_us);
        if (ref.rps) rps.push(r.rps / ref.rps);
      }
      if (!rps.length) continue;
      line(`| ${title} | ${label(target)} | ${rps.length} | ${spread(cpu)} | ${verdict(cpu, true)} | ` +
        `${spread(rps)} | ${verdict(rps, false)} |`);
    }
  }
  line('');
  line(`Each round's CPU µs per request and req/s of the target divided by ${label(reference)}'s in the same round and scenario; ` +
    'the median of those ratios and their range over the rounds. Better or worse only when the whole range is on one side of 1.0 ' +
    '(at least two rounds); otherwise within the noise between rounds.');
}

// Streaming: the median of each percentile over all runs; added = target's minus direct's.
const streamRuns = raw.filter(r => r.kind === 'stream');
const stream = {};
const streamMedian = (target, p) => median(streamRuns.filter(r => r.target === target).map(r => r.result[p]));
for (const target of meta.targets) {
  const runs = streamRuns.filter(r => r.target === target);
  if (!runs.length) continue;
  const direct = streamRuns.some(r => r.target === 'direct');
  const added = p => direct ? streamMedian(target, p) - streamMedian('direct', p) : null;
  stream[target] = {
    p50: streamMedian(target, 'p50_us'), p99: streamMedian(target, 'p99_us'), max: streamMedian(target, 'max_us'),
    addedP50: added('p50_us'), addedP99: added('p99_us'),
    ok: runs.reduce((s, r) => s + (r.result.ok || 0), 0), streams: runs.reduce((s, r) => s + r.result.streams, 0),
    chunks: runs.reduce((s, r) => s + (r.result.chunks || 0), 0),
  };
}
line('');
line(`### Streaming: ${meta.streams} concurrent NDJSON streams of ${meta.stream_chunks} chunks, ${meta.stream_interval_ms} ms apart (${meta.stream_runs} runs per target)`);
line('');
line('| target | chunk latency p50 ms | p99 ms | max ms | added p50 ms vs direct | added p99 ms vs direct | streams complete |');
line('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const target of meta.targets) {
  const s = stream[target];
  if (!s) continue;
  // Nothing added for direct itself, nor for anyone in a run without direct.
  const none = target === 'direct' || s.addedP50 === null;
  line(`| ${label(target)} | ${fixed(s.p50 / 1000, 3)} | ${fixed(s.p99 / 1000, 3)} | ${fixed(s.max / 1000, 3)} | ` +
    `${none ? '–' : fixed(s.addedP50 / 1000, 3)} | ${none ? '–' : fixed(s.addedP99 / 1000, 3)} | ${s.ok} / ${s.streams} |`);
}
line('');
line('Chunk latency: from the upstream writing a chunk (its CLOCK_MONOTONIC stamp in the chunk) to the client ' +
  'reading it; each column is the median over the runs of that run\'s percentile. Added: the target\'s value minus ' +
  'direct\'s.' + (meta.plain ? '' : ' Direct is TLS to the client, the proxies plain HTTP, so the client\'s own TLS work counts against direct.'));

// Footprint.
const footprint = {};
for (const r of raw.filter(r => r.kind === 'footprint')) {
  footprint[r.target] = { idle: r.idle_kb, loaded: r.loaded_kb, idlePss: r.idle_pss_kb, loadedPss: r.loaded_pss_kb, connect: median(r.connect_ms), answer: median(r.answer_ms), processes: r.processes };
}
line('');
line(`### Footprint and start-up`);
line('');
line(`| target | idle RSS MiB | RSS with ${meta.idle_connections.toLocaleString('en-US')} idle connections MiB | added MiB | idle PSS MiB | PSS with ${meta.idle_connections.toLocaleString('en-US')} MiB | start-up to first accepted connection ms | to first answer ms |`);
line('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const target of meta.targets) {
  const f = footprint[target];
  if (!f) continue;
  line(`| ${label(target)}${f.processes > 1 ? ` (${f.processes} processes)` : ''} | ${mib(f.idle)} | ${mib(f.loaded)} | ` +
    `${mib(f.loaded - f.idle)} | ${mib(f.idlePss)} | ${mib(f.loadedPss)} | ${fixed(f.connect, 1)} | ${fixed(f.answer, 1)} |`);
}
line('');
line('Idle RSS: VmRSS of a fresh instance after one request (nginx: master + worker summed; PSS splits the pages ' +
  'they share). Start-up: from fork/exec to the first TCP connect ' +
  'that succeeds (polled every 0.1 ms), and to the first byte of the answer to `GET /` on it; median of the runs.');

// The performance targets, when the proxy ran.
if (meta.targets.includes('proxy')) {
  const checks = [];
  const check = (what, pass, detail) => checks.push(`| ${what} | ${detail} | ${pass === null ? 'n/a' : pass ? 'yes' : '**no**'} |`);
  for (const [scenario, title] of scenarios) {
    const p = wrk[scenario].proxy, n = wrk[scenario].nginx, y = wrk[scenario].yarp;
    if (!p) continue;
    if (n) check(`${title}: req/s ≥ 1.0× nginx`, p.rps >= n.rps, ratio(p.rps, n.rps));
    if (y) check(`${title}: req/s ≥ 2× YARP`, p.rps >= 2 * y.rps, ratio(p.rps, y.rps));
    if (n) check(`${title}: CPU/req ≤ nginx`, p.cpu <= n.cpu, `${fixed(p.cpu, 1)} vs ${fixed(n.cpu, 1)} µs`);
    if (n) check(`${title}: p99 ≤ nginx`, p.p99 <= n.p99, `${fixed(p.p99 / 1000, 2)} vs ${fixed(n.p99 / 1000, 2)} ms`);
  }
  if (stream.proxy && stream.proxy.addedP99 !== null) check('streaming: added p99 per chunk ≤ 1 ms', stream.proxy.addedP99 <= 1000, `${fixed(stream.proxy.addedP99 / 1000, 3)} ms`);
  const f = footprint.proxy;
  if (f) {
    check('idle RSS ≤ 20 MiB', f.idle <= 20 * 1024, `${mib(f.idle)} MiB`);
    check(`${meta.idle_connections} idle connections add ≤ 16 MiB`, f.loaded - f.idle <= 16 * 1024, `${mib(f.loaded - f.idle)} MiB`);
    check('start-up to first accepted connection ≤ 50 ms', f.connect !== null && f.connect <= 50, `${fixed(f.connect, 1)} ms`);
  }
  line('');
  line('### Performance targets');
  line('');
  line('| target | measured | met |');
  line('| --- | --- | --- |');
  checks.forEach(c => line(c));
}
process.stdout.write(out.join('\n') + '\n');

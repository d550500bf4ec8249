// r4u's Node preload: sends this process's TLS connections through the proxy named in HTTPS_PROXY.
//
// `r4u run`, `r4u env` and `r4u.enable()` load it with NODE_OPTIONS=--require <this file>. Node before
// 22.21 / 24.5 ignores HTTPS_PROXY, and so do `fetch` and the npm SDKs that use it (openai,
// @anthropic-ai/sdk) on Node 20. Every TLS client in Node - fetch's bundled undici, https.Agent, http2,
// ws, gRPC - ends in `tls.connect()`, so that is the one place patched: a connection that would go
// straight to a proxied host goes through an HTTP CONNECT tunnel to the proxy instead, and TLS runs
// inside the tunnel with Node's usual checks (NODE_EXTRA_CA_CERTS adds the r4u CA at start-up).
// Connections that already carry a socket (a proxy agent's own tunnel, Node's built-in proxy support
// on newer releases) are left alone, so nothing is tunnelled twice. Plain-HTTP calls are not changed.
//
// Written for Node 18+, CommonJS, no dependency. It must never stop the program: any error in here is
// reported on the connection it concerns, and a broken environment just leaves connections direct.
'use strict';

const net = require('net');
const tls = require('tls');
const { Duplex } = require('stream');

const MARK = Symbol.for('r4u.node-preload');
const MAX_PROXY_REPLY_HEAD = 16 * 1024;

function proxyFor(env) {
  const value = env.https_proxy || env.HTTPS_PROXY || env.all_proxy || env.ALL_PROXY;
  if (!value) return null;
  let url;
  try {
    url = new URL(value.includes('://') ? value : `http://${value}`);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:') return null; // TLS to the proxy itself, SOCKS: not ours, leave direct
  const auth = url.username
    ? Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')
    : null;
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) || 80, auth };
}

// NO_PROXY as curl and Node read it: `*`, exact names, `.suffix` / `*.suffix`, and a name also covers its
// subdomains; an entry with `:port` applies to that port only.
function bypassed(host, port, env) {
  const list = env.no_proxy || env.NO_PROXY || '';
  host = host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  for (let entry of list.split(/[\s,]+/)) {
    entry = entry.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    let entryPort = null;
    const portMatch = /^(.*[^:]):(\d+)$/.exec(entry);
    if (portMatch && !entry.startsWith('[') && entry.split(':').length === 2) {
      [, entry, entryPort] = portMatch;
    } else if (/^\[.*\]:\d+$/.test(entry)) {
      entryPort = entry.slice(entry.lastIndexOf(':') + 1);
      entry = entry.slice(0, entry.lastIndexOf(':'));
    }
    if (entryPort !== null && Number(entryPort) !== Number(port)) continue;
    entry = entry.replace(/^\[|\]$/g, '').replace(/^\*/, '');
    if (entry.startsWith('.')) {
      if (host.endsWith(entry) || host === entry.slice(1)) return true;
    } else if (host === entry || host.endsWith(`.${entry}`)) {
      return true;
    }
  }
  return false;
}

// A byte stream to host:port through the proxy: CONNECT first, then the bytes both ways. What the caller
// writes before the proxy has answered waits; the proxy's reply head never reaches the caller.
class ProxyTunnel extends Duplex {
  constructor(proxy, host, port, connect) {
    super();
    this.open = false;
    this.waiting = [];
    const authority = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
    const raw = (this.raw = connect({ host: proxy.host, port: proxy.port }));
    raw.once('connect', () => {
      const auth = proxy.auth ? `Proxy-Authorization: Basic ${proxy.auth}\r\n` : '';
      raw.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`);
    });
    let head = Buffer.alloc(0);
    const onHead = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_PROXY_REPLY_HEAD) this.destroy(new Error('r4u: the proxy sent no CONNECT reply'));
        return;
      }
      raw.removeListener('data', onHead);
      const statusLine = head.subarray(0, Math.min(end, 200)).toString('latin1').split('\r\n')[0];
      if (!/^HTTP\/1\.[01] 2\d\d/.test(statusLine)) {
        const error = new Error(`r4u: the proxy ${proxy.host}:${proxy.port} refused CONNECT ${authority}: ${statusLine}`);
        error.code = 'ECONNREFUSED';
        this.destroy(error);
        return;
      }
      this.open = true;
      raw.on('data', (data) => {
        if (!this.push(data)) raw.pause();
      });
      const rest = head.subarray(end + 4);
      if (rest.length) this.push(rest);
      for (const [data, callback] of this.waiting.splice(0)) raw.write(data, callback);
      if (this.endWhenOpen) raw.end();
    };
    raw.on('data', onHead);
    raw.on('end', () => this.push(null));
    raw.on('error', (error) => this.destroy(error));
    raw.on('close', () => this.destroy());
  }

  _read() {
    if (this.open) this.raw.resume();
  }

  _write(data, encoding, callback) {
    if (this.open) this.raw.write(data, callback);
    else this.waiting.push([data, callback]);
  }

  _final(callback) {
    if (this.open) this.raw.end();
    else this.endWhenOpen = true;
    callback();
  }

  _destroy(error, callback) {
    this.raw.destroy();
    callback(error);
  }

  // What callers call on a socket; the TLS socket on top forwards some of these here.
  setNoDelay(noDelay) { this.raw.setNoDelay(noDelay); return this; }
  setKeepAlive(enable, delay) { this.raw.setKeepAlive(enable, delay); return this; }
  ref() { this.raw.ref(); return this; }
  unref() { this.raw.unref(); return this; }
}

// tls.connect(options[, cb]) | (port[, host][, options][, cb]) | (path[, options][, cb]) → options, cb
function normalizeArgs(args) {
  let options = {};
  let callback;
  let i = 0;
  if (args[i] !== null && typeof args[i] === 'object') {
    options = { ...args[i++] };
  } else {
    if (typeof args[i] === 'number' || (typeof args[i] === 'string' && /^\d+$/.test(args[i]))) {
      options.port = Number(args[i++]);
      if (typeof args[i] === 'string') options.host = args[i++];
    } else if (typeof args[i] === 'string') {
      options.path = args[i++];
    }
    if (args[i] !== null && typeof args[i] === 'object') options = { ...args[i++], ...options };
  }
  if (typeof args[i] === 'function') callback = args[i];
  return { options, callback };
}

function install() {
  if (globalThis[MARK]) return;
  const originalTlsConnect = tls.connect;
  const originalNetConnect = net.connect;
  const state = { tunnels: 0 };
  globalThis[MARK] = state;

  tls.connect = function r4uTlsConnect(...args) {
    let plan = null;
    try {
      plan = tunnelPlan(args);
    } catch {
      plan = null; // never let r4u stop a connection: go direct as Node would have
    }
    if (!plan) return originalTlsConnect.apply(this, args);
    state.tunnels += 1;
    const tunnel = new ProxyTunnel(plan.proxy, plan.host, plan.port, originalNetConnect);
    const options = { ...plan.options, socket: tunnel };
    if (options.servername === undefined && !net.isIP(plan.host)) options.servername = plan.host;
    options.host = plan.host; // certificate checks are against the real host
    const socket = plan.callback
      ? originalTlsConnect.call(this, options, plan.callback)
      : originalTlsConnect.call(this, options);
    tunnel.once('error', (error) => socket.destroy(error));
    return socket;
  };

  function tunnelPlan(args) {
    const { options, callback } = normalizeArgs(args);
    if (options.socket || options.path) return null; // already tunnelled, or a unix socket
    const host = String(options.host || options.hostname || 'localhost');
    const port = Number(options.port) || 443;
    const proxy = proxyFor(process.env);
    if (!proxy) return null;
    if (host.replace(/^\[|\]$/g, '') === proxy.host && port === proxy.port) return null;
    if (bypassed(host, port, process.env)) return null;
    return { proxy, host: host.replace(/^\[|\]$/g, ''), port, options, callback };
  }
}

module.exports = { bypassed, install, proxyFor };

if (process.env.R4U_NODE_PRELOAD !== '0') {
  try {
    install();
  } catch (error) {
    process.emitWarning(`r4u: the Node preload could not start (${error && error.message}); calls go direct`);
  }
}

// A minimal HTTP/1.1 client for the Runtime API on keep-alive loopback connections (node:net, not node:http).
// Why: node's http client runs a large amount of JavaScript per request (ClientRequest, OutgoingMessage, the Agent,
// IncomingMessage and its streams, the parser's callbacks), and every runtime process interprets and tier-compiles all of
// it separately: with 16 runtimes sharing a load, most of a runtime's CPU per invocation was V8's interpreter, baseline
// code and TurboFan compiling node's http internals (docs/runtime-shim.md, "The node runtime's CPU per invocation").
// This client writes a request in one write and parses the answer itself: status line, headers (names lower-cased,
// repeats joined with ", " as node does), a body by Content-Length, chunked, or to the end of the connection.
// Idle connections are unref'd (as node's keep-alive Agent does), so they never keep the event loop alive: the
// empty-event-loop completion rules (invoke.mjs) still see an empty loop while the handler's callback is pending.
// A connection that fails or closes mid-answer rejects that request (the Runtime API is gone: the caller ends the
// runtime). Bounded: a head over 64 KiB is refused; each caller has at most one request in flight (one per lane), and
// at most `maxIdle` idle connections are kept.
import net from "node:net";

const MAX_HEAD = 64 * 1024;
const HEAD_END = Buffer.from("\r\n\r\n");
const INVALID_HEADER_CHAR = /[^\t\x20-\x7e\x80-\xff]/g;
// Parser states of one answer.
const HEAD = 0;
const LENGTH = 1;
const CHUNK_SIZE = 2;
const CHUNK_DATA = 3;
const CHUNK_END = 4;
const TRAILERS = 5;
const UNTIL_CLOSE = 6;

export class RuntimeApiClient {
  constructor(host, port, maxIdle) {
    this.host = host;
    this.port = Number(port);
    this.hostHeader = `Host: ${host}:${port}\r\n`;
    this.maxIdle = maxIdle;
    this.idle = [];
  }

  /** Resolves to {status, headers, body: Buffer}. `body` is a string (sent as UTF-8) or a Buffer, or undefined. */
  request(method, path, body, headers) {
    let head = `${method} ${path} HTTP/1.1\r\n${this.hostHeader}`;
    if (headers) {
      for (const name in headers) head += `${name}: ${String(headers[name]).replace(INVALID_HEADER_CHAR, "")}\r\n`;
    }
    if (body === undefined || body === null) {
      head += method === "GET" ? "\r\n" : "Content-Length: 0\r\n\r\n";
    } else {
      head += `Content-Length: ${typeof body === "string" ? Buffer.byteLength(body) : body.length}\r\n\r\n`;
    }
    const connection = this.idle.pop() ?? new Connection(this);
    return connection.send(head, body);
  }

  release(connection) {
    if (this.idle.length < this.maxIdle) {
      connection.socket.unref();
      this.idle.push(connection);
    } else {
      connection.socket.destroy();
    }
  }

  forget(connection) {
    const i = this.idle.indexOf(connection);
    if (i >= 0) this.idle.splice(i, 1);
  }
}

class Connection {
  constructor(client) {
    this.client = client;
    this.pending = null;
    this.socket = net.connect({ host: client.host, port: client.port, noDelay: true });
    this.socket.on("data", (chunk) => this.onData(chunk));
    this.socket.on("end", () => this.onEnd());
    this.socket.on("error", (err) => this.fail(err));
    this.socket.on("close", () => this.fail(new Error("The Runtime API closed the connection")));
  }

  send(head, body) {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject, buffer: null, status: 0, headers: null, state: HEAD, left: 0, chunks: [], size: 0, close: false };
      this.socket.ref();
      if (body === undefined || body === null) {
        this.socket.write(head, "latin1");
      } else if (typeof body === "string") {
        this.socket.write(head + body);
      } else {
        this.socket.cork();
        this.socket.write(head, "latin1");
        this.socket.write(body);
        this.socket.uncork();
      }
    });
  }

  onData(chunk) {
    const p = this.pending;
    if (!p) {
      // Nothing asked for: a server that talks out of turn cannot be followed.
      this.socket.destroy();
      return;
    }
    p.buffer = p.buffer !== null && p.buffer.length > 0 ? Buffer.concat([p.buffer, chunk]) : chunk;
    try {
      this.parse(p);
    } catch (err) {
      this.socket.destroy();
      this.fail(err);
    }
  }

  parse(p) {
    for (;;) {
      const buf = p.buffer;
      if (p.state === HEAD) {
        const end = buf.indexOf(HEAD_END);
        if (end < 0) {
          if (buf.length > MAX_HEAD) throw new Error("The Runtime API sent a response head over 64 KiB");
          return;
        }
        this.head(p, buf.latin1Slice(0, end));
        p.buffer = buf.subarray(end + 4);
        if (p.state === HEAD) continue; // an interim 1xx answer
      } else if (p.state === LENGTH) {
        const n = Math.min(p.left, buf.length);
        if (n > 0) this.take(p, buf.subarray(0, n));
        p.left -= n;
        p.buffer = buf.subarray(n);
        if (p.left > 0) return;
        this.done(p);
        return;
      } else if (p.state === CHUNK_SIZE) {
        const eol = buf.indexOf("\r\n");
        if (eol < 0) {
          if (buf.length > 1024) throw new Error("The Runtime API sent a malformed chunk");
          return;
        }
        const size = Number.parseInt(buf.latin1Slice(0, eol).split(";")[0], 16);
        if (!Number.isFinite(size) || size < 0) throw new Error("The Runtime API sent a malformed chunk");
        p.buffer = buf.subarray(eol + 2);
        p.state = size === 0 ? TRAILERS : CHUNK_DATA;
        p.left = size;
      } else if (p.state === CHUNK_DATA) {
        const n = Math.min(p.left, buf.length);
        if (n > 0) this.take(p, buf.subarray(0, n));
        p.left -= n;
        p.buffer = buf.subarray(n);
        if (p.left > 0) return;
        p.state = CHUNK_END;
      } else if (p.state === CHUNK_END) {
        if (buf.length < 2) return;
        p.buffer = buf.subarray(2);
        p.state = CHUNK_SIZE;
      } else if (p.state === TRAILERS) {
        const eol = buf.indexOf("\r\n");
        if (eol < 0) {
          if (buf.length > MAX_HEAD) throw new Error("The Runtime API sent trailers over 64 KiB");
          return;
        }
        p.buffer = buf.subarray(eol + 2);
        if (eol === 0) {
          this.done(p);
          return;
        }
      } else {
        // UNTIL_CLOSE: the body is everything up to the end of the connection.
        if (buf.length > 0) this.take(p, buf);
        p.buffer = buf.subarray(buf.length);
        return;
      }
    }
  }

  head(p, text) {
    const lines = text.split("\r\n");
    const status = Number.parseInt(lines[0].slice(9, 12), 10);
    if (!lines[0].startsWith("HTTP/1.") || !Number.isFinite(status)) throw new Error(`The Runtime API sent a malformed status line: ${lines[0].slice(0, 100)}`);
    if (status >= 100 && status < 200) return;
    const headers = {};
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i];
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    p.status = status;
    p.headers = headers;
    p.close = /(^|,)\s*close\s*(,|$)/i.test(headers.connection ?? "");
    const te = headers["transfer-encoding"];
    if (te !== undefined && /chunked\s*$/i.test(te)) {
      p.state = CHUNK_SIZE;
    } else if (headers["content-length"] !== undefined) {
      const length = Number(headers["content-length"]);
      if (!Number.isSafeInteger(length) || length < 0) throw new Error("The Runtime API sent a malformed Content-Length");
      p.state = LENGTH;
      p.left = length;
    } else if (status === 204 || status === 304) {
      p.state = LENGTH;
      p.left = 0;
    } else {
      p.state = UNTIL_CLOSE;
      p.close = true;
    }
  }

  take(p, bytes) {
    p.chunks.push(bytes);
    p.size += bytes.length;
  }

  done(p) {
    this.pending = null;
    const body = p.chunks.length === 1 ? p.chunks[0] : Buffer.concat(p.chunks, p.size);
    if (p.close) {
      this.socket.destroy();
    } else {
      this.client.release(this);
    }
    p.resolve({ status: p.status, headers: p.headers, body });
  }

  onEnd() {
    this.client.forget(this);
    const p = this.pending;
    if (p && p.state === UNTIL_CLOSE) {
      p.close = true;
      this.done(p);
    }
  }

  fail(err) {
    this.client.forget(this);
    const p = this.pending;
    this.pending = null;
    if (p) p.reject(err);
  }
}

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
// runtime). `pipeline` writes several requests at once on one connection (HTTP/1.1 pipelining), answered in order: the
// bootstrap sends an invocation's POST and its next `GET next` so. Bounded: a head over 64 KiB is refused; each caller
// has at most one connection busy (one per lane; two requests on it when pipelined), and at most `maxIdle` idle
// connections are kept.
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
    return this.connection().send([[this.head(method, path, body, headers), body]])[0];
  }

  /**
   * HTTP/1.1 pipelining: the requests (each [method, path, body, headers]) go out in one write on one connection and
   * are answered in order; one promise per request, as `request`'s. The bootstrap sends an invocation's POST and its
   * next `GET next` so (one write, one wake-up of the Runtime API server instead of two round trips). If the
   * connection fails, every request not yet answered is rejected.
   */
  pipeline(requests) {
    return this.connection().send(requests.map(([method, path, body, headers]) => [this.head(method, path, body, headers), body]));
  }

  connection() {
    return this.idle.pop() ?? new Connection(this);
  }

  head(method, path, body, headers) {
    let head = `${method} ${path} HTTP/1.1\r\n${this.hostHeader}`;
    if (headers) {
      for (const name in headers) head += `${name}: ${String(headers[name]).replace(INVALID_HEADER_CHAR, "")}\r\n`;
    }
    if (body === undefined || body === null) {
      head += method === "GET" ? "\r\n" : "Content-Length: 0\r\n\r\n";
    } else {
      head += `Content-Length: ${typeof body === "string" ? Buffer.byteLength(body) : body.length}\r\n\r\n`;
    }
    return head;
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
    // Requests written and not yet answered, oldest first (more than one only when pipelined).
    this.queue = [];
    this.buffer = null;
    this.socket = net.connect({ host: client.host, port: client.port, noDelay: true });
    this.socket.on("data", (chunk) => this.onData(chunk));
    this.socket.on("end", () => this.onEnd());
    this.socket.on("error", (err) => this.fail(err));
    this.socket.on("close", () => this.fail(new Error("The Runtime API closed the connection")));
  }

  send(requests) {
    const promises = requests.map(() => new Promise((resolve, reject) => {
      this.queue.push({ resolve, reject, status: 0, headers: null, state: HEAD, left: 0, chunks: [], size: 0, close: false });
    }));
    this.socket.ref();
    if (requests.length === 1 && (requests[0][1] === undefined || requests[0][1] === null)) {
      this.socket.write(requests[0][0], "latin1");
      return promises;
    }
    this.socket.cork();
    for (const [head, body] of requests) {
      if (body === undefined || body === null) {
        this.socket.write(head, "latin1");
      } else if (typeof body === "string") {
        this.socket.write(head + body);
      } else {
        this.socket.write(head, "latin1");
        this.socket.write(body);
      }
    }
    this.socket.uncork();
    return promises;
  }

  onData(chunk) {
    if (this.queue.length === 0) {
      // Nothing asked for: a server that talks out of turn cannot be followed.
      this.socket.destroy();
      return;
    }
    this.buffer = this.buffer !== null && this.buffer.length > 0 ? Buffer.concat([this.buffer, chunk]) : chunk;
    try {
      while (this.queue.length > 0) {
        const p = this.queue[0];
        if (!this.parse(p)) return;
        this.queue.shift();
        this.done(p);
      }
      if (this.buffer.length > 0) this.socket.destroy(); // more than was asked for
    } catch (err) {
      this.socket.destroy();
      this.fail(err);
    }
  }

  parse(p) {
    for (;;) {
      const buf = this.buffer;
      if (p.state === HEAD) {
        const end = buf.indexOf(HEAD_END);
        if (end < 0) {
          if (buf.length > MAX_HEAD) throw new Error("The Runtime API sent a response head over 64 KiB");
          return false;
        }
        this.head(p, buf.latin1Slice(0, end));
        this.buffer = buf.subarray(end + 4);
        if (p.state === HEAD) continue; // an interim 1xx answer
      } else if (p.state === LENGTH) {
        const n = Math.min(p.left, buf.length);
        if (n > 0) this.take(p, buf.subarray(0, n));
        p.left -= n;
        this.buffer = buf.subarray(n);
        if (p.left > 0) return false;
        return true;
      } else if (p.state === CHUNK_SIZE) {
        const eol = buf.indexOf("\r\n");
        if (eol < 0) {
          if (buf.length > 1024) throw new Error("The Runtime API sent a malformed chunk");
          return false;
        }
        const size = Number.parseInt(buf.latin1Slice(0, eol).split(";")[0], 16);
        if (!Number.isFinite(size) || size < 0) throw new Error("The Runtime API sent a malformed chunk");
        this.buffer = buf.subarray(eol + 2);
        p.state = size === 0 ? TRAILERS : CHUNK_DATA;
        p.left = size;
      } else if (p.state === CHUNK_DATA) {
        const n = Math.min(p.left, buf.length);
        if (n > 0) this.take(p, buf.subarray(0, n));
        p.left -= n;
        this.buffer = buf.subarray(n);
        if (p.left > 0) return false;
        p.state = CHUNK_END;
      } else if (p.state === CHUNK_END) {
        if (buf.length < 2) return false;
        this.buffer = buf.subarray(2);
        p.state = CHUNK_SIZE;
      } else if (p.state === TRAILERS) {
        const eol = buf.indexOf("\r\n");
        if (eol < 0) {
          if (buf.length > MAX_HEAD) throw new Error("The Runtime API sent trailers over 64 KiB");
          return false;
        }
        this.buffer = buf.subarray(eol + 2);
        if (eol === 0) return true;
      } else {
        // UNTIL_CLOSE: the body is everything up to the end of the connection.
        if (buf.length > 0) this.take(p, buf);
        this.buffer = buf.subarray(buf.length);
        return false;
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
    const body = p.chunks.length === 1 ? p.chunks[0] : Buffer.concat(p.chunks, p.size);
    if (p.close) {
      // The answers still expected on this connection are rejected by its close.
      this.socket.destroy();
    } else if (this.queue.length === 0) {
      this.client.release(this);
    }
    p.resolve({ status: p.status, headers: p.headers, body });
  }

  onEnd() {
    this.client.forget(this);
    const p = this.queue[0];
    if (p && p.state === UNTIL_CLOSE) {
      p.close = true;
      this.queue.shift();
      this.done(p);
    }
  }

  fail(err) {
    this.client.forget(this);
    const pending = this.queue;
    this.queue = [];
    for (const p of pending) p.reject(err);
  }
}

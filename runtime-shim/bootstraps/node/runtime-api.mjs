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
const CRLF = Buffer.from("\r\n");
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
   * The first `unawaited` requests get no promise (undefined in their place): their answers are read and dropped, and
   * a failure of the connection reaches the caller through the later ones, which it rejects too.
   */
  pipeline(requests, unawaited = 0) {
    return this.connection().send(requests.map(([method, path, body, headers]) => [this.head(method, path, body, headers), body]), unawaited);
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

// The header names the shim sends, as it spells them, and their lower-cased form: a name spelt so is matched in place
// (no slice, trim and toLowerCase per header); any other spelling takes the general path, with the same result.
const KNOWN_NAMES = new Map();
for (const name of ["Content-Length", "Content-Type", "Date", "Server", "Connection", "Transfer-Encoding", "Lambda-Runtime-Aws-Request-Id",
  "Lambda-Runtime-Deadline-Ms", "Lambda-Runtime-Invoked-Function-Arn", "Lambda-Runtime-Trace-Id", "Lambda-Runtime-Client-Context",
  "Lambda-Runtime-Cognito-Identity"]) {
  const list = KNOWN_NAMES.get(name.length) ?? [];
  list.push([name, name.toLowerCase()]);
  KNOWN_NAMES.set(name.length, list);
}

function knownName(text, at, colon) {
  const list = KNOWN_NAMES.get(colon - at);
  if (list === undefined) return undefined;
  for (let i = 0; i < list.length; i++) {
    if (text.startsWith(list[i][0], at)) return list[i][1];
  }
  return undefined;
}

// What String.prototype.trim removes, among the latin1 characters a head is decoded to.
function isSpace(c) {
  return c <= 32 || c === 160;
}

// One request written and not yet answered: its promise's functions and the parser's state of its answer.
class Pending {
  constructor(resolve, reject) {
    this.resolve = resolve;
    this.reject = reject;
    this.status = 0;
    this.headers = null;
    this.state = HEAD;
    this.left = 0;
    this.body = null; // a Content-Length body's Buffer, filled as it arrives
    this.chunks = null; // else copies of the body's pieces
    this.size = 0;
    this.close = false;
  }
}

// A no-body request head is written in one string with the others only when it is ASCII (otherwise it goes out as
// latin1, as it always has; a head with a string body goes out as UTF-8 with it).
const NOT_ASCII = /[^\x00-\x7f]/;
function ignore() {}
// Every connection reads into this one buffer (node's `onread`: no Readable stream, no new Buffer per read): the
// parser copies out what it keeps before the read callback returns, and only one callback runs at a time.
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);
// A body up to this size is read straight into a Buffer of its Content-Length (one copy); a larger one, a chunked one
// or one up to the end of the connection is kept as copies of its pieces and joined at its end.
const PREALLOCATE = 16 * 1024 * 1024;

class Connection {
  constructor(client) {
    this.client = client;
    // Requests written and not yet answered, oldest first (more than one only when pipelined).
    this.queue = [];
    // What the parser works on during one read: buffer[offset..end] (the shared read buffer, or the bytes left over
    // from the last read joined with this one's).
    this.buffer = null;
    this.offset = 0;
    this.end = 0;
    // The bytes of an incomplete head or chunk line left over from the last read (a copy), or null.
    this.rest = null;
    this.socket = net.connect({
      host: client.host,
      port: client.port,
      noDelay: true,
      onread: { buffer: READ_BUFFER, callback: (n, buf) => this.onRead(n, buf) },
    });
    this.socket.on("end", () => this.onEnd());
    this.socket.on("error", (err) => this.fail(err));
    this.socket.on("close", () => this.fail(new Error("The Runtime API closed the connection")));
  }

  send(requests, unawaited = 0) {
    const queue = this.queue;
    const promises = requests.map((_, i) => {
      if (i < unawaited) {
        queue.push(new Pending(ignore, ignore));
        return undefined;
      }
      return new Promise((resolve, reject) => {
        queue.push(new Pending(resolve, reject));
      });
    });
    this.socket.ref();
    // One write of one string (the usual case: heads and JSON bodies): no cork, no writev of several pieces.
    let text = "";
    let one = true;
    for (let i = 0; i < requests.length; i++) {
      const [head, body] = requests[i];
      if (body === undefined || body === null) {
        if (NOT_ASCII.test(head)) {
          one = false;
          break;
        }
        text += head;
      } else if (typeof body === "string") {
        text += head + body;
      } else {
        one = false;
        break;
      }
    }
    if (one) {
      this.socket.write(text);
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

  onRead(n, shared) {
    if (this.queue.length === 0) {
      // Nothing asked for: a server that talks out of turn cannot be followed.
      this.socket.destroy();
      return false;
    }
    if (this.rest !== null) {
      this.buffer = Buffer.concat([this.rest, shared.subarray(0, n)]);
      this.rest = null;
      this.end = this.buffer.length;
    } else {
      this.buffer = shared;
      this.end = n;
    }
    this.offset = 0;
    try {
      while (this.queue.length > 0) {
        const p = this.queue[0];
        if (!this.parse(p)) {
          // An incomplete head or chunk line: keep its bytes (the shared buffer is overwritten by the next read).
          if (this.offset < this.end) this.rest = Buffer.from(this.buffer.subarray(this.offset, this.end));
          return true;
        }
        this.queue.shift();
        this.done(p);
      }
      if (this.offset < this.end) this.socket.destroy(); // more than was asked for
    } catch (err) {
      this.socket.destroy();
      this.fail(err);
    } finally {
      this.buffer = null;
    }
    return true;
  }

  parse(p) {
    for (;;) {
      const buf = this.buffer;
      const at = this.offset;
      const end = this.end;
      if (p.state === HEAD) {
        const head = buf.indexOf(HEAD_END, at);
        if (head < 0 || head + 4 > end) {
          if (end - at > MAX_HEAD) throw new Error("The Runtime API sent a response head over 64 KiB");
          return false;
        }
        this.head(p, buf.latin1Slice(at, head));
        this.offset = head + 4;
        if (p.state === HEAD) continue; // an interim 1xx answer
      } else if (p.state === LENGTH) {
        const n = Math.min(p.left, end - at);
        if (n > 0) this.take(p, buf, at, at + n);
        p.left -= n;
        this.offset = at + n;
        if (p.left > 0) return false;
        return true;
      } else if (p.state === CHUNK_SIZE) {
        const eol = this.line(buf, at, end);
        if (eol < 0) {
          if (end - at > 1024) throw new Error("The Runtime API sent a malformed chunk");
          return false;
        }
        const size = Number.parseInt(buf.latin1Slice(at, eol).split(";")[0], 16);
        if (!Number.isFinite(size) || size < 0) throw new Error("The Runtime API sent a malformed chunk");
        this.offset = eol + 2;
        p.state = size === 0 ? TRAILERS : CHUNK_DATA;
        p.left = size;
      } else if (p.state === CHUNK_DATA) {
        const n = Math.min(p.left, end - at);
        if (n > 0) this.take(p, buf, at, at + n);
        p.left -= n;
        this.offset = at + n;
        if (p.left > 0) return false;
        p.state = CHUNK_END;
      } else if (p.state === CHUNK_END) {
        if (end - at < 2) return false;
        this.offset = at + 2;
        p.state = CHUNK_SIZE;
      } else if (p.state === TRAILERS) {
        const eol = this.line(buf, at, end);
        if (eol < 0) {
          if (end - at > MAX_HEAD) throw new Error("The Runtime API sent trailers over 64 KiB");
          return false;
        }
        this.offset = eol + 2;
        if (eol === at) return true;
      } else {
        // UNTIL_CLOSE: the body is everything up to the end of the connection.
        if (end > at) this.take(p, buf, at, end);
        this.offset = end;
        return false;
      }
    }
  }

  /** The index of the next CRLF in buf[at..end], or -1 (the shared buffer holds stale bytes past end). */
  line(buf, at, end) {
    const eol = buf.indexOf(CRLF, at);
    return eol >= 0 && eol + 2 <= end ? eol : -1;
  }

  head(p, text) {
    // Line by line with indexOf (no split into an array of lines).
    const first = text.indexOf("\r\n");
    const statusLine = first < 0 ? text : text.slice(0, first);
    const status = Number.parseInt(statusLine.slice(9, 12), 10);
    if (!statusLine.startsWith("HTTP/1.") || !Number.isFinite(status)) throw new Error(`The Runtime API sent a malformed status line: ${statusLine.slice(0, 100)}`);
    if (status >= 100 && status < 200) return;
    const headers = {};
    let at = first < 0 ? text.length : first + 2;
    while (at < text.length) {
      let end = text.indexOf("\r\n", at);
      if (end < 0) end = text.length;
      const colon = text.indexOf(":", at);
      if (colon > at && colon < end) {
        const name = knownName(text, at, colon) ?? text.slice(at, colon).trim().toLowerCase();
        // ": value" with nothing else to trim (the usual shape) is sliced once; anything else is trimmed.
        const value = text.charCodeAt(colon + 1) === 32 && colon + 2 < end && !isSpace(text.charCodeAt(colon + 2)) && !isSpace(text.charCodeAt(end - 1))
          ? text.slice(colon + 2, end)
          : text.slice(colon + 1, end).trim();
        headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
      }
      at = end + 2;
    }
    p.status = status;
    p.headers = headers;
    const connection = headers.connection;
    p.close = connection !== undefined && /(^|,)\s*close\s*(,|$)/i.test(connection);
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

  /** Copies buf[start..end] into the answer's body (the read buffer is reused). */
  take(p, buf, start, end) {
    if (p.body === null && p.state === LENGTH && p.left <= PREALLOCATE) {
      // The first bytes of a Content-Length body: its Buffer, filled as it arrives.
      p.body = Buffer.allocUnsafe(p.left);
    }
    if (p.body !== null) {
      p.size += buf.copy(p.body, p.size, start, end);
      return;
    }
    if (p.chunks === null) p.chunks = [];
    p.chunks.push(Buffer.from(buf.subarray(start, end)));
    p.size += end - start;
  }

  done(p) {
    const body = p.body ?? (p.chunks !== null ? Buffer.concat(p.chunks, p.size) : Buffer.alloc(0));
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

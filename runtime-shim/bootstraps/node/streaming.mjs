// Response streaming as Lambda's Node.js runtime provides it (aws-lambda-nodejs-runtime-interface-client):
// - globalThis.awslambda.streamifyResponse(handler, {highWaterMark}) marks a handler `async (event, responseStream, context)`;
// - globalThis.awslambda.HttpResponseStream.from(stream, {statusCode, headers, cookies}) sets the content type
//   application/vnd.awslambda.http-integration-response and writes the JSON prelude and 8 NUL bytes before the first byte;
// - the responseStream is a Writable over one chunked POST /invocation/{id}/response with
//   Lambda-Runtime-Function-Response-Mode: streaming (its headers go with the first write or the end, so setContentType
//   works until then; write callbacks follow the socket, so a slow client slows the handler);
// - a handler that throws or rejects ends the request with the trailers Lambda-Runtime-Function-Error-Type and
//   Lambda-Runtime-Function-Error-Body (base64 of the error JSON); the invocation is over when the stream has ended.
import http from "node:http";
import { Writable } from "node:stream";

const STREAMING = Symbol.for("aws.lambda.runtime.handler.streaming");
const HIGH_WATER_MARK = Symbol.for("aws.lambda.runtime.handler.streaming.highWaterMark");
const STREAM_RESPONSE = "response";
export const PRELUDE_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response";
const DEFAULT_CONTENT_TYPE = "application/octet-stream";
const ERROR_TYPE = "Lambda-Runtime-Function-Error-Type";
const ERROR_BODY = "Lambda-Runtime-Function-Error-Body";

class HttpResponseStream {
  static from(underlyingStream, prelude) {
    underlyingStream.setContentType(PRELUDE_CONTENT_TYPE);
    const json = JSON.stringify(prelude ?? {});
    underlyingStream._onBeforeFirstWrite = (write) => {
      write(Buffer.from(json));
      write(Buffer.alloc(8));
    };
    return underlyingStream;
  }
}

export function installGlobals() {
  const off = ["1", "true"].includes(process.env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA || "");
  if (off) return;
  globalThis.awslambda = {
    ...globalThis.awslambda,
    streamifyResponse: (handler, options) => {
      handler[STREAMING] = STREAM_RESPONSE;
      if (typeof options?.highWaterMark === "number") handler[HIGH_WATER_MARK] = Math.trunc(options.highWaterMark);
      return handler;
    },
    HttpResponseStream,
  };
}

export function isStreaming(handler) {
  return handler?.[STREAMING] === STREAM_RESPONSE;
}

/** The response stream of one invocation, and a promise of the Runtime API's answer once it ended. */
export function createResponseStream({ host, port, path, highWaterMark }) {
  let contentType = DEFAULT_CONTENT_TYPE;
  let req;
  let answer;
  const open = () => {
    if (req) return req;
    answer = new Promise((resolve, reject) => {
      req = http.request(
        {
          host,
          port,
          method: "POST",
          path,
          headers: {
            "Lambda-Runtime-Function-Response-Mode": "streaming",
            "Transfer-Encoding": "chunked",
            "Content-Type": contentType,
            Trailer: `${ERROR_TYPE}, ${ERROR_BODY}`,
          },
        },
        (res) => {
          const chunks = [];
          res.on("data", (c) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      // Each write is sent at once (no Nagle delay behind the previous small segment's ACK).
      req.on("socket", (socket) => socket.setNoDelay(true));
    });
    return req;
  };
  const stream = new Writable({
    highWaterMark,
    write(chunk, encoding, callback) {
      const r = open();
      if (typeof stream._onBeforeFirstWrite === "function") {
        const before = stream._onBeforeFirstWrite;
        stream._onBeforeFirstWrite = undefined;
        before((c) => r.write(c));
      }
      r.write(chunk, encoding, callback);
    },
    final(callback) {
      const r = open();
      if (typeof stream._onBeforeFirstWrite === "function") {
        const before = stream._onBeforeFirstWrite;
        stream._onBeforeFirstWrite = undefined;
        before((c) => r.write(c));
      }
      r.end(callback);
    },
  });
  stream.setContentType = (type) => {
    if (req) throw Object.assign(new Error("Cannot set content-type, too late."), { name: "InvalidStreamingOperation" });
    contentType = type;
  };
  /** Ends the stream with the error trailers (what was written stays written). */
  const fail = (doc) => {
    const r = open();
    return new Promise((resolve) => {
      r.addTrailers({ [ERROR_TYPE]: doc.errorType, [ERROR_BODY]: Buffer.from(JSON.stringify(doc)).toString("base64") });
      r.end(resolve);
    });
  };
  // The invocation is over when the handler's stream has finished (it may end after the handler returned) and the
  // Runtime API answered.
  const done = () =>
    new Promise((resolve, reject) => {
      if (stream.writableFinished) resolve();
      else {
        stream.once("finish", resolve);
        stream.once("error", reject);
      }
    }).then(() => answer);
  const answered = () => answer ?? Promise.resolve();
  return { stream, fail, done, answered };
}

/**
 * Runs a streaming handler: resolves when the stream ended and the Runtime API answered; {error} when the handler threw
 * or rejected (the caller then ends the stream with the trailers).
 */
export async function runStreamingHandler(handler, event, context, response) {
  let returned;
  try {
    returned = handler(event, response.stream, context);
  } catch (error) {
    return { error };
  }
  if (!returned || typeof returned.then !== "function") {
    return { error: new Error("Streaming does not support non-async handlers.") };
  }
  try {
    const result = await returned;
    if (result !== undefined) console.warn("Streaming handlers ignore return values.");
  } catch (error) {
    return { error: error ?? new Error("Promise rejected") };
  }
  return {};
}

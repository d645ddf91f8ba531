// A response-streaming handler (awslambda.streamifyResponse), run by the project's node bootstrap and by aws-lambda-ric.
import fs from "node:fs";

const until = async (file) => {
  while (!fs.existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 20));
};

export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  switch (event.action) {
    case "chunks":
      // Chunk 2 is written only once the test saw chunk 1 at the gateway's side (it creates the file then).
      responseStream.setContentType("text/plain; charset=utf-8");
      responseStream.write(`chunk-1:${context.awsRequestId};`);
      await until(event.value.go);
      responseStream.write("chunk-2;");
      responseStream.end();
      return;
    case "prelude": {
      const stream = awslambda.HttpResponseStream.from(responseStream, {
        statusCode: 201,
        headers: { "x-custom": "yes" },
        cookies: ["a=1; Path=/"],
      });
      stream.write("hello ");
      stream.end("world");
      return;
    }
    case "fail-midway":
      responseStream.write("partial;");
      await new Promise((resolve) => setTimeout(resolve, 10));
      throw Object.assign(new Error("broke midway"), { name: "MidwayError" });
    case "sleep-midway":
      responseStream.write("before-timeout;");
      await new Promise((resolve) => setTimeout(resolve, 600000));
      return;
    case "big":
      responseStream.write("x".repeat(event.value.bytes));
      responseStream.end();
      return;
    default:
      throw new Error(`unknown action ${event.action}`);
  }
});

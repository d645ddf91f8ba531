// A handler for the concurrency tests that works across worker threads (aws-lambda-ric's multi-concurrent mode runs
// handlers in several threads of one process): each invocation writes a file into event.dir and waits until event.expect
// files are there, so none answers unless they all run at once.
import fs from "node:fs";
import path from "node:path";
import { threadId } from "node:worker_threads";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const handler = async (event, context) => {
  fs.writeFileSync(path.join(event.dir, context.awsRequestId), "");
  console.log(`arrived ${event.tag}`);
  while (fs.readdirSync(event.dir).length < event.expect) await sleep(10);
  console.log(`released ${event.tag}`);
  return { tag: event.tag, id: context.awsRequestId, pid: process.pid, thread: threadId };
};

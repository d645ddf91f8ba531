// Handler for the AWS Node.js runtime interface client (aws-lambda-ric): async style.
let count = 0;

export const handler = async (event, context) => {
  count++;
  switch (event.action) {
    case "ok":
      console.log("hello-from-handler", event.value);
      return { ok: true, value: event.value, count, requestId: context.awsRequestId };
    case "handled":
      throw Object.assign(new Error("handled failure"), { name: "ValidationError" });
    case "unhandled":
      return null.boom;
    case "sleep":
      await new Promise((resolve) => setTimeout(resolve, 600000));
      return "late";
    case "exit":
      process.exit(1);
    case "big":
      return "x".repeat(7 * 1024 * 1024);
    default:
      throw new Error(`unknown action ${event.action}`);
  }
};

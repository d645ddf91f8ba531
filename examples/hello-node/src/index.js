// An unmodified Lambda handler: async style, reads the event and the context, logs to stdout.
exports.handler = async (event, context) => {
  const name = (event && event.name) || "world";
  console.log(`greeting ${name} in request ${context.awsRequestId}`);
  if (event && event.fail) {
    throw new Error(`asked to fail: ${event.fail}`);
  }
  if (event && event.sleepMs) {
    await new Promise((resolve) => setTimeout(resolve, event.sleepMs));
  }
  return {
    message: `${process.env.GREETING || "Hello"}, ${name}!`,
    requestId: context.awsRequestId,
    functionName: context.functionName,
  };
};

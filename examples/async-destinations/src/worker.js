// Fails on demand so that the gateway's retries and the OnFailure destination can be watched.
exports.handler = async (event, context) => {
  console.log(`working on ${JSON.stringify(event)} (request ${context.awsRequestId})`);
  if (event && event.fail) {
    throw new Error(`failing on purpose: ${event.fail}`);
  }
  return { done: true, input: event };
};

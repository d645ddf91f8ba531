// The OnSuccess destination: receives Lambda's invocation record
// {version, timestamp, requestContext: {requestId, functionArn, condition, approximateInvokeCount},
//  requestPayload, responseContext, responsePayload} and logs it.
exports.handler = async (record) => {
  const ctx = (record && record.requestContext) || {};
  console.log(`success record for ${ctx.requestId}: condition=${ctx.condition} attempts=${ctx.approximateInvokeCount} response=${JSON.stringify(record && record.responsePayload)}`);
  return { recorded: ctx.requestId };
};

using FnOperator.DotnetBootstrap;

// FnOperator's managed .NET runtime: load the handler once (init), then serve invocations until the Runtime API is
// gone. Output goes through LambdaLog (Lambda's `timestamp\trequestId\tlevel\tmessage` lines).
var log = LambdaLog.Install();
using var api = new RuntimeApiClient(Environment.GetEnvironmentVariable("AWS_LAMBDA_RUNTIME_API") ?? "127.0.0.1:9001");
ParentWatch.Start();

HandlerInvoker invoker;
try
{
    invoker = HandlerLoader.Load(
        Environment.GetEnvironmentVariable("_HANDLER") ?? "",
        Environment.GetEnvironmentVariable("LAMBDA_TASK_ROOT") ?? "/var/task");
}
catch (Exception e)
{
    var error = ErrorDocument.From(e);
    log.WriteError(error);
    await api.PostInitErrorAsync(error).ConfigureAwait(false);
    return 1;
}

try
{
    while (true)
    {
        using var next = await api.NextAsync().ConfigureAwait(false);
        log.RequestId = next.RequestId;
        if (next.TraceId is { } traceId)
        {
            Environment.SetEnvironmentVariable("_X_AMZN_TRACE_ID", traceId);
        }

        var context = new InvocationContext(next, log);
        byte[] response;
        try
        {
            response = await invoker.InvokeAsync(next.Body, context).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            var error = ErrorDocument.From(e);
            log.WriteError(error);
            await api.PostErrorAsync(next.RequestId, error).ConfigureAwait(false);
            continue;
        }
        finally
        {
            log.RequestId = "";
        }

        await api.PostResponseAsync(next.RequestId, response).ConfigureAwait(false);
    }
}
catch (HttpRequestException)
{
    // The Runtime API is gone (the shim was killed or stopped): nothing more can be served.
    return 1;
}

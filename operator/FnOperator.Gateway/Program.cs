using FnOperator.Gateway;

// First: inline I/O is read by the runtime when the first socket is registered and the first pool worker starts.
if (InlineIo.Configure(args.FirstOrDefault()) is { } inlineProblem)
{
    await Console.Error.WriteLineAsync($"error: {inlineProblem}").ConfigureAwait(false);
    return 2;
}

// Not disposed: ProcessExit can fire after Main returns.
var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Cancel();

return await Cli.RunAsync(args, stop.Token).ConfigureAwait(false);

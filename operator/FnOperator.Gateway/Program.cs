using FnOperator.Gateway;

// Not disposed: ProcessExit can fire after Main returns.
var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Cancel();

return await Cli.RunAsync(args, stop.Token).ConfigureAwait(false);

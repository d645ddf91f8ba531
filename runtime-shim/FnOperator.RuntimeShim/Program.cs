using FnOperator.RuntimeShim;

if (args.Length > 0 && args[0] == "install")
{
    return Installer.Run(args, Console.Out, Console.Error);
}

// The sandbox's exec'd step that puts the runtime in its own process group (Sandbox/SandboxExec.cs): nothing else runs.
if (args.Length > 0 && args[0] == FnOperator.Sandboxing.SandboxExec.Verb)
{
    return FnOperator.Sandboxing.SandboxExec.Run(args);
}

// The resident sandbox of one runtime for a process hosting the shim (Sandbox/Keeper.cs): nothing else runs.
if (args.Length > 0 && args[0] == FnOperator.Sandboxing.Keeper.Verb)
{
    return FnOperator.Sandboxing.Keeper.Run(args);
}

// Socket completions run on the socket engine's threads instead of being queued to the thread pool (issue #19): a shim
// process runs one invocation at a time and none of its socket continuations blocks, so the hand-off to a pool worker was
// only a futex wake and a context switch per socket event. Set before the first socket exists (the engine reads it once);
// an explicit DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS (e.g. 0) wins. ShimHost makes Kestrel run inline with it.
// The runtime's environment is built from nothing (RuntimeLaunch), so it never inherits this.
if (Environment.GetEnvironmentVariable(ShimHost.InlineCompletionsVariable) is null)
{
    Environment.SetEnvironmentVariable(ShimHost.InlineCompletionsVariable, "1");
}

// The sandbox: orphans of the runtime (setsid, double fork) are re-parented to the shim, which kills them with it.
FnOperator.Sandboxing.ProcessSandbox.BecomeSubreaper();

ShimOptions options;
ShimHost host;
try
{
    options = ShimOptions.FromEnvironment(Environment.GetEnvironmentVariables());
    host = ShimHost.Create(options, minimumLevel: options.LogLevel);
}
catch (ShimConfigurationException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

await using (host)
{
    await host.StartAsync(CancellationToken.None);
    Console.WriteLine($"FNOP_SHIM_LISTENING runtime-api={host.RuntimeApiAddress} http={host.HttpAddress}");
    await host.WaitForShutdownAsync();
}

return 0;

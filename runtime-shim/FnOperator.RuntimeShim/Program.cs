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

using FnOperator.Operator.Hosting;

try
{
    var app = OperatorApp.Build(args);
    await app.RunAsync();
    return 0;
}
catch (Exception e) when (KubernetesConfig.FindStartupError(e) is { } startup)
{
    await Console.Error.WriteLineAsync($"fn-operator: {startup.Message}");
    return 1;
}

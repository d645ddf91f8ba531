namespace FnOperator.RuntimeShim.Tests;

/// <summary>Starts a shim whose task root holds one file of code written by the test.</summary>
public static class InlineFunction
{
    public static Task<FunctionUnderTest> StartAsync(
        Client client, string file, string code, Dictionary<string, string>? extra = null, double timeoutSeconds = 120, string? apiServer = null)
    {
        var taskRoot = Directory.CreateTempSubdirectory("fnop-shim-inline-").FullName;
        File.WriteAllText(Path.Combine(taskRoot, file), code);
        var env = new Dictionary<string, string>(extra ?? []) { ["LAMBDA_TASK_ROOT"] = taskRoot };
        env.TryAdd("_HANDLER", Path.GetFileNameWithoutExtension(file) + ".handler");
        return FunctionUnderTest.StartAsync(client, timeoutSeconds, env, apiServer: apiServer);
    }
}

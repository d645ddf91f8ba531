using System.Collections;
using System.Diagnostics;
using System.Net;
using System.Text;
using FnOperator.Contracts;

namespace FnOperator.RuntimeShim.Tests;

public sealed class ShimOptionsTests
{
    private static Hashtable Env(params (string Key, string Value)[] pairs)
    {
        var env = new Hashtable { ["AWS_LAMBDA_FUNCTION_NAME"] = "fn", ["FNOP_RUNTIME"] = "nodejs22.x" };
        foreach (var (key, value) in pairs)
        {
            env[key] = value;
        }

        return env;
    }

    [Fact]
    public void Defaults_match_lambda_and_the_process_contract()
    {
        var options = ShimOptions.FromEnvironment(Env());

        Assert.Equal("$LATEST", options.FunctionVersion);
        Assert.Equal("/var/task", options.TaskRoot);
        Assert.Equal(128, options.MemorySizeMb);
        Assert.Equal(3, options.TimeoutSeconds);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 9001), options.RuntimeApiEndpoint);
        Assert.Equal(new IPEndPoint(IPAddress.Any, 9100), options.HttpEndpoint);
        Assert.Equal(6 * 1024 * 1024, options.MaxResponseBytes);
        Assert.Equal("default", options.FunctionNamespace);
    }

    [Fact]
    public void Settings_are_read_from_the_environment()
    {
        var options = ShimOptions.FromEnvironment(Env(
            ("FNOP_SOURCE_URL", "http://gateway:8080"), ("FNOP_FUNCTION_NAMESPACE", "team-a"), ("AWS_LAMBDA_FUNCTION_VERSION", "3"),
            ("_HANDLER", "app.handler"), ("LAMBDA_TASK_ROOT", "/code"), ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"),
            ("FNOP_TIMEOUT_SECONDS", "2.5"), ("FNOP_RUNTIME_API_ADDRESS", "127.0.0.1:0"), ("FNOP_HTTP_ADDRESS", "localhost:9200"),
            ("AWS_REGION", "eu-west-1"), ("FNOP_RUNTIME_COMMAND", "/lambda-entrypoint.sh app.handler")));

        Assert.Equal(new Uri("http://gateway:8080"), options.SourceUrl);
        Assert.Equal("team-a", options.FunctionNamespace);
        Assert.Equal("3", options.FunctionVersion);
        Assert.Equal("app.handler", options.Handler);
        Assert.Equal("/code", options.TaskRoot);
        Assert.Equal(1024, options.MemorySizeMb);
        Assert.Equal(TimeSpan.FromSeconds(2.5), options.Timeout);
        Assert.Equal(0, options.RuntimeApiEndpoint.Port);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 9200), options.HttpEndpoint);
        Assert.Equal("eu-west-1", options.Region);
        Assert.Equal("/lambda-entrypoint.sh app.handler", options.RuntimeCommand);
    }

    [Fact]
    public void Bad_settings_are_all_reported_in_one_clear_error()
    {
        var env = Env(("FNOP_TIMEOUT_SECONDS", "soon"), ("FNOP_RUNTIME_API_ADDRESS", "nowhere"), ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "0"));
        env.Remove("AWS_LAMBDA_FUNCTION_NAME");

        var error = Assert.Throws<ShimConfigurationException>(() => ShimOptions.FromEnvironment(env));

        Assert.Contains("AWS_LAMBDA_FUNCTION_NAME is required", error.Message);
        Assert.Contains("FNOP_TIMEOUT_SECONDS 'soon'", error.Message);
        Assert.Contains("FNOP_RUNTIME_API_ADDRESS 'nowhere'", error.Message);
        Assert.Contains("AWS_LAMBDA_FUNCTION_MEMORY_SIZE '0'", error.Message);
    }

    [Fact]
    public void Runtime_environment_carries_the_lambda_variables_and_drops_shim_settings()
    {
        var options = ShimOptions.FromEnvironment(Env(("_HANDLER", "app.handler"), ("LAMBDA_TASK_ROOT", "/code"), ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")));
        var env = RuntimeLaunch.Environment(options, "127.0.0.1:9001", new Hashtable { ["PATH"] = "/usr/bin", ["FNOP_SOURCE_URL"] = "http://x" });

        Assert.Equal("127.0.0.1:9001", env["AWS_LAMBDA_RUNTIME_API"]);
        Assert.Equal("app.handler", env["_HANDLER"]);
        Assert.Equal("/code", env["LAMBDA_TASK_ROOT"]);
        Assert.Equal("fn", env["AWS_LAMBDA_FUNCTION_NAME"]);
        Assert.Equal("$LATEST", env["AWS_LAMBDA_FUNCTION_VERSION"]);
        Assert.Equal("512", env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]);
        Assert.Equal("us-east-1", env["AWS_REGION"]);
        Assert.Equal(":UTC", env["TZ"]);
        Assert.Equal("/usr/bin:/opt/bin", env["PATH"]); // Lambda puts the layers' bin last
        Assert.False(env.ContainsKey("FNOP_SOURCE_URL"));
    }

    [Theory]
    [InlineData("dotnet8")]
    [InlineData("dotnet10")]
    public void Dotnet_runtimes_launch_the_project_dotnet_bootstrap_for_a_class_library_handler(string runtime)
    {
        var options = ShimOptions.FromEnvironment(Env(("FNOP_RUNTIME", runtime), ("_HANDLER", "App::App.Function::Handler")));

        var (file, arguments) = RuntimeLaunch.Resolve(options);

        Assert.Equal(File.Exists(RuntimeLaunch.LambdaImageDotnet) ? RuntimeLaunch.LambdaImageDotnet : "dotnet", file);
        Assert.Equal(Path.Combine(options.BootstrapDirectory, "dotnet", "FnOperator.DotnetBootstrap.dll"), Assert.Single(arguments));
        Assert.True(File.Exists(arguments[0]));
    }

    [Fact]
    public void Dotnet_runtime_runs_an_executable_assembly_handler_as_a_program()
    {
        var taskRoot = Directory.CreateTempSubdirectory("fnop-exe-").FullName;
        File.WriteAllText(Path.Combine(taskRoot, "HelloExe.dll"), "");
        var options = ShimOptions.FromEnvironment(Env(("FNOP_RUNTIME", "dotnet8"), ("_HANDLER", "HelloExe"), ("LAMBDA_TASK_ROOT", taskRoot)));
        var missing = ShimOptions.FromEnvironment(Env(("FNOP_RUNTIME", "dotnet8"), ("_HANDLER", "Missing"), ("LAMBDA_TASK_ROOT", taskRoot)));

        var (_, arguments) = RuntimeLaunch.Resolve(options);
        var error = Assert.Throws<RuntimeLaunchException>(() => RuntimeLaunch.Resolve(missing));

        Assert.Equal(Path.Combine(taskRoot, "HelloExe.dll"), Assert.Single(arguments));
        Assert.Equal("Runtime.InvalidEntrypoint", error.ErrorType);
        Assert.Contains("Missing.dll", error.Message);
        Directory.Delete(taskRoot, recursive: true);
    }

    [Fact]
    public void Unsupported_runtime_without_command_is_an_invalid_entrypoint()
    {
        var options = ShimOptions.FromEnvironment(Env(("FNOP_RUNTIME", "java21")));

        var error = Assert.Throws<RuntimeLaunchException>(() => RuntimeLaunch.Resolve(options));

        Assert.Equal("Runtime.InvalidEntrypoint", error.ErrorType);
        Assert.Contains("FNOP_RUNTIME_COMMAND", error.Message);
    }
}

public sealed class InvocationSlotTests
{
    internal static Invocation Invocation(string id) => new()
    {
        RequestId = id, Namespace = "default", FunctionName = "fn", Version = "$LATEST", InvokedFunctionArn = "fn",
        Type = InvocationType.RequestResponse, Payload = [], AcceptedAt = DateTimeOffset.UtcNow,
    };

    [Fact]
    public async Task Only_the_first_answer_for_the_in_flight_request_counts()
    {
        var slot = new InvocationSlot();
        var active = slot.Dispatch(Invocation("a"), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Same(active, await slot.NextAsync(CancellationToken.None));

        Assert.Equal(PostOutcome.UnknownRequestId, slot.TryComplete("b", new RuntimeReply(ReplyKind.Response, [1])));
        Assert.Equal(PostOutcome.Accepted, slot.TryComplete("a", new RuntimeReply(ReplyKind.Response, [2])));
        Assert.Equal(PostOutcome.AlreadyCompleted, slot.TryComplete("a", new RuntimeReply(ReplyKind.Response, [3])));
        slot.Finish(active);
        Assert.Equal(PostOutcome.AlreadyCompleted, slot.TryComplete("a", new RuntimeReply(ReplyKind.Error, [4])));

        Assert.Equal([2], (await active.Reply.Task).Body);
    }

    [Fact]
    public async Task An_invocation_the_runtime_never_took_is_not_delivered_to_the_next_runtime()
    {
        var slot = new InvocationSlot();
        var lost = slot.Dispatch(Invocation("lost"), DateTimeOffset.UtcNow.AddMinutes(1));
        slot.Finish(lost);
        slot.Dispatch(Invocation("next"), DateTimeOffset.UtcNow.AddMinutes(1));

        var delivered = await slot.NextAsync(CancellationToken.None);

        Assert.Equal("next", delivered.Invocation.RequestId);
    }
}

public sealed class LogAndInstallTests
{
    [Fact]
    public void Log_tail_keeps_the_last_4_KB_without_splitting_a_character()
    {
        var sink = new LogSink(TextWriter.Null);
        sink.BeginCapture();
        sink.WriteLine(new string('a', 5000));
        sink.WriteLine(string.Concat(Enumerable.Repeat("é", 1000)) + " last");

        var tail = sink.EndCapture();

        Assert.True(Encoding.UTF8.GetByteCount(tail) <= 4096);
        Assert.EndsWith("é last\n", tail);
        Assert.DoesNotContain('\uFFFD', tail);
    }

    [Fact]
    public void Lines_outside_an_invocation_are_forwarded_but_not_captured()
    {
        var output = new StringWriter();
        var sink = new LogSink(output);
        sink.WriteLine("before");
        sink.BeginCapture();
        sink.WriteLine("during");

        Assert.Equal("during\n", sink.EndCapture());
        Assert.Equal($"before{Environment.NewLine}during{Environment.NewLine}", output.ToString());
    }

    [Fact]
    public async Task Install_command_copies_the_shim_and_its_bootstraps_into_the_directory()
    {
        var target = Path.Combine(Directory.CreateTempSubdirectory("fnop-install-").FullName, "bin");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(Repo.ShimDirectory, "FnOperator.RuntimeShim.dll"));
        info.ArgumentList.Add("install");
        info.ArgumentList.Add(target);

        using var process = Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(0, process.ExitCode);
        Assert.Contains("Installed runtime-shim", output);
        Assert.True(File.Exists(Path.Combine(target, "FnOperator.RuntimeShim.dll")));
        Assert.True(File.Exists(Path.Combine(target, "FnOperator.RuntimeShim.runtimeconfig.json")));
        Assert.Equal(File.ReadAllText(Path.Combine(Repo.Root, "runtime-shim", "bootstraps", "node", "index.mjs")),
            File.ReadAllText(Path.Combine(target, "bootstraps", "node", "index.mjs")));
        Assert.True(File.Exists(Path.Combine(target, "bootstraps", "python", "bootstrap.py")));
        Assert.True(File.Exists(Path.Combine(target, "bootstraps", "python", "fnop_logging.py")));
        Assert.True(File.Exists(Path.Combine(target, "bootstraps", "dotnet", "FnOperator.DotnetBootstrap.dll")));
        Assert.True(File.Exists(Path.Combine(target, "bootstraps", "dotnet", "FnOperator.DotnetBootstrap.runtimeconfig.json")));
        Assert.False(Directory.Exists(Path.Combine(target, "bootstraps", "dotnet", "FnOperator.DotnetBootstrap")), "the bootstrap's sources are not shipped");
        Directory.Delete(Path.GetDirectoryName(target)!, recursive: true);
    }

    [Fact]
    public void Install_without_a_directory_prints_usage_and_fails()
    {
        var error = new StringWriter();

        Assert.Equal(2, Installer.Run(["install"], TextWriter.Null, error));
        Assert.Contains("usage: runtime-shim install <dir>", error.ToString());
    }

    [Fact]
    public async Task Shim_refuses_to_start_with_a_clear_message_when_configuration_is_bad()
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(Repo.ShimDirectory, "FnOperator.RuntimeShim.dll"));
        info.Environment.Remove("AWS_LAMBDA_FUNCTION_NAME");
        info.Environment["FNOP_RUNTIME"] = "nodejs22.x";

        using var process = Process.Start(info)!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, process.ExitCode);
        Assert.Contains("AWS_LAMBDA_FUNCTION_NAME is required", error);
    }

    [Fact]
    public void Unread_bytes_in_a_pipe_are_visible_so_output_can_be_drained_before_end()
    {
        using var writer = new System.IO.Pipes.AnonymousPipeServerStream(System.IO.Pipes.PipeDirection.Out);
        using var reader = new System.IO.Pipes.AnonymousPipeClientStream(System.IO.Pipes.PipeDirection.In, writer.ClientSafePipeHandle);
        var fd = OutputPump.FileDescriptor(reader);

        Assert.Equal(0, OutputPump.Available(fd));
        writer.Write("abc"u8);
        writer.Flush();
        Assert.Equal(3, OutputPump.Available(fd));
    }

    [Fact]
    public async Task Unread_output_of_a_child_process_is_visible_on_its_redirected_stdout()
    {
        var info = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("printf abc; sleep 30");
        using var process = Process.Start(info)!;
        var fd = OutputPump.FileDescriptor(process.StandardOutput.BaseStream);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (OutputPump.Available(fd) < 3 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.True(fd >= 0, "the runtime's stdout is a pipe with a file descriptor");
        Assert.Equal(3, OutputPump.Available(fd));
        process.Kill();
    }

    [Fact]
    public async Task Output_without_newlines_is_emitted_in_bounded_pieces()
    {
        var output = new StringWriter();
        var sink = new LogSink(output);
        var text = new string('q', (OutputPump.MaxLineChars * 2) + 10) + "\nnext\n";
        var pump = new OutputPump(new MemoryStream(Encoding.UTF8.GetBytes(text)), sink);

        await pump.Completion.WaitAsync(TimeSpan.FromSeconds(30));

        var lines = output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([OutputPump.MaxLineChars, OutputPump.MaxLineChars, 10, 4], lines.Select(l => l.Length));
        Assert.Equal("next", lines[^1]);
    }

    [Fact]
    public void Memory_of_a_process_tree_is_measured_from_proc()
    {
        Assert.True(MemorySampler.TreeRss(Environment.ProcessId) > 1024 * 1024);
    }
}

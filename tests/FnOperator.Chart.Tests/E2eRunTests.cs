namespace FnOperator.Chart.Tests;

/// <summary>
/// tests/e2e/kind.sh in its real `run` mode against stub docker/kind/kubectl/helm/aws/curl that log their arguments
/// (the real tools and Docker are not on this machine): the run path, its checks of the AWS CLI answers, and teardown.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class E2eRunTests
{
    private const string Stub = """
        #!/usr/bin/env bash
        # Stub tool: logs "<tool> <args>" and answers like the real one where the script reads the answer.
        tool="$(basename "$0")"
        echo "$tool $*" >>"$FAKE_LOG"
        case "$tool $*" in
          "aws --version") echo "aws-cli/${FAKE_AWS_MAJOR:-2}.17.0 Python/3.11 Linux" ;;
          "aws lambda invoke"*)
            out="${!#}"
            if [[ "$*" == *"--invocation-type Event"* ]]; then
              echo '{}' >"$out"; echo '{"StatusCode": 202}'
            else
              echo "${FAKE_RESPONSE:-{\"message\":\"Hello, kind!\"}}" >"$out"
              echo "${FAKE_META:-{\"StatusCode\": 200, \"ExecutedVersion\": \"\$LATEST\"}}"
            fi ;;
          "kubectl -n fn-system port-forward"*) exec sleep 120 ;;
          "kubectl -n fnop-e2e apply -f -") sed 's/^/  | /' >>"$FAKE_LOG" ;;
        esac
        exit 0
        """;

    private static readonly string[] Tools = ["docker", "kind", "kubectl", "helm", "aws", "curl"];

    [Fact]
    public async Task Run_goes_from_cluster_creation_to_a_checked_invoke_and_deletes_the_cluster()
    {
        var (result, log) = await RunAsync();
        Assert.True(result.ExitCode == 0, result.Describe() + "\n--- log ---\n" + log);
        Assert.Contains("e2e-kind passed", result.StdErr);
        var lines = log.Split('\n');
        Assert.StartsWith("kind create cluster --name fnop-e2e", lines.First(l => l.StartsWith("kind ", StringComparison.Ordinal)));
        Assert.Equal(3, lines.Count(l => l.StartsWith("docker build ", StringComparison.Ordinal)));
        Assert.Equal(3, lines.Count(l => l.StartsWith("kind load docker-image ", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.StartsWith("kubectl -n fnop-e2e apply -f -", StringComparison.Ordinal));

        // The chart's function NetworkPolicy goes into fnop-e2e, so both namespaces exist (and enforce PSS) before helm runs.
        var helm = Array.FindIndex(lines, l => l.StartsWith("helm upgrade --install", StringComparison.Ordinal));
        foreach (var ns in new[] { "fn-system", "fnop-e2e" })
        {
            Assert.InRange(Array.IndexOf(lines, $"kubectl create namespace {ns}"), 0, helm);
            Assert.InRange(Array.IndexOf(lines, $"kubectl label namespace {ns} pod-security.kubernetes.io/enforce=restricted"), 0, helm);
        }

        Assert.Contains("  |     configMap:", lines);
        Assert.Contains(lines, l => l.Contains("--function-name fnop-e2e/hello-node", StringComparison.Ordinal) && l.Contains("Event", StringComparison.Ordinal));
        Assert.Equal("kind delete cluster --name fnop-e2e", lines.Last(l => l.Length > 0));
    }

    [Fact]
    public async Task A_function_error_fails_the_run_prints_the_cluster_state_and_still_deletes_the_cluster()
    {
        var (result, log) = await RunAsync(new() { ["FAKE_META"] = """{"StatusCode": 200, "FunctionError": "Unhandled"}""" });
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("sync invoke: function error", result.StdErr);
        Assert.Contains("kubectl get pods -A -o wide", log);
        Assert.Contains("kubectl -n fnop-e2e describe function hello-node", log);
        Assert.EndsWith("kind delete cluster --name fnop-e2e", log.TrimEnd());
    }

    [Fact]
    public async Task A_wrong_response_body_fails_the_run()
    {
        var (result, _) = await RunAsync(new() { ["FAKE_RESPONSE"] = """{"message":"Goodbye"}""" });
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("sync invoke: unexpected response", result.StdErr);
    }

    [Fact]
    public async Task Keep_cluster_leaves_it_running()
    {
        var (result, log) = await RunAsync(new() { ["KEEP_CLUSTER"] = "1" });
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.DoesNotContain("kind delete cluster", log);
        Assert.Contains("keeping cluster fnop-e2e", result.StdErr);
    }

    [Fact]
    public async Task Aws_cli_v1_is_refused_before_anything_is_created()
    {
        var (result, log) = await RunAsync(new() { ["FAKE_AWS_MAJOR"] = "1" });
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("is not the AWS CLI v2", result.StdErr);
        Assert.DoesNotContain("kind create", log);
    }

    [Fact]
    public async Task Missing_tools_are_named_before_anything_is_created()
    {
        var (result, log) = await RunAsync(tools: ["kind", "helm"], isolated: true);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("missing tools: docker kubectl aws curl jq", result.StdErr);
        Assert.Equal("", log.Trim());
    }

    /// <param name="isolated">PATH holds only the stubs and the few system tools the script needs before its tool check.</param>
    private static async Task<(ProcessResult Result, string Log)> RunAsync(
        Dictionary<string, string>? env = null, string[]? tools = null, bool isolated = false)
    {
        var bin = Directory.CreateTempSubdirectory("fnop-e2e-bin-").FullName;
        try
        {
            var stub = Path.Combine(bin, "stub");
            await File.WriteAllTextAsync(stub, Stub.Replace("\r\n", "\n", StringComparison.Ordinal) + "\n");
            File.SetUnixFileMode(stub, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            foreach (var tool in tools ?? Tools)
            {
                File.CreateSymbolicLink(Path.Combine(bin, tool), stub);
            }

            if (isolated)
            {
                foreach (var tool in new[] { "dirname", "sed", "grep" })
                {
                    File.CreateSymbolicLink(Path.Combine(bin, tool), ProcessRunner.Which(tool) ?? throw new InvalidOperationException($"no {tool}"));
                }
            }

            // The stubs shadow any real tools; jq, sed, grep and coreutils come from the system.
            var log = Path.Combine(bin, "calls.log");
            await File.WriteAllTextAsync(log, "");
            var environment = new Dictionary<string, string>(env ?? [])
            {
                ["PATH"] = isolated ? bin : $"{bin}:/usr/bin:/bin",
                ["FAKE_LOG"] = log,
                ["LOCAL_PORT"] = "19000",
            };
            var result = await ProcessRunner.RunAsync("bash", [Repo.At("tests", "e2e", "kind.sh")], environment);
            return (result, await File.ReadAllTextAsync(log));
        }
        finally
        {
            Directory.Delete(bin, recursive: true);
        }
    }
}

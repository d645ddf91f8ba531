using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace FnOperator.Benchmarks.Streaming;

/// <summary>
/// Response streaming end to end in local mode (gateway, shim, the node bootstrap): time from the request to the first
/// streamed byte at the client for a warm function that writes a chunk, waits 200 ms and ends, against a buffered Invoke
/// of a no-op function on the same gateway. Sequential requests, warm instances.
/// </summary>
public sealed partial class StreamingBenchmark : IBenchmark
{
    private const int Samples = 50;

    public string Name => "streaming";

    public string Description => "InvokeWithResponseStream first-byte latency vs buffered Invoke (local mode, warm node function)";

    public async Task<IReadOnlyList<string>> RunAsync(CancellationToken cancellationToken)
    {
        var root = RepositoryRoot();
        var folder = Directory.CreateTempSubdirectory("fnop-bench-stream-").FullName;
        Write(folder, "bench-stream", """
            exports.handler = awslambda.streamifyResponse(async (event, responseStream) => {
              responseStream.write("first;");
              await new Promise((r) => setTimeout(r, 200));
              responseStream.end("last;");
            });
            """);
        Write(folder, "bench-buffered", "exports.handler = async () => ({});\n");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[]
        {
            Path.Combine(root, "operator", "FnOperator.Gateway", "bin", "Release", "net10.0", "FnOperator.Gateway.dll"), "local", "--functions", folder,
            "--listen", "127.0.0.1:0", "--shim", Path.Combine(root, "runtime-shim", "FnOperator.RuntimeShim", "bin", "Release", "net10.0", "FnOperator.RuntimeShim.dll"),
            "--instances", "process", // its figures in docs/ are of shim processes
        })
        {
            info.ArgumentList.Add(arg);
        }

        var endpoint = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && EndpointLine().Match(line) is { Success: true } match)
            {
                endpoint.TrySetResult(match.Groups[1].Value);
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(await endpoint.Task.WaitAsync(TimeSpan.FromMinutes(2), cancellationToken)), Timeout = TimeSpan.FromMinutes(2) };
            for (var i = 0; i < 5; i++)
            {
                await StreamAsync(http, cancellationToken);
                await BufferedAsync(http, cancellationToken);
            }

            var first = new List<double>();
            var whole = new List<double>();
            var buffered = new List<double>();
            for (var i = 0; i < Samples; i++)
            {
                var (f, w) = await StreamAsync(http, cancellationToken);
                first.Add(f);
                whole.Add(w);
                buffered.Add(await BufferedAsync(http, cancellationToken));
            }

            return
            [
                $"stream first byte: p50 {P(first, 0.5)} ms, p90 {P(first, 0.9)} ms ({Samples} sequential, warm)",
                $"stream whole (handler waits 200 ms): p50 {P(whole, 0.5)} ms, p90 {P(whole, 0.9)} ms",
                $"buffered Invoke of a no-op: p50 {P(buffered, 0.5)} ms, p90 {P(buffered, 0.9)} ms",
            ];
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<(double First, double Whole)> StreamAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/2021-11-15/functions/bench-stream/response-streaming-invocations") { Content = new StringContent("{}") };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[64 * 1024];
        _ = await body.ReadAsync(buffer, cancellationToken);
        var first = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        while (await body.ReadAsync(buffer, cancellationToken) > 0)
        {
        }

        return (first, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private static async Task<double> BufferedAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var response = await http.PostAsync("/2015-03-31/functions/bench-buffered/invocations", new StringContent("{}"), cancellationToken);
        response.EnsureSuccessStatusCode();
        await response.Content.ReadAsByteArrayAsync(cancellationToken);
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    private static string P(List<double> values, double quantile)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)(quantile * sorted.Count))].ToString("0.0", CultureInfo.InvariantCulture);
    }

    private static void Write(string folder, string name, string code)
    {
        Directory.CreateDirectory(Path.Combine(folder, name, "src"));
        File.WriteAllText(Path.Combine(folder, name, "src", "index.js"), code);
        File.WriteAllText(Path.Combine(folder, name, "function.yaml"), $"""
            apiVersion: fnoperator.io/v1alpha1
            kind: Function
            metadata:
              name: {name}
            spec:
              runtime: nodejs22.x
              handler: index.handler
              timeoutSeconds: 30
              code:
                path: src
            """);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FnOperator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("FnOperator.sln not found");
    }

    [GeneratedRegex(@"Lambda Invoke API on (http://[0-9.]+:[0-9]+)")]
    private static partial Regex EndpointLine();
}

using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>
/// Local mode with a chosen instance mode (<c>--instances process|in-process</c>) and what tests ask of its instances
/// whichever way they run: the invoke, the "instance … ready" lines, the runtime processes and who their parent is.
/// </summary>
public static class InstanceModes
{
    public const string InProcess = "in-process";
    public const string Process = "process";

    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    /// <summary>Starts local mode on <paramref name="functions"/> with <c>--instances <paramref name="mode"/></c> and the extra arguments.</summary>
    public static Task<LocalModeProcess> StartAsync(string mode, string functions, IReadOnlyDictionary<string, string>? environment = null, params string[] extraArgs) =>
        LocalModeProcess.StartAsync(functions, environment ?? new Dictionary<string, string>(), ["--instances", mode, .. extraArgs]);

    /// <summary>
    /// True for local mode's "[function] instance … ready" line of an instance of <paramref name="mode"/> only ("instance
    /// in-process N" in-process, "instance pid N" in process mode): a test of one mode does not count the other's instances.
    /// </summary>
    public static bool IsReadyLine(string line, string name, string mode)
    {
        var prefix = mode switch
        {
            InProcess => $"[{name}] instance in-process ",
            Process => $"[{name}] instance pid ",
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Not an instance mode."),
        };
        return line.StartsWith(prefix, StringComparison.Ordinal) && line.Contains(" ready ", StringComparison.Ordinal);
    }

    /// <summary>The "[function] instance … ready" lines of <paramref name="mode"/>'s instances local mode printed so far for the function.</summary>
    public static IReadOnlyList<string> ReadyLines(LocalModeProcess local, string name, string mode) =>
        local.Lines(l => IsReadyLine(l, name, mode));

    /// <summary>
    /// Waits (polling, up to <paramref name="wait"/>, <see cref="Wait"/> if none) until at least <paramref name="count"/>
    /// of <paramref name="mode"/>'s instances were reported ready; returns how many were.
    /// </summary>
    public static async Task<int> WaitForReadyAsync(LocalModeProcess local, string name, string mode, int count, TimeSpan? wait = null)
    {
        await local.WaitForLineAsync(_ => ReadyLines(local, name, mode).Count >= count, wait ?? Wait);
        return ReadyLines(local, name, mode).Count;
    }

    /// <summary>The function's runtime processes (its shim processes, in process mode, left out).</summary>
    public static IReadOnlyList<int> Runtimes(string function) => FunctionProcesses.Of(function).Where(pid => FunctionProcesses.ShimOrGone(pid) == false).ToList();

    /// <summary>Waits (polling, up to <see cref="Wait"/>) until the function has <paramref name="count"/> runtime processes; returns them.</summary>
    public static async Task<IReadOnlyList<int>> WaitForRuntimesAsync(string function, int count)
    {
        var deadline = DateTime.UtcNow + Wait;
        var pids = Runtimes(function);
        while (pids.Count != count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            pids = Runtimes(function);
        }

        return pids;
    }

    /// <summary>The parent pid of a live process; null when it is gone.</summary>
    public static int? ParentOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>A sync invoke: status, the X-Amz-Function-Error header, the body, the decoded log tail when asked for.</summary>
    public static async Task<Invoked> InvokeAsync(LocalModeProcess local, string function, string payload, bool tail = false, string type = "RequestResponse")
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(120) };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{local.Endpoint}/2015-03-31/functions/{function}/invocations")
        {
            Content = new StringContent(payload, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Amz-Invocation-Type", type);
        if (tail)
        {
            request.Headers.Add("X-Amz-Log-Type", "Tail");
        }

        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        var error = response.Headers.TryGetValues("X-Amz-Function-Error", out var errors) ? errors.FirstOrDefault() : null;
        var log = response.Headers.TryGetValues("X-Amz-Log-Result", out var logs) ? Encoding.UTF8.GetString(Convert.FromBase64String(logs.First())) : null;
        var requestId = response.Headers.TryGetValues("x-amzn-RequestId", out var ids) ? ids.First() : "";
        return new Invoked((int)response.StatusCode, error, body, log, requestId);
    }

    public sealed record Invoked(int Status, string? FunctionError, string Body, string? LogTail, string RequestId)
    {
        public JsonNode Json => JsonNode.Parse(Body)!;

        public bool Ok => Status == 200 && FunctionError is null;

        public override string ToString() => $"{Status} {FunctionError} {Body}";
    }
}

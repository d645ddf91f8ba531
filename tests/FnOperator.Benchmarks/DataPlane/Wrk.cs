using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace FnOperator.Benchmarks.DataPlane;

/// <summary>One wrk run: requests/s, latency percentiles, requests done and how many were not 2xx or failed at the socket.</summary>
internal sealed record WrkResult(double Rps, double P50Ms, double P99Ms, long Requests, long Errors);

/// <summary>Runs the installed <c>wrk</c> POSTing a small JSON body (the same for every target).</summary>
internal static partial class Wrk
{
    public const string Body = """{"hello":"world","n":1}""";

    public static async Task<WrkResult> RunAsync(string url, int connections, TimeSpan duration, string scratch, CancellationToken cancellationToken)
    {
        var script = Path.Combine(scratch, "post.lua");
        if (!File.Exists(script))
        {
            await File.WriteAllTextAsync(script, $$"""
                wrk.method = "POST"
                wrk.body = '{{Body}}'
                wrk.headers["Content-Type"] = "application/json"
                """, cancellationToken);
        }

        var info = new ProcessStartInfo("wrk") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[]
                 {
                     "-t", Math.Min(connections, 2).ToString(CultureInfo.InvariantCulture),
                     "-c", connections.ToString(CultureInfo.InvariantCulture),
                     "-d", $"{(int)duration.TotalSeconds}s", "--timeout", "30s", "--latency", "-s", script, url,
                 })
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("wrk did not start");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var text = await stdout;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"wrk exited {process.ExitCode}: {await stderr}{text}");
        }

        var rps = Number(RpsLine(), text);
        var requests = (long)Number(RequestsLine(), text);
        var errors = (long)(OptionalNumber(Non2xxLine(), text) ?? 0);
        if (SocketErrorsLine().Match(text) is { Success: true } socket)
        {
            errors += socket.Groups.Values.Skip(1).Sum(g => long.Parse(g.Value, CultureInfo.InvariantCulture));
        }

        return new WrkResult(rps, Latency(text, "50%"), Latency(text, "99%"), requests, errors);
    }

    private static double Latency(string text, string percentile)
    {
        var m = Regex.Match(text, $@"^\s+{Regex.Escape(percentile)}\s+([0-9.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        if (!m.Success)
        {
            throw new InvalidOperationException($"wrk output has no {percentile} latency:\n{text}");
        }

        var value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return m.Groups[2].Value switch { "us" => value / 1000, "s" => value * 1000, _ => value };
    }

    private static double Number(Regex regex, string text) =>
        OptionalNumber(regex, text) ?? throw new InvalidOperationException($"unexpected wrk output:\n{text}");

    private static double? OptionalNumber(Regex regex, string text) =>
        regex.Match(text) is { Success: true } m ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;

    [GeneratedRegex(@"Requests/sec:\s+([0-9.]+)")]
    private static partial Regex RpsLine();

    [GeneratedRegex(@"^\s*([0-9]+) requests in", RegexOptions.Multiline)]
    private static partial Regex RequestsLine();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+([0-9]+)")]
    private static partial Regex Non2xxLine();

    [GeneratedRegex(@"Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)")]
    private static partial Regex SocketErrorsLine();
}

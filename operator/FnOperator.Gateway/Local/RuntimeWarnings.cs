using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace FnOperator.Gateway.Local;

/// <summary>
/// Where local mode differs from Lambda in ways a user should hear about: memory is measured but not enforced (a
/// warning the first time a function's REPORT shows more than its memoryMiB), and the runtime is whatever node/python3
/// is on PATH (a note at start, once per runtime id, when its version differs from the manifest's).
/// </summary>
public static partial class RuntimeWarnings
{
    private static readonly TimeSpan VersionProbeTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Annotates REPORT lines: a warning, once per function, when Max Memory Used exceeds the memory size.</summary>
    public static Func<string, string, string?> MemoryWarner()
    {
        var warned = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        return (function, line) =>
        {
            // Read on every invocation's REPORT line (issue #19): a function already warned is not parsed again, and the
            // two numbers are read without a regex.
            if (!line.StartsWith("REPORT RequestId:", StringComparison.Ordinal) || warned.ContainsKey(function)
                || !TryMegabytes(line, "Memory Size: ", out var limit) || !TryMegabytes(line, "Max Memory Used: ", out var peak))
            {
                return null;
            }

            return peak <= limit || !warned.TryAdd(function, true)
                ? null
                : $"warning: Max Memory Used {peak} MB exceeds memoryMiB {limit}; memory enforcement is off (FNOP_MEMORY_LIMIT=off), " +
                  "in a cluster the container's memory limit would kill this invocation (raise spec.memoryMiB). Shown once per function.";
        };
    }

    /// <summary>The note for a runtime id served by a local interpreter whose <c>--version</c> printed <paramref name="versionOutput"/>; null when they agree.</summary>
    public static string? VersionNote(string runtime, string versionOutput)
    {
        var wanted = WantedVersion().Match(runtime);
        var local = LocalVersion().Match(versionOutput);
        if (!wanted.Success || !local.Success)
        {
            return null;
        }

        var node = runtime.StartsWith("nodejs", StringComparison.Ordinal);
        var expected = node ? wanted.Groups["node"].Value : $"3.{wanted.Groups["py"].Value}";
        var actual = local.Groups[1].Value;
        var same = node ? actual.Split('.')[0] == expected : actual == expected || actual.StartsWith(expected + ".", StringComparison.Ordinal);
        return same
            ? null
            : $"Note: {runtime} functions run on the local {(node ? "node" : "python3")} {actual} (Lambda runs {(node ? "Node.js" : "Python")} {expected}); " +
              "code that needs the newer version may fail here.";
    }

    /// <summary>Runs <c>node --version</c> / <c>python3 --version</c> once per runtime id the functions use; the notes for those that differ.</summary>
    public static async Task<IReadOnlyList<string>> VersionNotesAsync(IEnumerable<LocalFunction> functions, CancellationToken cancellationToken)
    {
        var notes = new List<string>();
        foreach (var runtime in functions.Select(f => f.Function.Spec.Runtime ?? "").Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            var command = runtime.StartsWith("nodejs", StringComparison.Ordinal) ? "node" : runtime.StartsWith("python3", StringComparison.Ordinal) ? "python3" : null;
            var output = command is null ? null : await ProbeAsync(command, cancellationToken).ConfigureAwait(false);
            var note = output is null ? null : VersionNote(runtime, output);
            if (note is not null)
            {
                notes.Add(note);
            }
        }

        return notes;
    }

    private static async Task<string?> ProbeAsync(string command, CancellationToken cancellationToken)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(command, "--version") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false });
            if (process is null)
            {
                return null;
            }

            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(VersionProbeTimeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                return null;
            }

            return (await stdout.ConfigureAwait(false)) + (await stderr.ConfigureAwait(false));
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // not on PATH: LocalSupport reports that
        }
    }

    /// <summary>The first <c>{key}N MB</c> in <paramref name="line"/>: N as a number.</summary>
    private static bool TryMegabytes(ReadOnlySpan<char> line, string key, out int value)
    {
        for (var at = line.IndexOf(key, StringComparison.Ordinal); at >= 0; at = line.IndexOf(key, StringComparison.Ordinal))
        {
            line = line[(at + key.Length)..];
            var digits = 0;
            while (digits < line.Length && char.IsAsciiDigit(line[digits]))
            {
                digits++;
            }

            if (digits > 0 && line[digits..].StartsWith(" MB", StringComparison.Ordinal))
            {
                return int.TryParse(line[..digits], NumberStyles.None, CultureInfo.InvariantCulture, out value);
            }
        }

        value = 0;
        return false;
    }

    [GeneratedRegex(@"^(?:nodejs(?<node>[0-9]+)\.x|python3\.(?<py>[0-9]+))$")]
    private static partial Regex WantedVersion();

    [GeneratedRegex(@"v?([0-9]+\.[0-9]+(?:\.[0-9]+)?)")]
    private static partial Regex LocalVersion();
}

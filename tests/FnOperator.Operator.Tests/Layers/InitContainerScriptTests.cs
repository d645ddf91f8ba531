using System.Diagnostics;
using System.IO.Compression;
using FnOperator.Operator.Resources;
using k8s.Models;

namespace FnOperator.Operator.Tests.Layers;

/// <summary>
/// The url fetchers' shell scripts (function code and url layers) as a pod runs them: the exact command the builder puts
/// in the init container, run by a real busybox (Debian's, the same applets as the pod's busybox image: sh, wget,
/// sha256sum, unzip) against a loopback server, with the container's own environment; only FNOP_TARGET points at a
/// temporary folder instead of the emptyDir mount.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class InitContainerScriptTests : IAsyncLifetime
{
    private static readonly OperatorOptions Options = new() { FetchImage = "busybox:1.37" };

    private readonly string root = Directory.CreateTempSubdirectory("fnop-init-").FullName;
    private ZipServer server = null!;

    public async Task InitializeAsync() => server = await ZipServer.StartAsync();

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        Directory.Delete(root, recursive: true);
    }

    [Fact]
    public async Task Url_layers_are_extracted_in_order_over_each_other_and_keep_a_bootstraps_executable_bit()
    {
        var (baseUrl, baseSha) = server.Serve("base.zip", UnixZip(
            ("bootstrap", "#!/bin/sh\necho runtime\n", 0b111_101_101),
            ("bin/tool", "#!/bin/sh\necho tool\n", 0b111_101_101),
            ("shared.txt", "from base", 0b110_100_100)));
        var (topUrl, topSha) = server.Serve("top.zip", UnixZip(
            ("shared.txt", "from top", 0b110_100_100),
            ("lib/libx.so", "x", 0b110_100_100)));
        var pod = Pod(new ResolvedLayer("base", 1, baseSha) { Url = baseUrl }, new ResolvedLayer("top", 2, topSha) { Url = topUrl });
        var opt = Path.Combine(root, "opt");
        Directory.CreateDirectory(opt);

        foreach (var name in new[] { "fetch-layer-0", "fetch-layer-1" })
        {
            var run = await RunAsync(pod.InitContainers.Single(c => c.Name == name), opt);
            Assert.True(run.ExitCode == 0, $"{name} exited {run.ExitCode}: {run.Stderr}");
        }

        Assert.Equal("from top", await File.ReadAllTextAsync(Path.Combine(opt, "shared.txt"))); // the later layer wins
        Assert.Equal("x", await File.ReadAllTextAsync(Path.Combine(opt, "lib", "libx.so")));
        Assert.True(File.GetUnixFileMode(Path.Combine(opt, "bootstrap")).HasFlag(UnixFileMode.UserExecute), "bootstrap keeps its executable bit");
        Assert.True(File.GetUnixFileMode(Path.Combine(opt, "bin", "tool")).HasFlag(UnixFileMode.OtherExecute), "bin/tool keeps its executable bits");
        Assert.False(File.GetUnixFileMode(Path.Combine(opt, "shared.txt")).HasFlag(UnixFileMode.UserExecute));
        Assert.Equal(["bin", "bootstrap", "lib", "shared.txt"], Directory.EnumerateFileSystemEntries(opt).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_layer_whose_download_does_not_match_its_sha256_fails_the_container_and_extracts_nothing()
    {
        var (url, _) = server.Serve("tampered.zip", UnixZip(("bootstrap", "#!/bin/sh\necho evil\n", 0b111_101_101)));
        var pod = Pod(new ResolvedLayer("base", 1, new string('a', 64)) { Url = url });
        var opt = Path.Combine(root, "opt");
        Directory.CreateDirectory(opt);

        var run = await RunAsync(pod.InitContainers.Single(c => c.Name == "fetch-layer-0"), opt);

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains($"sha256 mismatch for {url}", run.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(opt, "bootstrap")), "nothing of a mismatching archive is extracted");
    }

    [Fact]
    public async Task Url_code_is_fetched_into_the_task_root_by_the_same_checked_script()
    {
        var (url, sha) = server.Serve("code.zip", UnixZip(("index.mjs", "export const handler = async () => 1;", 0b110_100_100)));
        var code = new ResolvedCode { Source = CodeSource.Url, Url = url, Sha256 = sha };
        var pod = DeploymentBuilder.Build(TestFunctions.Node(), code, [], Options).Spec.Template.Spec;
        var task = Path.Combine(root, "task");
        Directory.CreateDirectory(task);

        var run = await RunAsync(pod.InitContainers.Single(c => c.Name == "fetch-code"), task);

        Assert.True(run.ExitCode == 0, $"fetch-code exited {run.ExitCode}: {run.Stderr}");
        Assert.Equal(["index.mjs"], Directory.EnumerateFileSystemEntries(task).Select(Path.GetFileName));
    }

    private static V1PodSpec Pod(params ResolvedLayer[] layers)
    {
        var code = new ResolvedCode { Source = CodeSource.Url, Url = "http://127.0.0.1:1/unused.zip", Sha256 = TestFunctions.Sha };
        return DeploymentBuilder.Build(TestFunctions.Node(change: s => s.Runtime = "provided.al2023"), code, layers, Options).Spec.Template.Spec;
    }

    /// <summary>A zip made as on Unix: each entry records its mode in the external attributes, as `zip` does.</summary>
    private static byte[] UnixZip(params (string Path, string Text, int Mode)[] entries)
    {
        using var memory = new MemoryStream();
        using (var zip = new ZipArchive(memory, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (path, text, mode) in entries)
            {
                var entry = zip.CreateEntry(path);
                entry.ExternalAttributes = (0x8000 | mode) << 16; // S_IFREG | permission bits
                using var writer = new StreamWriter(entry.Open());
                writer.Write(text);
            }
        }

        return memory.ToArray();
    }

    private sealed record Run(int ExitCode, string Stderr);

    private async Task<Run> RunAsync(V1Container container, string target)
    {
        Assert.Equal(["sh", "-c"], container.Command.Take(2));
        var busybox = Busybox();
        var bin = Path.Combine(root, "bin");
        if (!Directory.Exists(bin))
        {
            Directory.CreateDirectory(bin);
            foreach (var applet in new[] { "sh", "wget", "sha256sum", "unzip", "rm", "cp" })
            {
                File.CreateSymbolicLink(Path.Combine(bin, applet), busybox);
            }
        }

        var start = new ProcessStartInfo(Path.Combine(bin, "sh")) { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(container.Command[2]);
        start.Environment.Clear();
        start.Environment["PATH"] = bin;
        foreach (var env in container.Env)
        {
            start.Environment[env.Name] = env.Name == "FNOP_TARGET" ? target : env.Value;
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        return new Run(process.ExitCode, await stderr);
    }

    private static string Busybox()
    {
        foreach (var candidate in new[] { "/usr/bin/busybox", "/bin/busybox" })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("busybox is not installed: `apt-get install busybox` (.ci/run installs it); these tests run the init containers' scripts with it");
    }
}

using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using FnOperator.Gateway.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>
/// A live local-mode run whose layers come from content.url + sha256, served by a loopback HTTP server started here:
/// a node function requires a module from the url layer and a provided function runs a bootstrap from another url
/// layer, each invoked end to end with the real AWS CLI v2; a layer whose archive does not match its sha256 is refused
/// and the function using it is not served. The layer cache is a temporary XDG_CACHE_HOME.
/// </summary>
public sealed class UrlLayerLocalModeTests(UrlLayerLocalModeTests.Fixture fixture) : IClassFixture<UrlLayerLocalModeTests.Fixture>
{
    [Fact]
    public async Task A_node_function_requires_a_module_from_a_url_layer_and_the_archive_was_fetched_once_into_the_cache()
    {
        var result = await AwsCli.InvokeAsync(fixture.Local.Endpoint, "url-node", """{"name":"Ada"}""");

        Assert.True(result.ExitCode == 0, result.Stderr + "\n" + fixture.Local.Output);
        Assert.True(result.Json["FunctionError"] is null, result.OutFile + "\n" + fixture.Local.Output);
        Assert.Equal("hello Ada from a url layer", (string?)JsonNode.Parse(result.OutFile)!["greeting"]);
        Assert.Contains("  url-node: url-lib:1 (latest)", fixture.Local.Output, StringComparison.Ordinal);
        Assert.Equal(1, fixture.Requests("/node-lib.zip"));
        Assert.True(Directory.Exists(Path.Combine(fixture.Cache, "fnoperator", "layers", fixture.NodeLibSha)), "archive not cached under XDG_CACHE_HOME");
    }

    [Fact]
    public async Task A_provided_function_runs_the_bootstrap_of_a_url_layer()
    {
        var result = await AwsCli.InvokeAsync(fixture.Local.Endpoint, "url-runtime", """{"name":"Ada"}""");

        Assert.True(result.ExitCode == 0, result.Stderr + "\n" + fixture.Local.Output);
        Assert.True(result.Json["FunctionError"] is null, result.OutFile + "\n" + fixture.Local.Output);
        var body = JsonNode.Parse(result.OutFile)!;
        Assert.Equal("Hello from a layer runtime, Ada!", (string?)body["message"]);
        Assert.EndsWith("/bootstrap", (string?)body["bootstrap"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_url_layer_whose_archive_does_not_match_its_sha256_is_refused_and_its_function_not_served()
    {
        Assert.Contains(fixture.WrongSha, fixture.Local.Output, StringComparison.Ordinal);
        Assert.Contains("forged-user", fixture.Local.Output.Split("Not served in local mode:").Last(), StringComparison.Ordinal);

        var result = await AwsCli.InvokeAsync(fixture.Local.Endpoint, "forged-user", "{}");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("ResourceNotFoundException", result.Stderr, StringComparison.Ordinal);
    }

    public sealed class Fixture : IAsyncLifetime
    {
        private readonly Dictionary<string, int> requests = [];
        private readonly Dictionary<string, byte[]> archives = [];
        private WebApplication? server;
        private LocalModeProcess? local;

        public TempManifests Dir { get; } = new();

        public string Cache { get; } = Directory.CreateTempSubdirectory("fnop-xdg-cache-").FullName;

        public LocalModeProcess Local => local ?? throw new InvalidOperationException("not started");

        public string NodeLibSha { get; private set; } = "";

        public string WrongSha { get; } = new('a', 64);

        public int Requests(string path)
        {
            lock (requests)
            {
                return requests.GetValueOrDefault(path);
            }
        }

        public async Task InitializeAsync()
        {
            var example = Path.Combine(RepoPaths.Root, "examples", "custom-runtime-layer");
            archives["/node-lib.zip"] = Zip(("nodejs/node_modules/greet/index.js", "module.exports = (n) => `hello ${n} from a url layer`;", false));
            archives["/runtime.zip"] = Zip(("bootstrap", File.ReadAllText(Path.Combine(example, "runtime", "bootstrap")), true));
            archives["/forged.zip"] = Zip(("nodejs/node_modules/x/index.js", "module.exports = 1;", false));
            NodeLibSha = Sha(archives["/node-lib.zip"]);

            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            server = builder.Build();
            server.MapGet("/{name}", (HttpContext context) =>
            {
                var path = context.Request.Path.Value ?? "";
                lock (requests)
                {
                    requests[path] = requests.GetValueOrDefault(path) + 1;
                }

                return archives.TryGetValue(path, out var bytes) ? Results.Bytes(bytes, "application/zip") : Results.NotFound();
            });
            await server.StartAsync();
            var baseUrl = server.Urls.First();

            Layer("url-lib", baseUrl + "/node-lib.zip", NodeLibSha);
            Layer("url-runtime-layer", baseUrl + "/runtime.zip", Sha(archives["/runtime.zip"]));
            Layer("forged-lib", baseUrl + "/forged.zip", WrongSha);
            Function("url-node", "nodejs20.x", "index.handler", "url-lib");
            Dir.Write("url-node/src/index.js", "exports.handler = async (e) => ({ greeting: require('greet')(e.name) });");
            Function("url-runtime", "provided.al2023", "handler.handler", "url-runtime-layer");
            Dir.Write("url-runtime/src/handler.sh", File.ReadAllText(Path.Combine(example, "src", "handler.sh")));
            Function("forged-user", "nodejs20.x", "index.handler", "forged-lib");
            Dir.Write("forged-user/src/index.js", "exports.handler = async () => ({});");

            local = await LocalModeProcess.StartAsync(Dir.Root, new Dictionary<string, string> { ["XDG_CACHE_HOME"] = Cache });
            await local.WaitForLineAsync(l => l.StartsWith("Code folders are watched", StringComparison.Ordinal), TimeSpan.FromSeconds(90));
        }

        public async Task DisposeAsync()
        {
            if (local is not null)
            {
                await local.DisposeAsync();
            }

            if (server is not null)
            {
                await server.DisposeAsync();
            }

            Dir.Dispose();
            Directory.Delete(Cache, recursive: true);
        }

        private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

        // Entries with Unix modes in the external attributes, as `zip` on Unix records them (0755 for the bootstrap).
        private static byte[] Zip(params (string Path, string Text, bool Executable)[] entries)
        {
            using var memory = new MemoryStream();
            using (var zip = new ZipArchive(memory, ZipArchiveMode.Create, leaveOpen: true))
            {
                foreach (var (path, text, executable) in entries)
                {
                    var entry = zip.CreateEntry(path);
                    entry.ExternalAttributes = (executable ? 0x81ED : 0x81A4) << 16; // regular file, 0755 or 0644
                    using var writer = new StreamWriter(entry.Open());
                    writer.Write(text);
                }
            }

            return memory.ToArray();
        }

        private void Layer(string name, string url, string sha) => Dir.Write($"{name}.yaml", $"""
            apiVersion: fnoperator.io/v1alpha1
            kind: Layer
            metadata:
              name: {name}
            spec:
              content:
                url: {url}
                sha256: {sha}
            """);

        private void Function(string name, string runtime, string handler, string layer) => Dir.Write($"{name}/function.yaml", $"""
            apiVersion: fnoperator.io/v1alpha1
            kind: Function
            metadata:
              name: {name}
            spec:
              runtime: {runtime}
              handler: {handler}
              code:
                path: src
              layers:
                - name: {layer}
            """);
    }
}

using System.Text.Json.Nodes;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>
/// Local mode with layers and real runtimes, invoked with the real AWS CLI v2: node and python load modules from layer
/// paths (NODE_PATH per node major, PYTHONPATH with site-packages), a later layer overrides an earlier one's file, a
/// provided function's bootstrap comes from a layer, and editing a layer folder publishes a new version that restarts
/// the functions following latest while a pinned one keeps its version.
/// </summary>
public sealed class LayersLocalModeTests(LayersLocalModeTests.Fixture fixture) : IClassFixture<LayersLocalModeTests.Fixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    private static async Task<JsonNode> InvokeAsync(LocalModeProcess local, string function)
    {
        var result = await AwsCli.InvokeAsync(local.Endpoint, function, """{"name":"Ada"}""");
        Assert.True(result.ExitCode == 0, result.Stderr + "\n" + local.Output);
        Assert.True(result.Json["FunctionError"] is null, result.OutFile + "\n" + local.Output);
        return JsonNode.Parse(result.OutFile)!;
    }

    [Fact]
    public void Start_output_lists_each_functions_layers()
    {
        var lines = fixture.Local.Output;
        Assert.Contains("  node-fn: node-lib:1 (latest)", lines, StringComparison.Ordinal);
        Assert.Contains("  two-layers: base:1 (latest), override:1 (latest)", lines, StringComparison.Ordinal);
        Assert.Contains("  pinned-fn: node-lib:1", lines, StringComparison.Ordinal);
        Assert.DoesNotContain("incompatible-fn", lines.Split('\n').Where(l => l.StartsWith("  incompatible-fn:", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Node_function_requires_modules_from_nodejs_node_modules_and_the_major_specific_folder()
    {
        var body = await InvokeAsync(fixture.Local, "node-fn");

        Assert.Equal("hello Ada from node-lib", (string?)body["greeting"]);
        Assert.Equal("node20 only", (string?)body["major"]);
    }

    [Fact]
    public async Task Python_function_imports_from_opt_python_and_its_site_packages()
    {
        var body = await InvokeAsync(fixture.Local, "py-fn");

        Assert.Equal(("shared says hi", "site-packages says hi"), ((string?)body["shared"], (string?)body["extra"]));
    }

    [Fact]
    public async Task Later_layer_overrides_a_file_of_the_earlier_one_and_keeps_the_rest()
    {
        var body = await InvokeAsync(fixture.Local, "two-layers");

        Assert.Equal(("from override", "kept from base"), ((string?)body["greeting"], (string?)body["keep"]));
    }

    [Fact]
    public async Task Provided_function_runs_the_bootstrap_of_its_layer()
    {
        var body = await InvokeAsync(fixture.Local, "runtime-fn");

        Assert.Equal("Hello from a layer runtime, Ada!", (string?)body["message"]);
        Assert.EndsWith("/bootstrap", (string?)body["bootstrap"], StringComparison.Ordinal);
        Assert.DoesNotContain("/src/", (string?)body["bootstrap"], StringComparison.Ordinal);
    }

    [Fact]
    public void Function_whose_layer_is_incompatible_is_skipped_with_the_reason()
    {
        Assert.Contains("Layer py-lib:1 is not compatible with runtime nodejs20.x", fixture.Local.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Editing_a_layer_folder_publishes_a_new_version_and_restarts_followers_but_not_pinned_functions()
    {
        var local = fixture.Local;
        Assert.Equal("v1", (string?)(await InvokeAsync(local, "edit-fn"))["edition"]);
        Assert.Equal("v1", (string?)(await InvokeAsync(local, "edit-pinned"))["edition"]);

        fixture.Dir.Write("edit-lib/nodejs/node_modules/edition/index.js", "module.exports = 'v2';");

        await local.WaitForLineAsync(l => l.StartsWith("layer edit-lib: published version 2 ", StringComparison.Ordinal), Wait);
        await local.WaitForLineAsync(l => l.StartsWith("[edit-fn] layer edit-lib:2; ", StringComparison.Ordinal), Wait);
        var deadline = DateTime.UtcNow + Wait;
        while ((string?)(await InvokeAsync(local, "edit-fn"))["edition"] != "v2")
        {
            Assert.True(DateTime.UtcNow < deadline, "edit-fn did not run layer version 2:\n" + local.Output);
            await Task.Delay(200);
        }

        Assert.Equal("v1", (string?)(await InvokeAsync(local, "edit-pinned"))["edition"]);
        Assert.Empty(local.Lines(l => l.StartsWith("[edit-pinned] layer", StringComparison.Ordinal)));
    }

    public sealed class Fixture : IAsyncLifetime
    {
        public TempManifests Dir { get; } = new();

        private LocalModeProcess? local;

        public LocalModeProcess Local => local ?? throw new InvalidOperationException("not started");

        public async Task InitializeAsync()
        {
            Layer("node-lib", "nodejs20.x");
            Dir.Write("node-lib/nodejs/node_modules/greet/index.js", "module.exports = (n) => `hello ${n} from node-lib`;");
            Dir.Write("node-lib/nodejs/node20/node_modules/major/index.js", "module.exports = 'node20 only';");
            Function("node-fn", "nodejs20.x", "index.handler", "- name: node-lib");
            Function("pinned-fn", "nodejs20.x", "index.handler", "- name: node-lib\n  version: 1");
            Dir.Write("node-fn/src/index.js", "exports.handler = async (e) => ({ greeting: require('greet')(e.name), major: require('major') });");
            Dir.Write("pinned-fn/src/index.js", "exports.handler = async (e) => ({ greeting: require('greet')(e.name) });");

            Layer("py-lib", "python3.12");
            Dir.Write("py-lib/python/shared.py", "MESSAGE = 'shared says hi'\n");
            Dir.Write("py-lib/python/lib/python3.12/site-packages/extra.py", "MESSAGE = 'site-packages says hi'\n");
            Function("py-fn", "python3.12", "app.handler", "- name: py-lib");
            Dir.Write("py-fn/src/app.py", "import shared, extra\n\ndef handler(event, context):\n    return {'shared': shared.MESSAGE, 'extra': extra.MESSAGE}\n");
            Function("incompatible-fn", "nodejs20.x", "index.handler", "- name: py-lib");
            Dir.Write("incompatible-fn/src/index.js", "exports.handler = async () => ({});");

            Layer("base", null);
            Dir.Write("base/nodejs/node_modules/cfg/greeting.js", "module.exports = 'from base';");
            Dir.Write("base/nodejs/node_modules/cfg/keep.js", "module.exports = 'kept from base';");
            Layer("override", null);
            Dir.Write("override/nodejs/node_modules/cfg/greeting.js", "module.exports = 'from override';");
            Function("two-layers", "nodejs20.x", "index.handler", "- name: base\n- name: override");
            Dir.Write("two-layers/src/index.js", "exports.handler = async () => ({ greeting: require('cfg/greeting'), keep: require('cfg/keep') });");

            var example = Path.Combine(RepoPaths.Root, "examples", "custom-runtime-layer");
            Layer("bash-runtime", "provided.al2023");
            var bootstrap = Path.Combine(Dir.Folder("bash-runtime"), "bootstrap");
            File.Copy(Path.Combine(example, "runtime", "bootstrap"), bootstrap);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(bootstrap, (UnixFileMode)0x1ED); // 0755, as Lambda needs it (chmod 755 bootstrap): the runtime runs as another user
            }

            Function("runtime-fn", "provided.al2023", "handler.handler", "- name: bash-runtime");
            Dir.Write("runtime-fn/src/handler.sh", File.ReadAllText(Path.Combine(example, "src", "handler.sh")));

            Layer("edit-lib", null);
            Dir.Write("edit-lib/nodejs/node_modules/edition/index.js", "module.exports = 'v1';");
            Function("edit-fn", "nodejs20.x", "index.handler", "- name: edit-lib");
            Function("edit-pinned", "nodejs20.x", "index.handler", "- name: edit-lib\n  version: 1");
            Dir.Write("edit-fn/src/index.js", "exports.handler = async () => ({ edition: require('edition') });");
            Dir.Write("edit-pinned/src/index.js", "exports.handler = async () => ({ edition: require('edition') });");

            local = await LocalModeProcess.StartAsync(Dir.Root);
            await local.WaitForLineAsync(l => l.StartsWith("Code folders are watched", StringComparison.Ordinal), Wait);
        }

        private void Layer(string name, string? runtime) => Dir.Write($"{name}.yaml", $"""
            apiVersion: fnoperator.io/v1alpha1
            kind: Layer
            metadata:
              name: {name}
            spec:
            {(runtime is null ? "" : $"  compatibleRuntimes: [{runtime}]\n")}  content:
                path: {name}
            """);

        private void Function(string name, string runtime, string handler, string layers) => Dir.Write($"{name}/function.yaml", $"""
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
            {string.Join('\n', layers.Split('\n').Select(l => "    " + l))}
            """);

        public async Task DisposeAsync()
        {
            if (local is not null)
            {
                await local.DisposeAsync();
            }

            Dir.Dispose();
        }
    }
}

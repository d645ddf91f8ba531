using System.Text.Json.Nodes;

namespace FnOperator.Chart.Tests;

/// <summary>tests/e2e/kind.sh cannot run here (no Docker); its syntax, lint, plan and generated manifest can.</summary>
public sealed class E2eScriptTests
{
    private static readonly string Script = Repo.At("tests", "e2e", "kind.sh");

    [Fact]
    public async Task Script_is_valid_bash()
    {
        var result = await ProcessRunner.RunAsync("bash", ["-n", Script]);
        Assert.True(result.ExitCode == 0, result.Describe());
    }

    [Fact]
    public async Task Script_passes_shellcheck()
    {
        var shellcheck = ProcessRunner.Which("shellcheck");
        Assert.True(shellcheck is not null, "shellcheck is not installed (Debian package 'shellcheck'; .ci/run installs it)");
        var result = await ProcessRunner.RunAsync(shellcheck, ["--severity=style", Script]);
        Assert.True(result.ExitCode == 0, result.Describe());
    }

    [Fact]
    public async Task Plan_creates_the_cluster_builds_and_loads_images_installs_applies_invokes_and_tears_down_in_order()
    {
        var plan = await PlanAsync();
        string[] steps =
        [
            "kind create cluster --name fnop-e2e",
            "docker build -f",
            "kind load docker-image",
            "kubectl create namespace fnop-e2e",
            "helm upgrade --install fn-operator",
            "helm test fn-operator --namespace fn-system",
            "kubectl -n fnop-e2e create configmap hello-node-code --from-file=",
            "kind.sh function-manifest",
            "kubectl -n fnop-e2e wait function/hello-node --for condition=Ready",
            "port-forward service/fn-gateway 19000:8080",
            "lambda invoke --endpoint-url http://127.0.0.1:19000 --function-name fnop-e2e/hello-node",
            "--invocation-type Event",
            "kind delete cluster --name fnop-e2e",
        ];
        var position = -1;
        foreach (var step in steps)
        {
            var index = plan.FindIndex(position + 1, line => line.Contains(step, StringComparison.Ordinal));
            Assert.True(index > position, $"step '{step}' missing or out of order in:\n{string.Join('\n', plan)}");
            position = index;
        }
    }

    [Fact]
    public async Task Plan_builds_each_chart_image_from_an_existing_dockerfile_with_the_chart_app_version_and_loads_it()
    {
        var plan = await PlanAsync();
        var appVersion = File.ReadAllLines(Path.Combine(Repo.Chart, "Chart.yaml"))
            .Single(l => l.StartsWith("appVersion:", StringComparison.Ordinal))["appVersion:".Length..].Trim().Trim('"');
        var builds = plan.Where(l => l.StartsWith("+ docker build ", StringComparison.Ordinal)).Select(l => l.Split(' ')).ToList();
        var images = builds.Select(b => b[Array.IndexOf(b, "-t") + 1]).ToList();
        Assert.Equal(
            ["fnoperator/gateway:" + appVersion, "fnoperator/operator:" + appVersion, "fnoperator/runtime-shim:" + appVersion],
            images.Order());
        Assert.All(builds, b => Assert.True(File.Exists(b[Array.IndexOf(b, "-f") + 1]), $"no Dockerfile {b[Array.IndexOf(b, "-f") + 1]}"));
        Assert.All(builds, b => Assert.Equal(Repo.Root, b[^1]));
        Assert.All(images, image => Assert.Contains($"+ kind load docker-image {image} --name fnop-e2e", plan));

        var values = File.ReadAllText(Path.Combine(Repo.Chart, "values.yaml"));
        Assert.All(images, image => Assert.Contains("repository: " + image.Split(':')[0], values));
    }

    [Fact]
    public async Task Plan_installs_the_chart_with_values_that_render_and_use_the_loaded_images()
    {
        var plan = await PlanAsync();
        var helm = plan.Single(l => l.StartsWith("+ helm upgrade --install", StringComparison.Ordinal)).Split(' ');
        Assert.Equal(Repo.Chart, helm[5]);
        var sets = helm.Select((arg, i) => (arg, i)).Where(x => x.arg == "--set").Select(x => helm[x.i + 1]).ToArray();
        var manifests = await Helm.RenderAsync(sets);
        Assert.All(manifests.PodSpecs().SelectMany(p => Manifests.Containers(p.PodSpec)),
            c => Assert.Equal("Never", (string?)c["imagePullPolicy"]));
        Assert.Equal("fnop-e2e", Manifests.Namespace(manifests.Single("NetworkPolicy", "fn-operator-functions")));
    }

    [Fact]
    public async Task Function_manifest_is_the_example_with_code_from_the_configmap()
    {
        var result = await ProcessRunner.RunAsync("bash", [Script, "function-manifest"]);
        Assert.True(result.ExitCode == 0, result.Describe());
        var function = Manifests.Parse(result.StdOut).All.Single();
        var example = Manifests.Parse(File.ReadAllText(Repo.At("examples", "hello-node", "function.yaml"))).All.Single();

        Assert.Equal("Function", Manifests.Kind(function));
        Assert.Equal("hello-node", Manifests.Name(function));
        var code = (JsonObject)function["spec"]!["code"]!;
        Assert.Equal(["configMap"], code.Select(kv => kv.Key));
        Assert.Equal("hello-node-code", (string?)code["configMap"]!["name"]);
        function["spec"]!.AsObject().Remove("code");
        example["spec"]!.AsObject().Remove("code");
        Assert.Equal(example.ToJsonString(), function.ToJsonString());

        // The CRD accepts code.configMap.name.
        var crdFile = Path.Combine(Repo.Chart, "crds", "functions.fnoperator.io.yaml");
        if (File.Exists(crdFile))
        {
            var crd = Manifests.Parse(File.ReadAllText(crdFile)).All.Single();
            var codeSchema = crd["spec"]!["versions"]![0]!["schema"]!["openAPIV3Schema"]!["properties"]!["spec"]!["properties"]!["code"]!;
            Assert.NotNull(codeSchema["properties"]!["configMap"]!["properties"]!["name"]);
        }
    }

    [Fact]
    public async Task Unknown_mode_fails_with_a_clear_message()
    {
        var result = await ProcessRunner.RunAsync("bash", [Script, "deploy-everything"]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("unknown mode 'deploy-everything' (run, plan, function-manifest)", result.StdErr);
    }

    private static async Task<List<string>> PlanAsync()
    {
        var result = await ProcessRunner.RunAsync("bash", [Script, "plan"], new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" });
        Assert.True(result.ExitCode == 0, result.Describe());
        return result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
    }
}

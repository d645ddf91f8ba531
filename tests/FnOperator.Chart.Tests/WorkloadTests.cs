using System.Text.Json.Nodes;

namespace FnOperator.Chart.Tests;

public sealed class WorkloadTests
{
    [Fact]
    public async Task Operator_runs_two_replicas_with_a_disruption_budget_and_its_pod_identity()
    {
        var manifests = await Helm.RenderAsync();
        var deployment = manifests.Single("Deployment", "fn-operator");
        Assert.Equal(2L, (long?)deployment["spec"]!["replicas"]);
        var podLabels = (JsonObject)deployment["spec"]!["template"]!["metadata"]!["labels"]!;

        var pdb = manifests.Single("PodDisruptionBudget", "fn-operator");
        Assert.Equal(1L, (long?)pdb["spec"]!["minAvailable"]);
        Assert.True(Selects((JsonObject)pdb["spec"]!["selector"]!["matchLabels"]!, podLabels));

        var env = Env(deployment);
        Assert.Equal("metadata.namespace", (string?)env["POD_NAMESPACE"]!["valueFrom"]!["fieldRef"]!["fieldPath"]);
        Assert.Equal("metadata.name", (string?)env["POD_NAME"]!["valueFrom"]!["fieldRef"]!["fieldPath"]);
    }

    [Fact]
    public async Task Operator_gateway_url_is_the_gateway_service_in_the_release_namespace()
    {
        var manifests = await Helm.RenderAsync();
        var service = manifests.Single("Service", "fn-gateway");
        var port = service["spec"]!["ports"]!.AsArray().Single(p => (string?)p!["name"] == "http")!;
        var expected = $"http://fn-gateway.{Manifests.Namespace(service)}.svc.cluster.local:{port["port"]}";
        var env = Env(manifests.Single("Deployment", "fn-operator"));
        Assert.Equal(expected, (string?)env["Operator__GatewayUrl"]!["value"]);
        Assert.Equal(expected, (string?)env["Operator__InvokeBaseUrl"]!["value"]);
        Assert.Equal("fnoperator/runtime-shim:0.1.0", (string?)env["Operator__ShimImage"]!["value"]);
    }

    [Fact]
    public async Task Each_gateway_replica_advertises_its_own_pod_address_for_streamed_responses()
    {
        var manifests = await Helm.RenderAsync(["nats.enabled=true", "gateway.replicas=2"]);
        var deployment = manifests.Single("Deployment", "fn-operator-gateway");
        var container = deployment["spec"]!["template"]!["spec"]!["containers"]![0]!;
        var port = container["ports"]!.AsArray().Single(p => (string?)p!["name"] == "http")!["containerPort"];
        var names = container["env"]!.AsArray().Select(e => (string?)e!["name"]).ToList();

        var env = Env(deployment);
        Assert.Equal("status.podIP", (string?)env["POD_IP"]!["valueFrom"]!["fieldRef"]!["fieldPath"]);
        Assert.Equal($"http://$(POD_IP):{port}", (string?)env["FNOP_GATEWAY_STREAM_URL"]!["value"]);
        // Kubernetes expands $(POD_IP) only from variables defined before it.
        Assert.True(names.IndexOf("POD_IP") < names.IndexOf("FNOP_GATEWAY_STREAM_URL"));
    }

    [Fact]
    public async Task Gateway_service_exposes_invoke_api_and_metrics_and_selects_the_gateway_pods()
    {
        var manifests = await Helm.RenderAsync();
        var service = manifests.Single("Service", "fn-gateway");
        var ports = service["spec"]!["ports"]!.AsArray().ToDictionary(p => (string)p!["name"]!, p => p!);
        Assert.Equal(8080L, (long?)ports["http"]["port"]);
        Assert.Equal(9090L, (long?)ports["metrics"]["port"]);

        var gateway = manifests.Single("Deployment", "fn-operator-gateway");
        Assert.True(Selects((JsonObject)service["spec"]!["selector"]!, (JsonObject)gateway["spec"]!["template"]!["metadata"]!["labels"]!));
        var container = gateway["spec"]!["template"]!["spec"]!["containers"]![0]!;
        Assert.Equal(["serve", "--listen", "0.0.0.0:8080", "--metrics-listen", "0.0.0.0:9090", "--region", "us-east-1", "--auth", "required"], Manifests.Strings(container["args"]));
        var containerPorts = container["ports"]!.AsArray().ToDictionary(p => (string)p!["name"]!, p => (long)p!["containerPort"]!);
        Assert.Equal(8080L, containerPorts[(string)ports["http"]["targetPort"]!]);
        Assert.Equal(9090L, containerPorts[(string)ports["metrics"]["targetPort"]!]);
        Assert.Equal("/healthz", (string?)container["livenessProbe"]!["httpGet"]!["path"]);
        Assert.Equal("/readyz", (string?)container["readinessProbe"]!["httpGet"]!["path"]);
    }

    [Fact]
    public async Task Default_install_uses_the_in_process_queue_and_one_gateway()
    {
        var manifests = await Helm.RenderAsync();
        Assert.Empty(manifests.OfKind("StatefulSet"));
        var gateway = manifests.Single("Deployment", "fn-operator-gateway");
        Assert.Equal(1L, (long?)gateway["spec"]!["replicas"]);
        Assert.Equal("memory", (string?)Env(gateway)["Gateway__Queue"]!["value"]);
        Assert.False(Env(gateway).ContainsKey("Gateway__NatsUrl"));
        Assert.Null(manifests.Find("PodDisruptionBudget", "fn-operator-gateway"));
    }

    [Fact]
    public async Task Nats_enabled_renders_a_jetstream_cluster_the_gateway_points_at()
    {
        var manifests = await ValueSets.RenderAsync("nats");
        var sts = manifests.Single("StatefulSet", "fn-operator-nats");
        Assert.Equal(3L, (long?)sts["spec"]!["replicas"]);
        var args = Manifests.Strings(sts["spec"]!["template"]!["spec"]!["containers"]![0]!["args"]);
        Assert.Contains("--jetstream", args);
        Assert.Contains(args, a => a.StartsWith("--routes=", StringComparison.Ordinal) && a.Split(',').Length == 3);
        Assert.Equal("fn-operator-nats-headless", (string?)sts["spec"]!["serviceName"]);
        Assert.NotNull(manifests.Find("Service", "fn-operator-nats-headless"));
        Assert.NotNull(sts["spec"]!["volumeClaimTemplates"]);
        Assert.Equal(1L, (long?)manifests.Single("PodDisruptionBudget", "fn-operator-nats")["spec"]!["maxUnavailable"]);
        Assert.Equal(["nats-server"], Manifests.Strings(sts["spec"]!["template"]!["spec"]!["containers"]![0]!["command"]));

        var gateway = manifests.Single("Deployment", "fn-operator-gateway");
        Assert.Equal("nats://fn-operator-nats.fn-system.svc.cluster.local:4222", (string?)Env(gateway)["Gateway__NatsUrl"]!["value"]);
        Assert.Equal("nats", (string?)Env(gateway)["Gateway__Queue"]!["value"]);
        Assert.NotNull(manifests.Find("PodDisruptionBudget", "fn-operator-gateway"));
    }

    [Fact]
    public async Task External_nats_url_is_used_as_is_and_no_nats_is_deployed()
    {
        var manifests = await ValueSets.RenderAsync("external-nats");
        Assert.Empty(manifests.OfKind("StatefulSet"));
        var gateway = manifests.Single("Deployment", "fn-operator-gateway");
        Assert.Equal("nats://queue.shared.svc:4333", (string?)Env(gateway)["Gateway__NatsUrl"]!["value"]);
        Assert.Equal(3L, (long?)gateway["spec"]!["replicas"]);
    }

    [Fact]
    public async Task Service_monitor_scrapes_the_metrics_ports_of_operator_and_gateway_only_when_enabled()
    {
        Assert.Empty((await Helm.RenderAsync()).OfKind("ServiceMonitor"));
        Assert.Empty((await Helm.RenderAsync()).OfKind("PodMonitor"));
        var manifests = await ValueSets.RenderAsync("service-monitor");
        var monitor = manifests.OfKind("ServiceMonitor").Single();
        Assert.Equal("prometheus", (string?)monitor["metadata"]!["labels"]!["release"]);
        Assert.Equal("metrics", (string?)monitor["spec"]!["endpoints"]![0]!["port"]);
        var components = monitor["spec"]!["selector"]!["matchExpressions"]!.AsArray()
            .Single(e => (string?)e!["key"] == "app.kubernetes.io/component")!;
        Assert.Equal(["gateway", "operator"], Manifests.Strings(components["values"]).Order());
        var pods = manifests.OfKind("PodMonitor").Single();
        Assert.Equal("fn-operator", (string?)pods["spec"]!["selector"]!["matchLabels"]!["app.kubernetes.io/managed-by"]);
        Assert.Equal("http-shim", (string?)pods["spec"]!["podMetricsEndpoints"]![0]!["port"]);
        Assert.Equal(true, (bool?)pods["spec"]!["namespaceSelector"]!["any"]);
        foreach (var service in new[] { "fn-operator-metrics", "fn-gateway" })
        {
            Assert.Contains(manifests.Single("Service", service)["spec"]!["ports"]!.AsArray(), p => (string?)p!["name"] == "metrics");
        }
    }

    [Fact]
    public async Task Image_registry_and_tag_apply_to_every_image_including_the_ones_the_operator_uses()
    {
        var manifests = await ValueSets.RenderAsync("registry");
        var images = manifests.PodSpecs().SelectMany(p => Manifests.Containers(p.PodSpec)).Select(c => (string)c["image"]!).ToList();
        Assert.All(images, i => Assert.StartsWith("registry.example.com/", i));
        Assert.Contains("registry.example.com/fnoperator/operator:1.2.3", images);
        Assert.Contains("registry.example.com/fnoperator/gateway:1.2.3", images);
        var env = Env(manifests.Single("Deployment", "fn-operator"));
        Assert.Equal("registry.example.com/fnoperator/runtime-shim:1.2.3", (string?)env["Operator__ShimImage"]!["value"]);
        Assert.Equal("registry.example.com/busybox:1.37", (string?)env["Operator__FetchImage"]!["value"]);
    }

    [Fact]
    public async Task Runtime_image_overrides_and_the_watched_namespace_reach_operator_and_gateway()
    {
        var manifests = await ValueSets.RenderAsync("watch-namespace");
        var env = Env(manifests.Single("Deployment", "fn-operator"));
        Assert.Equal("registry.local/node:22", (string?)env["Operator__RuntimeImages__nodejs22.x"]!["value"]);
        Assert.Equal("team-a", (string?)env["Operator__WatchNamespace"]!["value"]);
        var gatewayArgs = Manifests.Strings(manifests.Single("Deployment", "fn-operator-gateway")["spec"]!["template"]!["spec"]!["containers"]![0]!["args"]);
        Assert.Equal(["--namespace", "team-a"], gatewayArgs.TakeLast(2));
    }

    [Fact]
    public async Task Crds_in_the_chart_folder_are_installed_and_templates_hold_none()
    {
        var files = Directory.Exists(Path.Combine(Repo.Chart, "crds"))
            ? Directory.GetFiles(Path.Combine(Repo.Chart, "crds"), "*.yaml")
            : [];
        var expected = files.Select(f => Manifests.Name(Manifests.Parse(File.ReadAllText(f)).All.Single())).Order().ToList();

        Assert.Empty((await Helm.RenderAsync()).OfKind("CustomResourceDefinition"));
        var result = await Helm.TemplateAsync([], "--include-crds");
        Assert.True(result.ExitCode == 0, result.Describe());
        var crds = Manifests.Parse(result.StdOut).OfKind("CustomResourceDefinition").Select(Manifests.Name).Order().ToList();
        Assert.Equal(expected, crds);
        if (files.Length > 0)
        {
            Assert.Contains("functions.fnoperator.io", crds);
        }
    }

    [Fact]
    public async Task Helm_test_pod_checks_gateway_readiness_and_a_lambda_404_and_may_reach_the_gateway()
    {
        var manifests = await Helm.RenderAsync("networkPolicy.gatewayIngressFrom[0].namespaceSelector.matchLabels.team=a", "networkPolicy.monitoringNamespace=monitoring");
        var pod = manifests.Single("Pod", "fn-operator-test-gateway");
        Assert.Equal("test", (string?)pod["metadata"]!["annotations"]!["helm.sh/hook"]);
        Assert.Equal("Never", (string?)pod["spec"]!["restartPolicy"]);
        var script = Manifests.Strings(pod["spec"]!["containers"]![0]!["command"])[^1];
        Assert.Contains("http://fn-gateway.fn-system.svc.cluster.local", script);
        Assert.Contains(":9090/readyz", script);
        Assert.Contains(":8080/2015-03-31/functions/", script);

        var labels = (JsonObject)pod["metadata"]!["labels"]!;
        var policy = manifests.Single("NetworkPolicy", "fn-operator-gateway");
        var rule = policy["spec"]!["ingress"]!.AsArray().Single(r => r!["from"]?.AsArray().Any(p => p!["podSelector"]?["matchLabels"] is JsonObject m && Selects(m, labels)) == true)!;
        Assert.Equal([8080L, 9090L], rule["ports"]!.AsArray().Select(p => (long)p!["port"]!));
    }

    internal static Dictionary<string, JsonObject> Env(JsonObject workload) =>
        workload["spec"]!["template"]!["spec"]!["containers"]![0]!["env"]!.AsArray()
            .OfType<JsonObject>().ToDictionary(e => (string)e["name"]!);

    private static bool Selects(JsonObject selector, JsonObject labels) =>
        selector.All(kv => labels.TryGetPropertyValue(kv.Key, out var v) && (string?)v == (string?)kv.Value);
}

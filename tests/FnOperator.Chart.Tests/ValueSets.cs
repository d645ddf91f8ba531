namespace FnOperator.Chart.Tests;

/// <summary>The value sets every structural test renders: defaults and the notable non-default installs.</summary>
public static class ValueSets
{
    public static readonly IReadOnlyDictionary<string, string[]> All = new Dictionary<string, string[]>
    {
        ["defaults"] = [],
        ["nats"] = ["nats.enabled=true", "nats.replicas=3", "gateway.replicas=2"],
        ["external-nats"] = ["nats.externalUrl=nats://queue.shared.svc:4333", "gateway.replicas=3"],
        ["service-monitor"] = ["serviceMonitor.enabled=true", "serviceMonitor.labels.release=prometheus", "networkPolicy.monitoringNamespace=monitoring"],
        ["function-namespaces"] = ["networkPolicy.functionNamespaces={demo,team-a}"],
        ["watch-namespace"] = ["operator.watchNamespace=team-a", "operator.runtimeImages.nodejs22\\.x=registry.local/node:22"],
        ["registry"] = ["imageRegistry=registry.example.com/", "imageTag=1.2.3"],
        ["urls-ingress"] = ["urls.publish=ingress", "urls.domain=fn.example.com", "urls.ingress.className=nginx", "urls.tls.secretName=urls-{namespace}-tls", "urls.controllerNamespace=ingress-nginx"],
        ["urls-httproute"] = ["urls.publish=httproute", "urls.domain=fn.example.com", "urls.httpRoute.parentRefs[0].name=public", "urls.httpRoute.parentRefs[0].namespace=gateways", "urls.httpRoute.tls=true"],
    };

    public static TheoryData<string> Names() => new(All.Keys);

    internal static Task<Manifests> RenderAsync(string name) => Helm.RenderAsync(All[name]);
}

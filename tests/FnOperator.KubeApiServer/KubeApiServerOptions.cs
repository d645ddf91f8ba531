namespace FnOperator.KubeApiServer;

/// <summary>How the test server is set up. Everything has a default that suits reconciler tests.</summary>
public sealed record KubeApiServerOptions
{
    /// <summary>CRD files to serve (*.yaml); null serves no CRDs beyond those created through the API.</summary>
    public string? CrdDirectory { get; init; }

    /// <summary>Events the watch history keeps; watching from an older resourceVersion gets 410 Gone.</summary>
    public int HistoryWindow { get; init; } = 10_000;

    /// <summary>How often watches that allow bookmarks get a BOOKMARK event (the real server: about a minute).</summary>
    public TimeSpan BookmarkInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Create a namespace on the first write into it (the real server answers 404 NotFound instead).</summary>
    public bool AutoCreateNamespaces { get; init; } = true;

    /// <summary>Play the Deployment controller and kubelet: Deployments report all replicas ready.</summary>
    public bool SimulateDeployments { get; init; } = true;

    /// <summary>Also play the ReplicaSet controller, scheduler and kubelet down to Pods (Simulators/ReplicaSetSimulator.cs).</summary>
    public bool SimulatePods { get; init; }

    /// <summary>Seed of the fault injector's random choices, so a failing run can be repeated.</summary>
    public int FaultSeed { get; init; } = 1;

    /// <summary>
    /// Serve any /apis/{group}/{version}/... resource that no CRD declares, without validation (the real server: 404).
    /// For tests written before the project's CRDs existed.
    /// </summary>
    public bool ServeUnregisteredResources { get; init; }

    /// <summary>The port to listen on; 0 picks a free one (kept across restarts).</summary>
    public int Port { get; init; }
}

using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace FnOperator.KubeApiServer;

/// <summary>
/// Plays the Deployment and ReplicaSet controllers, the scheduler and the kubelet down to Pods (when
/// <see cref="Enabled"/>; off by default, the <see cref="DeploymentSimulator"/> alone reports Deployments rolled out):
/// <list type="bullet">
/// <item>Deployment → one ReplicaSet per pod template (<c>{deployment}-{hash}</c>, labels + <c>pod-template-hash</c>,
/// controller ownerReference), its replicas following the Deployment's; ReplicaSets of older templates go to 0 at once
/// (a Recreate-like rollout; no surge).</item>
/// <item>ReplicaSet → Pods (<c>{replicaset}-{5 chars}</c>, the template's labels and spec, controller ownerReference).
/// On scale-in the Pods removed are chosen by the real controller's ranking (k8s.io/kubernetes
/// pkg/controller/controller_utils.go, <c>ActivePodsWithRanks.Less</c>): unassigned before assigned; Pending before
/// Unknown before Running; not ready before ready; lower <c>controller.kubernetes.io/pod-deletion-cost</c> first;
/// ready for a shorter time first; more restarts first; newer first. (The "doubled up on a node" rank is equal here:
/// one node.) Removed Pods are deleted at once (no grace period: what a shim does in its grace period is tested on
/// the shim itself).</item>
/// <item>Scheduler and kubelet: a new Pod gets <c>spec.nodeName</c> and then status Running with Ready=True, unless
/// <see cref="HoldNotReady"/> names it (a pod stuck starting).</item>
/// </list>
/// ReplicaSet status counts its Pods. Work is one unbounded queue of Deployment keys, coalesced per pass.
/// </summary>
public sealed class ReplicaSetSimulator(ObjectStore store, ObjectWriter writer, ResourceRegistry registry, TimeProvider time)
{
    public const string DeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost";
    public const string NodeName = "standin-node-1";

    private readonly ResourceType deployments = registry.Find("apps", "v1", "deployments")!;
    private readonly ResourceType replicaSets = registry.Find("apps", "v1", "replicasets")!;
    private readonly ResourceType pods = registry.Find("", "v1", "pods")!;
    private readonly Channel<(string Ns, string Name)> pending = Channel.CreateUnbounded<(string, string)>();
    private readonly Random random = new(7);
    private volatile bool enabled;

    /// <summary>Pods (by name) the kubelet leaves not ready.</summary>
    public HashSet<string> HoldNotReady { get; } = [];

    public bool Enabled
    {
        get => enabled;
        set
        {
            enabled = value;
            if (value)
            {
                foreach (var d in store.List(deployments.StorageKey, null).Items)
                {
                    pending.Writer.TryWrite(((string)d["metadata"]!["namespace"]!, (string)d["metadata"]!["name"]!));
                }
            }
        }
    }

    public void OnChanged(StoredEvent e)
    {
        if (!enabled)
        {
            return;
        }

        var ns = (string?)e.Object["metadata"]?["namespace"];
        if (ns is null)
        {
            return;
        }

        if (e.Resource == deployments.StorageKey)
        {
            pending.Writer.TryWrite((ns, (string)e.Object["metadata"]!["name"]!));
        }
        else if (e.Resource == replicaSets.StorageKey && ControllerName(e.Object, "Deployment") is { } deployment)
        {
            pending.Writer.TryWrite((ns, deployment));
        }
        else if (e.Resource == pods.StorageKey && ControllerName(e.Object, "ReplicaSet") is { } rs
                 && store.Get(replicaSets.StorageKey, ns, rs) is { } owner && ControllerName(owner, "Deployment") is { } d)
        {
            pending.Writer.TryWrite((ns, d));
        }
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (await pending.Reader.WaitToReadAsync(cancellationToken))
            {
                var keys = new HashSet<(string, string)>();
                while (pending.Reader.TryRead(out var key))
                {
                    keys.Add(key);
                }

                foreach (var (ns, name) in keys)
                {
                    if (!enabled)
                    {
                        continue;
                    }

                    try
                    {
                        Reconcile(ns, name);
                    }
                    catch (ApiException)
                    {
                        // raced with a delete or another writer: the event that follows brings it back
                        pending.Writer.TryWrite((ns, name));
                        await Task.Delay(20, cancellationToken);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The Pods the ReplicaSet controller would remove first, in order (the real ranking).</summary>
    public static List<JsonObject> DeletionOrder(IEnumerable<JsonObject> candidates) => [.. candidates.Order(Comparer<JsonObject>.Create(Compare))];

    private void Reconcile(string ns, string name)
    {
        var d = store.Get(deployments.StorageKey, ns, name);
        if (d is null || MetadataRules.IsDeleting(d) || d["spec"]?["template"] is not JsonObject template)
        {
            return;
        }

        var uid = (string)d["metadata"]!["uid"]!;
        var hash = Hash(template);
        var current = $"{name}-{hash}";
        var replicas = Number(d["spec"]?["replicas"]) ?? 1;
        var owned = store.List(replicaSets.StorageKey, ns).Items.Where(rs => ControllerUid(rs) == uid).ToList();
        if (owned.All(rs => (string?)rs["metadata"]?["name"] != current))
        {
            owned.Add(writer.Create(replicaSets, ns, NewReplicaSet(d, current, hash, template, replicas), new WriteOptions(InjectFaults: false)));
        }

        foreach (var rs in owned)
        {
            var rsName = (string)rs["metadata"]!["name"]!;
            var want = rsName == current ? replicas : 0;
            if (Number(rs["spec"]?["replicas"]) != want)
            {
                writer.Update(replicaSets, ns, rsName, null, o =>
                {
                    o["spec"]!["replicas"] = want;
                    return o;
                }, new WriteOptions(InjectFaults: false));
            }

            ReconcilePods(ns, store.Get(replicaSets.StorageKey, ns, rsName)!, want);
        }
    }

    private void ReconcilePods(string ns, JsonObject rs, long want)
    {
        var rsName = (string)rs["metadata"]!["name"]!;
        var rsUid = (string)rs["metadata"]!["uid"]!;
        var active = store.List(pods.StorageKey, ns).Items.Where(p => ControllerUid(p) == rsUid && !MetadataRules.IsDeleting(p)).ToList();
        for (var i = active.Count; i < want; i++)
        {
            active.Add(writer.Create(pods, ns, NewPod(rs, rsName), new WriteOptions(InjectFaults: false)));
        }

        if (active.Count > want)
        {
            foreach (var victim in DeletionOrder(active).Take(active.Count - (int)want))
            {
                writer.Delete(pods, ns, (string)victim["metadata"]!["name"]!, new DeleteOptions());
                active.Remove(victim);
            }
        }

        // The kubelet: pods start and become ready.
        foreach (var pod in active.ToList())
        {
            var podName = (string)pod["metadata"]!["name"]!;
            bool hold;
            lock (HoldNotReady)
            {
                hold = HoldNotReady.Contains(podName);
            }

            if (!hold && !IsReady(pod))
            {
                var now = MetadataRules.Timestamp(time.GetUtcNow());
                var updated = writer.Update(pods, ns, podName, "status", o =>
                {
                    o["status"] = new JsonObject
                    {
                        ["phase"] = "Running",
                        ["podIP"] = "10.0.0." + (1 + random.Next(250)).ToString(CultureInfo.InvariantCulture),
                        ["startTime"] = now,
                        ["conditions"] = new JsonArray(
                            new JsonObject { ["type"] = "PodScheduled", ["status"] = "True", ["lastTransitionTime"] = now },
                            new JsonObject { ["type"] = "Initialized", ["status"] = "True", ["lastTransitionTime"] = now },
                            new JsonObject { ["type"] = "ContainersReady", ["status"] = "True", ["lastTransitionTime"] = now },
                            new JsonObject { ["type"] = "Ready", ["status"] = "True", ["lastTransitionTime"] = now }),
                    };
                    return o;
                }, new WriteOptions(InjectFaults: false));
                active[active.IndexOf(pod)] = updated;
            }
        }

        var ready = active.Count(IsReady);
        var status = new JsonObject
        {
            ["replicas"] = active.Count,
            ["fullyLabeledReplicas"] = active.Count,
            ["readyReplicas"] = ready,
            ["availableReplicas"] = ready,
            ["observedGeneration"] = Number(rs["metadata"]?["generation"]) ?? 1,
        };
        if (!JsonNode.DeepEquals(rs["status"], status))
        {
            writer.Update(replicaSets, ns, rsName, "status", o =>
            {
                o["status"] = status;
                return o;
            }, new WriteOptions(InjectFaults: false));
        }
    }

    private static JsonObject NewReplicaSet(JsonObject d, string name, string hash, JsonObject template, long replicas)
    {
        var labels = (template["metadata"]?["labels"] as JsonObject)?.DeepClone() as JsonObject ?? [];
        labels["pod-template-hash"] = hash;
        var podTemplate = (JsonObject)template.DeepClone();
        podTemplate["metadata"] ??= new JsonObject();
        podTemplate["metadata"]!["labels"] = labels.DeepClone();
        var selector = (d["spec"]?["selector"] as JsonObject)?.DeepClone() as JsonObject ?? [];
        selector["matchLabels"] ??= new JsonObject();
        selector["matchLabels"]!["pod-template-hash"] = hash;
        return new JsonObject
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "ReplicaSet",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["labels"] = labels.DeepClone(),
                ["ownerReferences"] = new JsonArray(Owner("apps/v1", "Deployment", d)),
            },
            ["spec"] = new JsonObject { ["replicas"] = replicas, ["selector"] = selector, ["template"] = podTemplate },
        };
    }

    private JsonObject NewPod(JsonObject rs, string rsName)
    {
        var template = rs["spec"]!["template"]!;
        var spec = (template["spec"] as JsonObject)?.DeepClone() as JsonObject ?? [];
        spec["nodeName"] = NodeName; // the scheduler
        const string Alphabet = "bcdfghjklmnpqrstvwxz2456789";
        var suffix = string.Concat(Enumerable.Range(0, 5).Select(_ => Alphabet[random.Next(Alphabet.Length)]));
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["name"] = $"{rsName}-{suffix}",
                ["labels"] = template["metadata"]?["labels"]?.DeepClone(),
                ["annotations"] = template["metadata"]?["annotations"]?.DeepClone(),
                ["ownerReferences"] = new JsonArray(Owner("apps/v1", "ReplicaSet", rs)),
            },
            ["spec"] = spec,
            ["status"] = new JsonObject { ["phase"] = "Pending" },
        };
    }

    private static JsonObject Owner(string apiVersion, string kind, JsonObject owner) => new()
    {
        ["apiVersion"] = apiVersion,
        ["kind"] = kind,
        ["name"] = owner["metadata"]!["name"]!.GetValue<string>(),
        ["uid"] = owner["metadata"]!["uid"]!.GetValue<string>(),
        ["controller"] = true,
        ["blockOwnerDeletion"] = true,
    };

    /// <summary>k8s ActivePodsWithRanks.Less: negative when <paramref name="a"/> is removed before <paramref name="b"/>.</summary>
    private static int Compare(JsonObject a, JsonObject b)
    {
        // 1. unassigned < assigned
        var assigned = Assigned(a).CompareTo(Assigned(b));
        if (assigned != 0)
        {
            return assigned;
        }

        // 2. Pending < Unknown < Running
        var phase = PhaseRank(a).CompareTo(PhaseRank(b));
        if (phase != 0)
        {
            return phase;
        }

        // 3. not ready < ready
        var ready = IsReady(a).CompareTo(IsReady(b));
        if (ready != 0)
        {
            return ready;
        }

        // 4. lower pod-deletion-cost first
        var cost = DeletionCost(a).CompareTo(DeletionCost(b));
        if (cost != 0)
        {
            return cost;
        }

        // 6. ready for a shorter time first (the later ready time goes first)
        if (IsReady(a) && IsReady(b))
        {
            var readySince = ReadySince(b).CompareTo(ReadySince(a));
            if (readySince != 0)
            {
                return readySince;
            }
        }

        // 7. more restarts first
        var restarts = Restarts(b).CompareTo(Restarts(a));
        if (restarts != 0)
        {
            return restarts;
        }

        // 8. newer first
        return Created(b).CompareTo(Created(a));
    }

    private static int Assigned(JsonObject p) => string.IsNullOrEmpty((string?)p["spec"]?["nodeName"]) ? 0 : 1;

    private static int PhaseRank(JsonObject p) => (string?)p["status"]?["phase"] switch
    {
        "Pending" => 0,
        "Unknown" => 1,
        "Running" => 2,
        _ => 0,
    };

    public static bool IsReady(JsonObject p) =>
        p["status"]?["conditions"] is JsonArray conditions
        && conditions.Any(c => (string?)c?["type"] == "Ready" && (string?)c?["status"] == "True");

    /// <summary>The annotation as the controller reads it: an int32, anything else (or none) is 0.</summary>
    private static int DeletionCost(JsonObject p) =>
        p["metadata"]?["annotations"]?[DeletionCostAnnotation] is JsonValue v && v.TryGetValue<string>(out var s)
        && int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var cost) ? cost : 0;

    private static DateTimeOffset ReadySince(JsonObject p) =>
        (p["status"]?["conditions"] as JsonArray)?.FirstOrDefault(c => (string?)c?["type"] == "Ready")?["lastTransitionTime"] is JsonValue v
        && DateTimeOffset.TryParse(v.GetValue<string>(), CultureInfo.InvariantCulture, out var at) ? at : DateTimeOffset.MinValue;

    private static long Restarts(JsonObject p) =>
        (p["status"]?["containerStatuses"] as JsonArray)?.Sum(c => Number(c?["restartCount"]) ?? 0) ?? 0;

    private static DateTimeOffset Created(JsonObject p) =>
        p["metadata"]?["creationTimestamp"] is JsonValue v && DateTimeOffset.TryParse(v.GetValue<string>(), CultureInfo.InvariantCulture, out var at) ? at : DateTimeOffset.MinValue;

    private static string? ControllerName(JsonObject o, string kind) =>
        (o["metadata"]?["ownerReferences"] as JsonArray)?.FirstOrDefault(r => (string?)r?["kind"] == kind && (bool?)r?["controller"] == true)?["name"]?.GetValue<string>();

    private static string? ControllerUid(JsonObject o) =>
        (o["metadata"]?["ownerReferences"] as JsonArray)?.FirstOrDefault(r => (bool?)r?["controller"] == true)?["uid"]?.GetValue<string>();

    private static long? Number(JsonNode? node) => node is JsonValue v && v.TryGetValue<long>(out var n) ? n : null;

    private static string Hash(JsonObject template) =>
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(template.ToJsonString())))[..10].ToLowerInvariant();
}
